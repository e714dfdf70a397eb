#!/usr/bin/env bash
# Serve the web app (no reloader: it would start a second worker) and one queue worker;
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
host=${SURVEY_HOST:-127.0.0.1}
port=${SURVEY_PORT:-5000}
# The web server and the worker both count (requests, sends, answers); /metrics adds up
# every process's counts from files here, emptied at each start.
instance=${SURVEY_INSTANCE_PATH:-instance}
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$instance/prometheus}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

"$BIN/survey" worker &
worker=$!
"$BIN/survey" run --host "$host" --port "$port" --no-reload --no-debugger --with-threads &
web=$!

stop() {
  trap - INT TERM
  kill -TERM "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
trap stop INT TERM EXIT
echo "满意度 is serving on http://$host:$port (worker pid $worker); Ctrl-C stops both."
# Whichever stops first (or Ctrl-C) stops the other.
wait -n "$web" "$worker" || true
