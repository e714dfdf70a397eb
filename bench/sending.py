"""Send invitations through decide → schedule → send against Prism, Twilio's contract mock.

    .venv/bin/python bench/sending.py [--count 3000] [--workers 1,2,4] [--rate 50]
        [--databases sqlite,postgresql] [--no-record]

The bench starts Prism on a free port (and ends exactly that process), measures
Prism's own rate with a bare loop of the official Twilio client, then for each
database: posts ``--count`` interactions of distinct customers to the JSON API
(decide and schedule; the queue hints are dropped, as if lost), and for each
worker count starts that many ``survey worker`` processes (one thread each) and
the sweep's batch senders (``tasks.send_due``), which claim and send. Before
each run the same invitations are made due again and their deliveries removed.
SQLite runs with the SQLite queue file; PostgreSQL with a Redis queue under a
key prefix of its own (deleted afterwards). Throughput is sends over the span
from the first delivery to the last, limiter off (sms_segments_per_second = 0).
Then, at ``--rate`` segments/s, the sends go through a recording proxy whose
arrival times give the achieved rate and the busiest one-second window.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

# This checkout's code, for the bench and its workers, whatever the venv's install points at.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common  # noqa: E402
import sqlalchemy as sa
from flask import Flask

from survey import create_app, settings, tasks
from survey.auth.service import create_api_key
from survey.channels import segments
from survey.channels.twilio_client import TwilioTransport
from survey.designer.service import create_from_starter, publish
from survey.designer.starters import POST_INTERACTION
from survey.dispatch import claims
from survey.dispatch.rules import create_default_rule
from survey.extensions import db
from survey.models import BusinessLine, Delivery, Invitation, OutboxMessage, Team

REPO = Path(__file__).resolve().parents[1]
# Prism and the `survey` script: SURVEY_PRISM (as the tests take it) or this checkout's .cache,
# and the console script beside the interpreter that runs the bench.
PRISM = Path(os.environ.get("SURVEY_PRISM") or REPO / ".cache/prism/node_modules/.bin/prism")
OPENAPI = REPO / "tests/contracts/twilio_api_v2010.json"
SURVEY = Path(sys.executable).with_name("survey")
REDIS = "redis://127.0.0.1:6379/0"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
FROM_NUMBER = "+15005550006"
BARE_SENDS = 500
RUN_TIMEOUT = 600


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--paced-count", type=int, default=1000, help="SMS in the paced run")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    about = {**common.machine(), "interactions": f"{args.count:,}"}
    rows: list[list[Any]] = []
    prism = _start_prism()
    try:
        for kind in args.databases.split(","):
            bare, client_ms, prism_ms = _bare_rate(prism)
            rows.append(
                [kind, "bare loop of the official client", "1", f"{bare:.1f}/s", "", ""]
                + [f"client {client_ms:.1f} · Prism {prism_ms:.1f}"]
            )
            rows.extend(_bench_database(kind, prism, args, bare))
    finally:
        prism.stop()
    common.record(
        "Sending through Prism (decide → schedule → send)",
        about,
        ["database", "run", "workers", "rate", "goal", "worker RSS (max)", "CPU ms a send"],
        rows,
        notes=[
            f"Scaled down from the issue's 100,000 to {args.count:,} interactions a run: Prism "
            "answers about 100–150 requests/s here, so 100,000 would take over 10 minutes per "
            "run and hours for the whole bench on this 2-core machine. Each throughput run sends "
            "the same invitations again (made due, deliveries removed). Throughput is sends over "
            "the span from the first delivery row to the last; the bare loop is one thread of "
            f"`twilio.rest.Client` sending {BARE_SENDS} messages to the same Prism just before "
            "that database's runs; goal ≥ 80 % of it. The paced run measures arrival times at a "
            "recording proxy in front of Prism, in segments; goal 95–100 % of R and no sliding "
            "one-second window above R. RSS is VmRSS of each `survey worker` process at the "
            "end of its run; goal ≤ 150 MB. CPU ms a send: user + system time of the bare "
            "loop's client (or of all the run's `survey worker` processes) and of Prism, over "
            "the run, divided by the messages sent (from /proc).",
        ],
        enabled=not args.no_record,
    )


class _Process:
    def __init__(self, process: subprocess.Popen, url: str) -> None:
        self.process, self.url = process, url

    def stop(self) -> None:
        """End exactly this process (and wait for it)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_prism() -> _Process:
    port = _free_port()
    log = open(Path(tempfile.gettempdir()) / f"bench-prism-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(OPENAPI)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/2010-04-01/Accounts.json")
            connection.getresponse().read()
            return _Process(process, f"http://127.0.0.1:{port}")
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("Prism did not start")


