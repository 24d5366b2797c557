#!/bin/sh
# Deploys mnist-mlops to the swarm this docker CLI talks to (a manager; DOCKER_HOST works too):
# creates the secrets that do not exist yet, labels this node for the stores if no node is, and
# runs `docker stack deploy`. The images must already be on every node (a registry, or docker load).
#   deploy/swarm/deploy.sh [STACK]        (STACK defaults to mnist; docs/scale-out.md)
# A secret's value comes from the variable of its upper-case name when set (MLFLOW_ADMIN_PASSWORD=...),
# otherwise it is random. Swarm never shows a secret again, so a random MLflow admin password is
# printed once: the UI's login. Images copied to the nodes with `docker load` have no registry to
# be looked up in: RESOLVE_IMAGE=never skips that (each lookup otherwise waits for a timeout).
set -eu
stack=${1:-mnist}
here=$(cd "$(dirname "$0")" && pwd)

for name in postgres_password prediction_db_password prediction_reader_password s3_access_key \
            s3_secret_key mlflow_admin_password mlflow_flask_secret_key; do
  docker secret inspect "mnist_$name" >/dev/null 2>&1 && continue
  value=$(printenv "$(echo "$name" | tr a-z A-Z)" || head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s' "$value" | docker secret create "mnist_$name" - >/dev/null
  echo "created secret mnist_$name"
  if [ "$name" = mlflow_admin_password ] && [ -z "${MLFLOW_ADMIN_PASSWORD:-}" ]; then
    echo "MLflow UI login: admin / $value (shown once)"
  fi
done

if [ -z "$(docker node ls --quiet --filter node.label=mnist-mlops.stores=true)" ]; then
  docker node update --label-add mnist-mlops.stores=true "$(docker info --format '{{.Swarm.NodeID}}')" >/dev/null
  echo "labelled this node for the stores (PostgreSQL, MinIO, tracking, Prometheus and their volumes)"
fi

docker stack deploy --resolve-image "${RESOLVE_IMAGE:-always}" --compose-file "$here/stack.yaml" \
  ${STACK_OVERRIDE:+--compose-file "$STACK_OVERRIDE"} "$stack"
