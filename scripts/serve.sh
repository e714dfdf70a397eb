#!/usr/bin/env bash
# Serve the app with gunicorn (SURVEY_WEB_WORKERS processes, default 2) and SURVEY_QUEUE_WORKERS
# queue workers (default 1; of several, the one holding the periodic jobs' lease runs them).
# Any of them that stops by itself is started again after a pause that doubles up to a minute
# (reset once it has run for a minute), with a log line; only Ctrl-C or SIGTERM stops them all.
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
workers=()  # pid of each queue worker, by slot
worker_started=()
worker_pause=()
queue_workers=${SURVEY_QUEUE_WORKERS:-1}
start_web() {
  "$BIN/gunicorn" --config scripts/gunicorn.conf.py &
  web=$!
  web_started=$SECONDS
  say "web server started (gunicorn pid $web, $web_workers workers)"
}
start_worker() {  # $1: the slot
  "$BIN/survey" worker &
  workers[$1]=$!
  worker_started[$1]=$SECONDS
  say "worker started (pid ${workers[$1]})"
}

stopping=0
stop() {
  stopping=1
  trap - INT TERM
  say "stopping the web server and the workers"
  kill -TERM "$web" "${workers[@]}" 2>/dev/null
  wait "$web" "${workers[@]}" 2>/dev/null
  exit 0
}
trap stop INT TERM

for (( slot = 0; slot < queue_workers; slot++ )); do
  worker_pause[$slot]=1
  start_worker "$slot"
done
start_web
echo "满意度 is serving on http://$host:$port (worker pids ${workers[*]}, web pid $web); Ctrl-C stops them all."

web_pause=1
while true; do
  wait -n "$web" "${workers[@]}"
  [ "$stopping" = 1 ] && exit 0
  for (( slot = 0; slot < queue_workers; slot++ )); do
    pid=${workers[$slot]}
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null; status=$?
      (( SECONDS - worker_started[slot] >= 60 )) && worker_pause[$slot]=1
      say "worker (pid $pid) stopped with status $status; starting it again in ${worker_pause[$slot]}s"
      sleep "${worker_pause[$slot]}" & wait $!
      worker_pause[$slot]=$(( worker_pause[slot] * 2 > 60 ? 60 : worker_pause[slot] * 2 ))
      start_worker "$slot"
    fi
  done
  if ! kill -0 "$web" 2>/dev/null; then
    wait "$web" 2>/dev/null; status=$?
    (( SECONDS - web_started >= 60 )) && web_pause=1
    say "web server (pid $web) stopped with status $status; starting it again in ${web_pause}s"
    sleep "$web_pause" & wait $!
    web_pause=$(( web_pause * 2 > 60 ? 60 : web_pause * 2 ))
    start_web
  fi
done