def _bare_rate(prism: _Process) -> tuple[float, float, float]:
    """Messages a second one loop of the official client gets from Prism, nothing else; and
    the CPU milliseconds a message the loop and Prism spent."""
    from twilio.rest import Client

    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=TwilioTransport(prism.url, timeout=10))
    prism_cpu, own_cpu = _cpu_seconds(prism.process.pid), time.process_time()
    with common.Timer() as timer:
        for _ in range(BARE_SENDS):
            client.messages.create(to="+8613800138000", from_=FROM_NUMBER, body="您好")
    own_ms = (time.process_time() - own_cpu) * 1000 / BARE_SENDS
    prism_ms = (_cpu_seconds(prism.process.pid) - prism_cpu) * 1000 / BARE_SENDS
    return BARE_SENDS / timer.seconds, own_ms, prism_ms


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _zone_in_allowed_hours() -> str:
    """A customer time zone where it is now mid-day, so no send is deferred for quiet hours."""
    now = datetime.now(UTC)
    for zone in ("Asia/Shanghai", "Europe/London", "America/New_York", "America/Los_Angeles"):
        if 10 <= now.astimezone(ZoneInfo(zone)).hour < 18:
            return zone
    return "Pacific/Honolulu"


def _config(db_url: str, queue_url: str, instance: str, twilio_url: str) -> dict[str, str]:
    return {
        "SURVEY_DATABASE_URL": db_url,
        "SURVEY_QUEUE_URL": queue_url,
        "SURVEY_INSTANCE_PATH": instance,
        "SURVEY_SECRET_KEY": "bench",
        "SURVEY_PUBLIC_URL": "http://bench.invalid",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_URL": twilio_url,
        "SURVEY_LOG_LEVEL": "WARNING",
    }


def _bench_database(kind: str, prism: _Process, args: Any, bare: float) -> list[list[Any]]:
    from flask_migrate import upgrade

    rows: list[list[Any]] = []
    with common.throwaway_database(kind) as db_url:
        instance = tempfile.mkdtemp(prefix="bench-instance-")
        prefix = f"bench_{secrets.token_hex(4)}"
        queue_url = (
            f"sqlite:///{instance}/queue.sqlite3"
            if kind == "sqlite"
            else f"{REDIS}?prefix={prefix}"
        )
        env = _config(db_url, queue_url, instance, prism.url)
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": db_url,
                "INSTANCE_PATH": instance,
                "SECRET_KEY": "bench",
                "SURVEY_QUEUE_URL": queue_url,
                "SURVEY_PUBLIC_URL": "http://bench.invalid",
                "RATELIMIT_ENABLED": False,
            }
        )
        try:
            with app.app_context():
                upgrade()
                seconds = _decide_and_schedule(app, args.count)
                rows.append(
                    [kind, "decide → schedule (API posts)", "", f"{args.count / seconds:.1f}/s"]
                    + ["", "", ""]
                )
                settings.put("sms_segments_per_second", 0)
                db.session.commit()
                for workers in [int(w) for w in args.workers.split(",")]:
                    rate, rss, cpu = _send_all(env, workers, args.count, prism)
                    goal = "met" if rate >= 0.8 * bare else "not met"
                    rows.append(
                        [kind, "send, limiter off", workers, f"{rate:.1f}/s"]
                        + [f"{rate / bare:.0%} of bare ({goal})", f"{rss:.0f} MB", cpu]
                    )
                settings.put("sms_segments_per_second", args.rate)
                db.session.commit()
                rows.append(_paced_run(kind, env, prism, args))
                db.session.remove()
                db.engine.dispose()
        finally:
            if kind == "postgresql":
                _forget_redis_prefix(prefix)
    return rows


