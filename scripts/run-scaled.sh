#!/usr/bin/env bash
# The multi-process stack on this machine, for trying it: PostgreSQL for data (a database of
# its own, created if missing), Redis for the queue, the send limiter and the web limits,
# SURVEY_WEB_WORKERS web processes (default 4) and SURVEY_QUEUE_WORKERS workers (default 2).
# The same settings, split by process, are how it runs on several hosts (README: Scaling out).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SURVEY_BIN:-.venv/bin}
export SURVEY_DATABASE_URL=${SURVEY_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/survey_scaled}
export SURVEY_QUEUE_URL=${SURVEY_QUEUE_URL:-redis://127.0.0.1:6379/0?prefix=survey_scaled}
export SURVEY_WEB_WORKERS=${SURVEY_WEB_WORKERS:-4}
export SURVEY_QUEUE_WORKERS=${SURVEY_QUEUE_WORKERS:-2}
export SURVEY_INSTANCE_PATH=${SURVEY_INSTANCE_PATH:-instance/scaled}

"$BIN/python" - <<'PY'
import os
import sqlalchemy as sa

url = sa.engine.make_url(os.environ["SURVEY_DATABASE_URL"])
if url.get_backend_name() == "postgresql":
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).first()
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
            print(f"run-scaled: created database {url.database}")
    server.dispose()
PY
"$BIN/survey" db upgrade
"$BIN/survey" demo --if-empty
exec scripts/serve.sh
