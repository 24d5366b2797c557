#!/bin/sh
# Creates the prediction database and its two roles, or brings them up to date: safe to run again.
# The predictor's role owns the database (its migrations create the tables); the reader may only
# SELECT (the trainer and the report use it). Neither may connect to MLflow's database.
# Run by compose's `prediction-db` job on every start (so a stack whose volume predates the
# database gets it too), and by the Helm chart's setup Job.
# Needs: POSTGRES_USER, POSTGRES_DB (MLflow's), PREDICTION_DB_NAME, PREDICTION_DB_USER,
# PREDICTION_DB_PASSWORD, PREDICTION_READER_USER, PREDICTION_READER_PASSWORD; PGHOST etc. as psql reads them.
set -eu
: "${PREDICTION_DB_PASSWORD:?}" "${PREDICTION_READER_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname postgres \
  -v db="$PREDICTION_DB_NAME" -v owner="$PREDICTION_DB_USER" -v owner_password="$PREDICTION_DB_PASSWORD" \
  -v reader="$PREDICTION_READER_USER" -v reader_password="$PREDICTION_READER_PASSWORD" \
  -v mlflow_db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE ROLE %I', :'owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I', :'reader') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
ALTER ROLE :"owner" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
ALTER ROLE :"reader" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reader_password';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CONNECT ON DATABASE :"mlflow_db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"reader";
\connect :"db"
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON TABLES TO :"reader";
SQL
