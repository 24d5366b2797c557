#!/usr/bin/env bash
# A newcomer's first `make test`: a fresh clone in an empty folder, on a machine that has nothing but
# Docker's CLI, Python 3.11 and make (tests/scenarios/Dockerfile), against this machine's Docker.
#   tests/scenarios/newcomer.sh [REPOSITORY]     (default: this checkout's committed HEAD)
# The clone lives at the same path inside and out, and the machine shares the host's network, so
# that what `make test` asks Docker to mount and publish means the same to both.
set -euo pipefail
repository=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
home=$(mktemp -d /tmp/newcomer.XXXXXX)
plugins=$(docker info --format '{{range .ClientInfo.Plugins}}{{if eq .Name "compose"}}{{.Path}}{{end}}{{end}}')
docker build --quiet -t mnist-mlops-newcomer tests/scenarios >/dev/null
git clone --quiet "$repository" "$home/mnist-mlops"
env_args=()
# Where the MNIST download cannot be reached (this project's CI), a local copy stands in for it.
[ -n "${MNIST_SOURCE_PATH:-}" ] && env_args+=(-e "MNIST_SOURCE_PATH=$MNIST_SOURCE_PATH" -v "$MNIST_SOURCE_PATH:$MNIST_SOURCE_PATH:ro")
set -x
docker run --rm --network host -v /var/run/docker.sock:/var/run/docker.sock \
  -v "$plugins:/usr/local/lib/docker/cli-plugins/docker-compose:ro" -v "$home:$home" -w "$home/mnist-mlops" \
  "${env_args[@]}" mnist-mlops-newcomer make test
