"""The multi-process stack on PostgreSQL under a mixed load, next to a bare endpoint in one run.

    .venv/bin/python bench/load.py [--answers 100000] [--duration 60] [--web-workers 4]
        [--queue-workers 2] [--connections 16] [--threads 2]
        [--mix survey_get=40,answer_post=25,webhook=15,dashboard=20] [--pool 20000]
        [--webhooks 6000] [--no-record]

The stack is started as production starts it on one machine: ``scripts/run-scaled.sh``
(``survey db upgrade``, ``survey demo --if-empty``, then ``scripts/serve.sh``: gunicorn
with ``scripts/gunicorn.conf.py``, gthread workers, and ``--queue-workers`` ``survey
worker`` processes), on a throwaway PostgreSQL database and the machine's Redis under a
key prefix of its own (the queue, the send limiter and, through the instance's
config.py, the web limits' counters), with ``SURVEY_PROXY_FIX=1`` as behind the load
balancer. Twilio is Prism (its contract mock), started by the bench on a free port:
``TWILIO_API_URL`` points at it, so what the workers send goes to it, not to the outbox.

The data: ``survey demo --answers N`` (the demo bank, seed 2026), then fresh invitations
copied from the demo's (``bench/tokens.py``): ``--pool`` for the survey pages (sent,
unopened, each line a token and its first step's form with the form key precomputed) and
``--webhooks`` sent by two-way SMS awaiting their first question's answer, each from a
number of its own, for which the bench precomputes the inbound SMS Twilio would post:
the form and its ``X-Twilio-Signature`` over ``SURVEY_PUBLIC_URL`` + path and the params.
Staff: the demo's quality user signs in through /auth/login; wrk sends that session
cookie with the dashboard reads.

The load: wrk (``--threads``, ``--connections``, ``--duration``) with a Lua script that
picks each request's kind from a shuffled schedule by the ``--mix`` weights: ``GET
/s/<token>`` (cycling through the pool), the first step's ``POST /s/<token>`` (303; each
to a token of its own), the signed ``POST /webhooks/twilio/sms`` (each message once) and
a dashboard page (the overview, dimensions, breakdown) — every request from one of 4,096
client addresses in ``X-Forwarded-For`` (the web limits are on, per address, as in
production). The same script, in the same run, against ``bench/bare_app.py`` served by
gunicorn with the same config file and workers (every path has a bare twin, no database).

Figures: wrk's overall requests/s, p50/p99 (client side) and errors (socket errors,
timeouts, statuses of 400 and above); per kind, gunicorn's access log (the production
format's ``%(M)sms``, server time in whole milliseconds, without the time a request waits
in the listen backlog): requests, requests/s, p50/p99, statuses (the dashboard also page
by page). wrk's Lua cannot time one request (``response()`` does not say which request
it answers), hence the log.
VmRSS of each gunicorn web worker and each ``survey worker`` before and after the run
(goal ≤ 120 MB a web worker), and their CPU time during it (per request). Afterwards: answer posts answered 303 against answers
stored on the pool's invitations, webhooks answered 200 against inbound messages
recorded and SMS answers stored, no answer twice, no 5xx in the access log and no
traceback or ERROR line in the server's log.

The bench starts Prism, gunicorn, the stack and wrk itself and ends only those, by the
PIDs it got when starting them (the stack's ``serve.sh`` stops its own children on SIGTERM).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# This checkout's code, for the bench and the processes it starts.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import common  # noqa: E402
import sending  # noqa: E402
import serving  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import tokens  # noqa: E402

from survey import create_app  # noqa: E402
from survey.demo import DEMO_PASSWORD  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.models import Answer, InboundEvent, Invitation, Response  # noqa: E402

PUBLIC_URL = "http://bench.invalid"
SMS_HOOK = "/webhooks/twilio/sms"
DASHBOARD_PATHS = ("/", "/dimensions", "/breakdown")
STAFF_EMAIL = "quality@demo.bank"
KINDS = ("survey_get", "answer_post", "webhook", "dashboard")
RSS_GOAL_MB = 120
ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) \S+ (?P<ms>\d+)ms')

WRK_SCRIPT = Path(__file__).with_name("load.lua")


@dataclass
class Kind:
    """One kind of request in a run, from the server's access log."""

    latencies_ms: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return float(ordered[min(len(ordered) - 1, int(len(ordered) * share))])