def _decide_and_schedule(app: Flask, count: int) -> float:
    """Post ``count`` interactions of distinct customers; drop the queue's hints; return seconds."""
    personal = BusinessLine(code="personal", name_zh="个人金融", name_en="Personal banking")
    team = Team(
        code="personal-inquiries",
        business_line=personal,
        function="inquiry",
        name_zh="个人咨询",
        name_en="Personal inquiries",
    )
    db.session.add_all([personal, team])
    survey = create_from_starter(POST_INTERACTION)
    db.session.flush()
    publish(survey.versions[0])
    create_default_rule(survey)
    _row, key = create_api_key("bench", ("interactions",))
    db.session.commit()
    zone = _zone_in_allowed_hours()
    client = app.test_client()
    occurred = datetime.now(UTC) - timedelta(minutes=5)
    with common.Timer() as timer:
        for n in range(count):
            body = {
                "external_id": f"CALL-{n:07d}",
                "occurred_at": occurred.isoformat(),
                "channel": "phone",
                "type": "inquiry",
                "business_line": "personal",
                "team": "personal-inquiries",
                "agent": f"A{n % 50:04d}",
                "category": "credit_card",
                "wait_seconds": 30,
                "customer": {
                    "external_id": f"C-{n:07d}",
                    "name": f"客户{n}",
                    "phone": f"+8613{n:09d}",
                    "locale": "zh",
                    "timezone": zone,
                },
            }
            answer = client.post(
                "/api/v1/interactions", json=body, headers={"Authorization": f"Bearer {key}"}
            )
            if answer.status_code != 201 or not answer.get_json()["invitation"]:
                raise SystemExit(f"post {n}: {answer.status_code} {answer.get_data(as_text=True)}")
    # The runs send through the sweep's batch senders; intake's one-by-one hints are dropped.
    tasks.huey.flush()
    return timer.seconds


def _make_due_again(count: int) -> None:
    """Put ``count`` invitations back as due and unsent (the rest aside), so runs send alike."""
    db.session.execute(sa.delete(OutboxMessage))
    db.session.execute(sa.delete(Delivery))
    db.session.execute(
        sa.update(Invitation).values(
            state="scheduled",
            scheduled_at=datetime.now(UTC) - timedelta(minutes=1),
            sent_at=None,
            channel=None,
            sms_question_key=None,
        )
    )
    keep = sa.select(Invitation.id).order_by(Invitation.id).limit(count).scalar_subquery()
    db.session.execute(
        sa.update(Invitation).where(Invitation.id.not_in(keep)).values(state="cancelled")
    )
    db.session.commit()


