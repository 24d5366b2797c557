#!/bin/sh
# Swarm hands each secret to a container as a file in /run/secrets; the images read their passwords
# from the environment, as compose passes them. This exports every file there as the variable of its
# name (the stack mounts each secret under the variable's name), then runs the image's own command.
# Used as the entrypoint, and in the health checks that need a password too.
set -eu
for secret in /run/secrets/*; do
  [ -f "$secret" ] || continue
  export "$(basename "$secret")=$(cat "$secret")"
done
exec "$@"
