#!/usr/bin/env bash
# Serve the app with gunicorn (SURVEY_WEB_WORKERS processes, default 2) and one queue worker.
# Either one that stops by itself is started again after a pause that doubles up to a minute
# (reset once it has run for a minute), with a log line; only Ctrl-C or SIGTERM stops both.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${SURVEY_BIN:-.venv/bin}
host=${SURVEY_HOST:-127.0.0.1}
port=${SURVEY_PORT:-5000}
web_workers=${SURVEY_WEB_WORKERS:-2}
# The web server and the worker both count (requests, sends, answers); /metrics adds up
# every process's counts from files here, emptied at each start.
instance=${SURVEY_INSTANCE_PATH:-instance}
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$instance/prometheus}
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

say() { echo "serve: $(date '+%Y-%m-%d %H:%M:%S') $*" >&2; }

web=
worker=
start_web() {
  "$BIN/gunicorn" --config scripts/gunicorn.conf.py &
  web=$!
  web_started=$SECONDS
  say "web server started (gunicorn pid $web, $web_workers workers)"
}
start_worker() {
  "$BIN/survey" worker &
  worker=$!
  worker_started=$SECONDS
  say "worker started (pid $worker)"
}

stopping=0
stop() {
  stopping=1
  trap - INT TERM
  say "stopping the web server and the worker"
  kill -TERM "$web" "$worker" 2>/dev/null
  wait "$web" "$worker" 2>/dev/null
  exit 0
}
trap stop INT TERM

start_worker
start_web
echo "满意度 is serving on http://$host:$port (worker pid $worker, web pid $web); Ctrl-C stops both."

web_pause=1
worker_pause=1
while true; do
  wait -n "$web" "$worker"
  status=$?
  [ "$stopping" = 1 ] && exit 0
  if ! kill -0 "$worker" 2>/dev/null; then
    wait "$worker" 2>/dev/null; status=$?
    (( SECONDS - worker_started >= 60 )) && worker_pause=1
    say "worker (pid $worker) stopped with status $status; starting it again in ${worker_pause}s"
    sleep "$worker_pause" & wait $!
    worker_pause=$(( worker_pause * 2 > 60 ? 60 : worker_pause * 2 ))
    start_worker
  fi
  if ! kill -0 "$web" 2>/dev/null; then
    wait "$web" 2>/dev/null; status=$?
    (( SECONDS - web_started >= 60 )) && web_pause=1
    say "web server (pid $web) stopped with status $status; starting it again in ${web_pause}s"
    sleep "$web_pause" & wait $!
    web_pause=$(( web_pause * 2 > 60 ? 60 : web_pause * 2 ))
    start_web
  fi
done