def _send_all(
    env: dict[str, str], workers: int, count: int, prism: _Process
) -> tuple[float, float, str]:
    """Send every invitation with this many worker processes; return (sends/s, max RSS MB,
    the CPU ms a send of the workers and of Prism)."""
    processes = [
        subprocess.Popen(
            [str(SURVEY), "worker", "--workers", "1", "--no-periodic"],
            env={**os.environ, **env, "PYTHONPATH": str(REPO)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        # The workers' start (imports, the app, senders left queued by the run before, which
        # find nothing due yet) is not a send's CPU: counted from when they are idle.
        workers_cpu = _when_idle(processes)
        _make_due_again(count)
        prism_cpu = _cpu_seconds(prism.process.pid)
        _start_senders()
        sent = _wait_until_sent(count, processes)
        rss = max(_rss_mb(p.pid) for p in processes)
        workers_cpu = sum(_cpu_seconds(p.pid) for p in processes) - workers_cpu
        prism_cpu = _cpu_seconds(prism.process.pid) - prism_cpu
    finally:
        for process in processes:
            _Process(process, "").stop()
    first, last = db.session.execute(
        sa.select(sa.func.min(Delivery.created_at), sa.func.max(Delivery.updated_at))
    ).one()
    span = (last - first).total_seconds()
    print(f"  {workers} worker(s): {sent} sent in {span:.1f} s, RSS {rss:.0f} MB", flush=True)
    cpu = f"workers {workers_cpu * 1000 / sent:.1f} · Prism {prism_cpu * 1000 / sent:.1f}"
    return sent / span, rss, cpu


def _when_idle(processes: list[subprocess.Popen]) -> float:
    """Wait until the started workers stop using CPU (ready, polling an empty queue); return
    the CPU seconds they used so far."""
    used = sum(_cpu_seconds(p.pid) for p in processes)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(1.0)
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker exited before the run")
        now = sum(_cpu_seconds(p.pid) for p in processes)
        if now - used < 0.02 * len(processes):
            return now
        used = now
    return used


def _start_senders() -> None:
    for _ in range(tasks.SENDERS):
        tasks.send_due()  # what the minute sweep starts


def _wait_until_sent(count: int, processes: list[subprocess.Popen]) -> int:
    deadline = time.monotonic() + RUN_TIMEOUT
    sent = 0
    while time.monotonic() < deadline:
        db.session.rollback()
        sent = db.session.scalar(
            sa.select(sa.func.count()).select_from(Invitation).where(Invitation.state == "sent")
        )
        waiting = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Invitation)
            .where(Invitation.state.in_(("scheduled", "sending")))
        )
        if not waiting:
            return sent
        if not tasks.huey.pending_count() and claims.due_count():
            # Sends that waited for their turn are due again: start senders, as the minute
            # sweep would (sooner here, so a run is not stretched by the sweep's minute).
            _start_senders()
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker exited during the run")
        time.sleep(0.5)
    raise SystemExit(f"only {sent} of {count} sent within {RUN_TIMEOUT} s")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _paced_run(kind: str, env: dict[str, str], prism: _Process, args: Any) -> list[Any]:
    """Send at R segments/s through the recording proxy; say the rate and the busiest second."""
    recorder = _Recorder(prism.url)
    try:
        _, rss, cpu = _send_all({**env, "TWILIO_API_URL": recorder.url}, 2, args.paced_count, prism)
    finally:
        recorder.stop()
    arrivals = sorted(recorder.arrivals)
    times = [t for t, _ in arrivals]
    units = [segments.count(body).segments for _, body in arrivals]
    span = times[-1] - times[0]
    # The last send's own segments begin the window after the span; count them out of the rate.
    rate = (sum(units) - units[-1]) / span if span else 0.0
    busiest, start = 0, 0
    running = 0
    for end, t in enumerate(times):
        running += units[end]
        while t - times[start] >= 1.0:
            running -= units[start]
            start += 1
        busiest = max(busiest, running)
    share = rate / args.rate
    goal = "met" if 0.95 <= share <= 1.0 and busiest <= args.rate else "not met"
    return [
        kind,
        f"send at R = {args.rate:g} segments/s ({len(times):,} SMS, {sum(units):,} segments)",
        2,
        f"{rate:.1f} segments/s",
        f"{share:.1%} of R; busiest 1-s window {busiest} segments ({goal})",
        f"{rss:.0f} MB",
        cpu,
    ]


class _Recorder:
    """A relay in front of Prism, in a process of its own, that notes when each SMS arrived.

    Its own process, so the bench's polling never holds the relay's handler threads back
    (one interpreter lock), and HTTP/1.1 kept alive, as Twilio keeps a client's connection:
    a new connection and a new handler thread for each request would time the relay, not
    the sends. Each arrival is timed as its request line is read.
    """

    def __init__(self, prism_url: str) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self.process = context.Process(target=_relay, args=(prism_url, child), daemon=True)
        self.process.start()
        port = self._control.recv()
        self.url = f"http://127.0.0.1:{port}"
        self.arrivals: list[tuple[float, str]] = []

    def stop(self) -> None:
        """Take the arrivals and end exactly the relay's process."""
        self._control.send("stop")
        self.arrivals = self._control.recv()
        self.process.join(timeout=20)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=10)


def _relay(prism_url: str, control: Any) -> None:
    """Serve the relay until told to stop; then hand back the arrivals."""
    arrivals: list[tuple[float, str]] = []
    target = prism_url.split("//", 1)[1]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def parse_request(self) -> bool:
            self.arrived = time.time()  # the request line is in: the send has arrived
            return super().parse_request()

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.endswith("/Messages.json"):
                body = parse_qs(raw.decode()).get("Body", [""])[0]
                arrivals.append((self.arrived, body))
            upstream = getattr(self, "upstream", None)
            if upstream is None:
                upstream = self.upstream = http.client.HTTPConnection(target, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream.request("POST", self.path, body=raw, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the record is the arrival list."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    control.send(server.server_port)
    control.recv()  # "stop"
    server.shutdown()
    server.server_close()
    control.send(sorted(arrivals))


def _forget_redis_prefix(prefix: str) -> None:
    """Delete this run's keys only (its queue and pace schedules), never anyone else's."""
    from redis import Redis

    redis = Redis.from_url(REDIS, socket_timeout=5, socket_connect_timeout=5)
    for key in redis.scan_iter(f"*{prefix}*"):
        redis.delete(key)


if __name__ == "__main__":
    sys.exit(main())