@dataclass
class Run:
    """One wrk run against one server, with the server's access log read by kind."""

    name: str
    wrk: dict[str, Any]
    kinds: dict[str, Kind]
    rss_before: dict[str, float] = field(default_factory=dict)  # "web 1234": MB
    rss_after: dict[str, float] = field(default_factory=dict)
    with_warmup: dict[str, Kind] = field(default_factory=dict)  # the warm-up and the run
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds during the run, by role

    @property
    def seconds(self) -> float:
        return self.wrk["duration_us"] / 1e6

    @property
    def rate(self) -> float:
        return (self.wrk["requests"] - self.wrk["errors"]) / self.seconds


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.set_defaults(database="postgresql")
    parser.add_argument("--answers", type=int, default=100_000, help="demo answers (about)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of each wrk run")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--queue-workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load before the run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mix", default="survey_get=40,answer_post=25,webhook=15,dashboard=20")
    parser.add_argument("--pool", type=int, default=20_000, help="fresh invitations for pages")
    parser.add_argument("--webhooks", type=int, default=6_000, help="SMS invitations awaiting")
    args = parser.parse_args()
    if args.database != "postgresql":
        sys.exit("the multi-process stack runs on PostgreSQL (and Redis)")
    mix = _mix(args.mix)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    about = {
        **common.machine(),
        "stack": f"scripts/run-scaled.sh: gunicorn (scripts/gunicorn.conf.py, gthread, "
        f"{args.web_workers} workers × 4 threads), {args.queue_workers} `survey worker`; "
        "PostgreSQL, Redis (queue, send limiter, web limits: on), SURVEY_PROXY_FIX=1; "
        "Twilio: Prism started by the bench (TWILIO_API_URL)",
        "load": f"wrk, {args.threads} threads, {args.connections} connections, "
        f"{args.duration} s a run after {args.warmup} s of warm-up, mix {args.mix} "
        "(per cent of requests)",
        "code served": str(REPO / "survey"),
    }
    prefix = f"bench_{secrets.token_hex(4)}"
    prism = sending._start_prism()
    try:
        with (
            common.throwaway_database("postgresql") as url,
            tempfile.TemporaryDirectory(prefix="bench-load-") as folder,
        ):
            runs, checks, built = _bench(args, mix, url, Path(folder), prefix, prism.url)
    finally:
        prism.stop()
        sending._forget_redis_prefix(prefix)
    about["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    _report(args, about, runs, checks, built)


def _mix(text: str) -> dict[str, int]:
    weights = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind not in KINDS or not weight.isdigit():
            sys.exit(f"--mix: {part!r} is not one of {', '.join(KINDS)} = a whole number")
        weights[kind] = int(weight)
    return weights


def _environment(url: str, instance: Path, prefix: str, twilio: str, args: Any) -> dict[str, str]:
    """The settings run-scaled.sh and every process of the stack read."""
    return {
        **os.environ,
        "SURVEY_BIN": str(serving.BIN),
        "SURVEY_DATABASE_URL": url,
        "SURVEY_QUEUE_URL": f"{sending.REDIS}?prefix={prefix}",
        "SURVEY_INSTANCE_PATH": str(instance),
        "SURVEY_SECRET_KEY": "bench",
        "SURVEY_PUBLIC_URL": PUBLIC_URL,
        "SURVEY_PROXY_FIX": "1",
        "SURVEY_WEB_WORKERS": str(args.web_workers),
        "SURVEY_QUEUE_WORKERS": str(args.queue_workers),
        "SURVEY_HOST": "127.0.0.1",
        "TWILIO_ACCOUNT_SID": sending.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": sending.AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": sending.FROM_NUMBER,
        "TWILIO_API_URL": twilio,
        "PYTHONPATH": os.pathsep.join([str(serving.BENCH), str(REPO)]),
    }


def _bench(
    args: Any, mix: dict[str, int], url: str, folder: Path, prefix: str, twilio: str
) -> tuple[dict[str, Run], dict[str, Any], float]:
    instance = folder / "instance"
    instance.mkdir()
    # The operator's instance config: the web limits count in this run's own Redis keys.
    (instance / "config.py").write_text(
        "RATELIMIT_STORAGE_OPTIONS = {'key_prefix': "
        f"'{prefix}-ratelimit', 'socket_timeout': 2, 'socket_connect_timeout': 2}}\n",
        encoding="utf-8",
    )
    env = _environment(url, instance, prefix, twilio, args)
    with common.Timer() as built:
        for command in (["db", "upgrade"], ["demo", "--answers", str(args.answers)]):
            subprocess.run(
                [str(serving.BIN / "survey"), *command], env=env, cwd=REPO, check=True,
                stdout=subprocess.DEVNULL, timeout=3600,
            )  # fmt: skip
        pools = _pools(url, instance, args.pool, args.webhooks, folder)
    print(f"data built in {built.seconds:.0f} s: {pools['answers_before']:,} answers", flush=True)
    script = WRK_SCRIPT
    wrk_env = {
        "BENCH_PAGES": str(pools["pages"]),
        "BENCH_HOOKS": str(pools["hooks"]),
        "BENCH_BOARDS": ",".join(DASHBOARD_PATHS),
        "BENCH_MIX": ",".join(f"{k}={w}" for k, w in mix.items()),
        "BENCH_THREADS": str(args.threads),
    }
    runs = {"bare": _bare_run(env, folder, script, wrk_env, args)}
    runs["stack"], logs = _stack_run(env, folder, script, wrk_env, args)
    checks = {**_verify(url, pools), **logs}
    return runs, checks, built.seconds


def _pools(url: str, instance: Path, pool: int, webhooks: int, folder: Path) -> dict[str, Any]:
    """Make the fresh invitations; write the pages' and the webhooks' lines for the Lua script."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "bench",
            "SURVEY_QUEUE_URL": "memory://",
            "SURVEY_PUBLIC_URL": PUBLIC_URL,
        }
    )
    with app.app_context():
        answers_before = _count(Answer)
        tokens.multiply(_count(Invitation) + pool + webhooks)
        fresh = tokens.fresh_pool(pool + webhooks)
        by_sms, on_pages = fresh[:webhooks], fresh[webhooks:]
        pages = folder / "pages.txt"
        pages.write_text("\n".join(tokens.pool_lines(app, on_pages)) + "\n", encoding="utf-8")
        hooks = folder / "hooks.txt"
        signed = tokens.awaiting_sms(
            by_sms, PUBLIC_URL + SMS_HOOK, sending.AUTH_TOKEN, sending.ACCOUNT_SID,
            sending.FROM_NUMBER,
        )  # fmt: skip
        hooks.write_text("\n".join(signed) + "\n", encoding="utf-8")
        common.gather_statistics()
        found = {
            "answers_before": answers_before,
            "inbound_before": _count(InboundEvent),
            "pages": pages,
            "hooks": hooks,
            "page_ids": (on_pages[0][0], on_pages[-1][0]),
            "sms_ids": (by_sms[0][0], by_sms[-1][0]),
        }
        db.session.remove()
        db.engine.dispose()
    return found


def _count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _bare_run(
    env: dict[str, str], folder: Path, script: Path, wrk_env: dict[str, str], args: Any
) -> Run:
    """Serve bare_app.py as the stack serves the app (same config file, workers); load it."""
    port = serving.free_port()
    access = folder / "bare-access.log"
    with access.open("wb") as out, (folder / "bare-error.log").open("wb") as errors:
        server = subprocess.Popen(
            [str(serving.BIN / "gunicorn"), "--config", str(REPO / "scripts/gunicorn.conf.py"),
             "--chdir", str(serving.BENCH), "bare_app:app"],
            env={**env, "SURVEY_PORT": str(port)}, cwd=REPO, stdout=out, stderr=errors,
        )  # fmt: skip
        try:
            serving.wait_until_ready(server, f"http://127.0.0.1:{port}/ready")
            run = _load("bare", port, server.pid, [], access, script,
                        {**wrk_env, "BENCH_COOKIE": "none=1"}, args)  # fmt: skip
        finally:
            serving.stop(server)
    return run


def _stack_run(
    env: dict[str, str], folder: Path, script: Path, wrk_env: dict[str, str], args: Any
) -> tuple[Run, dict[str, Any]]:
    """Start the stack with run-scaled.sh, sign staff in, load it; return the run and its logs."""
    port = serving.free_port()
    access = folder / "stack-access.log"
    errors_log = folder / "stack-error.log"
    with access.open("wb") as out, errors_log.open("wb") as errors:
        stack = subprocess.Popen(
            ["bash", str(REPO / "scripts/run-scaled.sh")],
            env={**env, "SURVEY_PORT": str(port)}, cwd=REPO, stdout=out, stderr=errors,
        )  # fmt: skip
        try:
            master, workers = _wait_for_stack(stack, errors_log, port, args)
            cookie = _sign_in(port)
            run = _load("stack", port, master, workers, access, script,
                        {**wrk_env, "BENCH_COOKIE": cookie}, args)  # fmt: skip
        finally:
            serving.stop(stack, timeout=60)
    text = errors_log.read_text(encoding="utf-8", errors="replace")
    bad = [
        line
        for line in text.splitlines()
        if "Traceback" in line or " ERROR " in line or "CRITICAL" in line or "[ERROR]" in line
    ]
    for line in bad[:20]:
        print("  server log:", line[:300], flush=True)
    restarts = text.count("stopped with status")
    return run, {"log_errors": len(bad), "restarts": restarts, "error_log": errors_log}


def _wait_for_stack(
    stack: subprocess.Popen[bytes], log: Path, port: int, args: Any
) -> tuple[int, list[int]]:
    """Wait until gunicorn's workers all run and answer; return gunicorn's and workers' PIDs."""
    serving.wait_until_ready(stack, f"http://127.0.0.1:{port}/healthz", timeout=180)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        masters = re.findall(r"gunicorn pid (\d+)", text)
        queue_workers = [int(p) for p in re.findall(r"worker started \(pid (\d+)\)", text)]
        if masters and len(_children(int(masters[-1]))) == args.web_workers:
            time.sleep(3)
            return int(masters[-1]), queue_workers
        time.sleep(0.5)
    raise RuntimeError("the stack's web workers did not all start")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _rss_mb(pid: int) -> float:
    """VmRSS of one process, in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time one process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(master: int, queue_workers: list[int]) -> dict[str, float]:
    found = {f"web {pid}": _rss_mb(pid) for pid in _children(master)}
    found.update({f"queue worker {pid}": _rss_mb(pid) for pid in queue_workers})
    return found


def _cpu(master: int, queue_workers: list[int]) -> dict[str, float]:
    return {
        "web": sum(_cpu_seconds(pid) for pid in _children(master)),
        "queue": sum(_cpu_seconds(pid) for pid in queue_workers),
    }


def _sign_in(port: int) -> str:
    """Sign the demo's quality user in through the form; return the session's Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = f"http://127.0.0.1:{port}/auth/login"
    with opener.open(login, timeout=30) as page:
        html = page.read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if token is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    form = {"email": STAFF_EMAIL, "password": DEMO_PASSWORD, "csrf_token": token.group(1)}
    with opener.open(login, data=urllib.parse.urlencode(form).encode(), timeout=30) as page:
        page.read()
        if urllib.parse.urlparse(page.url).path == "/auth/login":
            raise RuntimeError("the demo's quality user could not sign in")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _load(
    name: str,
    port: int,
    master: int,
    queue_workers: list[int],
    access: Path,
    script: Path,
    wrk_env: dict[str, str],
    args: Any,
) -> Run:
    """Warm up, then run wrk once; read the access log by kind; RSS before and after the run.

    The warm-up (the same mix, its posts and webhooks from the other end of the lists) lets
    each worker load what it loads on first use (templates, catalogues) outside the figures.
    """
    url = f"http://127.0.0.1:{port}/"
    warm_offset = access.stat().st_size
    if args.warmup:
        serving.run_wrk(url, script, {**wrk_env, "BENCH_WARMUP": "1"}, args.warmup,
                        args.connections, args.threads)  # fmt: skip
        time.sleep(2)
    rss_before = _rss(master, queue_workers)
    cpu_before = _cpu(master, queue_workers)
    offset = access.stat().st_size
    seen = serving.run_wrk(url, script, wrk_env, args.duration, args.connections, args.threads)
    cpu_after = _cpu(master, queue_workers)
    time.sleep(2)  # requests in flight when wrk stopped reach the log
    rss_after = _rss(master, queue_workers)
    run = Run(name, seen, _kinds(access, offset), rss_before, rss_after)
    run.cpu = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
    run.with_warmup = _kinds(access, warm_offset)
    print(f"  {name}: {run.rate:.1f}/s, {seen['errors']} errors, {seen['s5']} 5xx", flush=True)
    return run


def _kinds(access: Path, offset: int) -> dict[str, Kind]:
    kinds: dict[str, Kind] = defaultdict(Kind)
    with access.open("rb") as log:
        log.seek(offset)
        for raw in log:
            found = ACCESS.search(raw.decode("utf-8", errors="replace"))
            if found is None:
                continue
            kind = _kind_of(found["method"], found["path"])
            # The dashboard's pages also one by one: they differ in cost.
            also = [f"dashboard {found['path']}"] if kind == "dashboard" else []
            for name in (kind, *also):
                kinds[name].statuses[int(found["status"])] += 1
                kinds[name].latencies_ms.append(int(found["ms"]))
    return dict(kinds)


def _kind_of(method: str, path: str) -> str:
    if path.startswith("/s/"):
        return "survey_get" if method == "GET" else "answer_post"
    if method == "POST" and path == SMS_HOOK:
        return "webhook"
    if method == "GET" and path in DASHBOARD_PATHS:
        return "dashboard"
    return "other"


def _verify(url: str, pools: dict[str, Any]) -> dict[str, Any]:
    """Count what the pool's invitations gained: answers, SMS answers, inbound messages."""
    engine = sa.create_engine(url)
    answered = (
        sa.select(sa.func.count(Answer.id), sa.func.count(sa.distinct(Response.id)))
        .join(Response, Answer.response_id == Response.id)
        .where(Response.invitation_id.between(*pools["page_ids"]))
    )
    by_sms = (
        sa.select(sa.func.count(Answer.id))
        .join(Response, Answer.response_id == Response.id)
        .where(Response.invitation_id.between(*pools["sms_ids"]), Response.survey_channel == "sms")
    )
    twice = (
        sa.select(Answer.response_id, Answer.question_id)
        .group_by(Answer.response_id, Answer.question_id)
        .having(sa.func.count() > 1)
    )
    with engine.connect() as connection:
        web_answers, web_responses = connection.execute(answered).one()
        sms_answers = connection.execute(by_sms).scalar_one()
        inbound = connection.execute(
            sa.select(sa.func.count()).select_from(InboundEvent)
        ).scalar_one()
        answers = connection.execute(sa.select(sa.func.count()).select_from(Answer)).scalar_one()
        duplicates = connection.execute(
            sa.select(sa.func.count()).select_from(twice.subquery())
        ).scalar_one()
    engine.dispose()
    return {
        "web_answers": web_answers,
        "web_responses": web_responses,
        "sms_answers": sms_answers,
        "inbound": inbound - pools["inbound_before"],
        "answers_gained": answers - pools["answers_before"],
        "duplicates": duplicates,
    }


def _report(
    args: Any, about: dict[str, str], runs: dict[str, Run], checks: dict[str, Any], built: float
) -> None:
    stack, bare = runs["stack"], runs["bare"]
    rows: list[list[Any]] = []
    for run in (bare, stack):
        seen = run.wrk
        rows.append(
            [run.name, "all (wrk)", f"{seen['requests']:,}", f"{run.rate:,.1f}",
             common.seconds(seen["p50_us"] / 1e6), common.seconds(seen["p99_us"] / 1e6),
             f"{seen['errors']:,} (socket {seen['connect'] + seen['read'] + seen['write']}, "
             f"timeout {seen['timeout']}, ≥400 {seen['status']})",
             f"2xx {seen['s2']:,}, 3xx {seen['s3']:,}, 4xx {seen['s4']:,}, 5xx {seen['s5']:,}"]
        )  # fmt: skip
        pages = [f"dashboard {path}" for path in DASHBOARD_PATHS]
        for kind in (*KINDS, *pages, "other"):
            found = run.kinds.get(kind)
            if found is None:
                continue
            count = sum(found.statuses.values())
            errors = sum(n for status, n in found.statuses.items() if status >= 400)
            statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(found.statuses.items()))
            rows.append(
                [run.name, kind, f"{count:,}", f"{count / run.seconds:,.1f}",
                 f"{found.percentile(0.5):.0f} ms", f"{found.percentile(0.99):.0f} ms",
                 f"{errors:,}", statuses]
            )  # fmt: skip
    rows.append(
        ["stack ÷ bare", "all", "", f"{stack.rate / bare.rate:.0%}", "", "", "", ""]
    )  # fmt: skip
    for run in (bare, stack):
        served = max(1, run.wrk["requests"])
        web_cpu = run.cpu.get("web", 0.0)
        rows.append(
            [run.name, "web workers' CPU", "", "", "", "", "",
             f"{web_cpu:.1f} s in {run.seconds:.0f} s ({web_cpu / run.seconds:.2f} of "
             f"{os.cpu_count()} cores), {web_cpu / served * 1000:.1f} ms a request"
             + (f"; queue workers {run.cpu.get('queue', 0.0):.1f} s" if run is stack else "")]
        )  # fmt: skip
    web = {k: v for k, v in stack.rss_after.items() if k.startswith("web")}
    queue = {k: v for k, v in stack.rss_after.items() if k.startswith("queue")}
    # Warm-up and run together, since both posted answers and webhooks.
    posts = stack.with_warmup.get("answer_post", Kind()).statuses.get(303, 0)
    hooks = stack.with_warmup.get("webhook", Kind()).statuses.get(200, 0)
    five = sum(
        n
        for name, kind in stack.with_warmup.items()
        if not name.startswith("dashboard /")  # counted under "dashboard" already
        for s, n in kind.statuses.items()
        if s >= 500
    )
    largest = max(web.values(), default=0.0)
    about.update(
        {
            "data": f"`survey demo --answers {args.answers:,}` plus {args.pool:,} fresh "
            f"invitations for the pages and {args.webhooks:,} awaiting an SMS reply "
            f"(built in {built:.0f} s)",
            "web worker VmRSS before → after (MB)": ", ".join(
                f"{stack.rss_before.get(k, 0):.0f} → {v:.0f}" for k, v in web.items()
            )
            + f" (goal ≤ {RSS_GOAL_MB} MB each: {'met' if largest <= RSS_GOAL_MB else 'not met'})",
            "queue worker VmRSS before → after (MB)": ", ".join(
                f"{stack.rss_before.get(k, 0):.0f} → {v:.0f}" for k, v in queue.items()
            ),
            "bare web worker VmRSS after (MB)": ", ".join(
                f"{v:.0f}" for k, v in bare.rss_after.items()
            ),
            "answer posts answered 303 (warm-up and run) → answers stored on those invitations": f"{posts:,} → "
            f"{checks['web_answers']:,} (in {checks['web_responses']:,} responses)",
            "webhooks answered 200 (warm-up and run) → inbound messages recorded, SMS answers stored": f"{hooks:,} "
            f"→ {checks['inbound']:,}, {checks['sms_answers']:,}",
            "answers the database gained; (response, question) stored twice": (
                f"{checks['answers_gained']:,}; {checks['duplicates']:,}"
            ),
            "tokens reused (posts), messages repeated (webhooks)": f"{stack.wrk['posts_wrapped']:,}"
            f", {stack.wrk['hooks_wrapped']:,}",
            "5xx in the access log (warm-up and run); tracebacks/ERROR lines in the server log; restarts": f"{five}; "
            f"{checks['log_errors']}; {checks['restarts']}",
        }
    )
    common.record(
        "Mixed load on the multi-process stack (PostgreSQL, Redis)",
        about,
        ["server", "kind", "requests", "requests/s", "p50", "p99", "errors", "statuses"],
        rows,
        notes=[
            "`all (wrk)`: wrk's own figures (client side: p50/p99 over every request, errors "
            "are socket errors, timeouts of 10 s and statuses of 400 and above). By kind: "
            "gunicorn's access log for the run (server time in whole milliseconds, without "
            "the wait in the listen backlog; requests/s over wrk's duration). Expected "
            "statuses: 200 for pages, webhooks and dashboards, 303 for answer posts (not "
            "errors). `other` is anything else the server got while wrk ran. The bare server "
            "is bench/bare_app.py under the same gunicorn config, workers and mix. Every "
            "answer post is the first step of a token of its own, so posts answered 303 and "
            "answers stored must agree; each webhook is one signed reply from a number of its "
            "own to the first SMS question, so webhooks answered and inbound messages recorded "
            "must agree. RSS: VmRSS from /proc after the run (2 s after wrk ends). CPU: the web "
            "workers' user and system time from /proc during the run, divided by wrk's "
            "requests: what a request costs the web tier (PostgreSQL's and Redis's share not "
            "included), a figure a busy machine spoils less than requests/s. Goal: "
            f"≤ {RSS_GOAL_MB} MB per web worker.",
        ],
        enabled=not args.no_record,
    )


if __name__ == "__main__":
    main()
