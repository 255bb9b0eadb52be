#!/bin/bash
# The PostgreSQL image runs this once, on an empty data directory (/docker-entrypoint-initdb.d):
# one role and database per client of the server. Passwords come from the Secrets the StatefulSet
# maps into the environment and are read by psql's \getenv: they appear in no argument or log.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\getenv mlflow_password MLFLOW_DB_PASSWORD
\getenv flyte_password FLYTE_DB_PASSWORD
-- the tracking server: runs and registry in `mlflow`, users and permissions in `mlflow_auth`
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
CREATE DATABASE mlflow_auth OWNER mlflow;
-- Flyte (flyte-binary: deploy/charts/flyte-binary-values.yaml)
CREATE ROLE flyte LOGIN PASSWORD :'flyte_password';
CREATE DATABASE flyte OWNER flyte;
SQL
