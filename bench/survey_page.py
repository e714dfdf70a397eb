"""The customer's survey page under load, with a million invitations, next to a bare endpoint.

    .venv/bin/python bench/survey_page.py [--invitations 1000000] [--pool 100000]
        [--duration 20] [--connections 8] [--database postgresql] [--serve sync,gthread]

The data: a small demo bank (``survey.demo.load``, seed 2026) whose invitations,
with their interactions, are then multiplied by set-based INSERT … SELECT (fresh
random tokens, new external ids) until the database holds ``--invitations``;
the last ``--pool`` copies are made fresh sent invitations (open for 72 hours,
never opened) for the load to use. Each pool line holds a token, the form key
of its page (an HMAC under the app's secret, which Lua cannot compute) and the
first step's answer, written to a file the wrk script reads.

The load: gunicorn on a free port serves ``bench/bare_app.py`` (a page and a
redirecting POST that touch no database), then the app the same way, in the same run:
2 worker processes of the class and threads scripts/gunicorn.conf.py sets (as ``make
run`` and production serve it); ``--serve sync,gthread`` serves each way in turn, the
bare endpoint and the app each time, on a part of the pool of its own. wrk (2 threads, a Lua script) measures the most each
serves: ``GET /s/<token>`` cycling through a quarter of the pool, and the first
step's ``POST`` (it answers 303) on the next quarter, every post to a token of its
own, so each answered post is one stored answer, counted afterwards. Then the
latency at half that rate, on the last two quarters, so that the half-load runs
send the same mix as the full ones (first visits of unanswered links, first
answers; "tokens reused" says when a run came back to tokens it had used): wrk2
is not available, so an open-loop client here, four processes sharing one
schedule, sends at a fixed rate (half the achieved maximum) over persistent
connections, and times each request from when it was due, not when a connection
was free (no coordinated omission). Errors: wrk's and the client's statuses of 400 and above,
socket errors and timeouts; "database is locked" is counted in the server's log.
Web rate limits are off (one address sends everything here; a carrier NAT is
what the per-address limit allows for).

The bench starts gunicorn and wrk itself and ends only those processes, by the
PIDs it got when starting them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import common
import intake
import paced
import serving
import tokens
from paced import Run

from survey import demo
from survey.extensions import db
from survey.models import Answer, Invitation

SURVEY_TARGET = "survey:create_app({'RATELIMIT_ENABLED': False})"


# Each wrk thread walks its own share of a slice of the pool lines ("token form_body"), so no
# two POSTs go to one token; done() prints one JSON line the bench reads.
WRK_SCRIPT = r"""
local rows = {}
for line in io.lines(os.getenv("BENCH_ROWS")) do rows[#rows + 1] = line end
local first = tonumber(os.getenv("BENCH_FIRST"))
local count = tonumber(os.getenv("BENCH_COUNT"))
local method = os.getenv("BENCH_METHOD")
local all = {}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
  thread:set("nthreads", tonumber(os.getenv("BENCH_THREADS")))
  table.insert(all, thread)
end

function init(args)
  n = 0
  answered = 0
  wrapped = 0
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  n = n + 1
  local i = (n - 1) * nthreads + tid - 1
  if i >= count then wrapped = wrapped + 1 end
  local row = rows[first + (i % count)]
  local space = row:find(" ")
  local token = row:sub(1, space - 1)
  if method == "GET" then
    return wrk.format("GET", "/s/" .. token .. "?lang=zh")
  end
  return wrk.format("POST", "/s/" .. token .. "?lang=zh", nil, row:sub(space + 1))
end

function response(status, headers, body)
  if status < 400 then answered = answered + 1 end
end

function done(summary, latency, requests)
  local ok, wraps = 0, 0
  for _, thread in ipairs(all) do
    ok = ok + thread:get("answered")
    wraps = wraps + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
    .. '"answered": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout, ok, wraps))
end
"""


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=100_000, help="fresh invitations for the load")
    parser.add_argument("--demo-size", type=int, default=3000, help="interactions of the demo")
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--connections", type=int, default=8)
    serving.add_arguments(parser)
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout (e.g. a git worktree of main) served too, on its own half of "
        "the pool, alternating with this one in the same run on the same database",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    serves = args.serve
    about = {
        **common.machine(),
        "database": args.database,
        "server": "; then ".join(serve.describe(args.workers) for serve in serves)
        + ", web rate limits off",
        "load": (
            f"wrk, 2 threads, {args.connections} connections, {args.duration} s a run; half "
            "load by the bench's open-loop client (4 processes, paced)"
        ),
        "code served": str(intake.SOURCE / "survey"),
    }
    # (label, checkout): this one alone, or the other one first and this one after, twice each.
    codes: list[tuple[str, Path]] = [("", intake.SOURCE)]
    if args.against:
        against = args.against.resolve()
        about["code served"] += f" (this) and {against / 'survey'} (against)"
        codes = [("against", against), ("this", intake.SOURCE)]
    with common.bench_app(args.database) as app, tempfile.TemporaryDirectory() as folder:
        with common.Timer() as built:
            demo.load(size=args.demo_size)
            tokens.multiply(args.invitations)
            pool = tokens.fresh_pool(args.pool)
            common.gather_statistics()
        invitations = intake._count(Invitation)
        answers_before = intake._count(Answer)
        print(f"{args.database}: {invitations:,} invitations in {built.seconds:.0f} s", flush=True)
        rows_file = Path(folder, "pool.txt")
        lines = tokens.pool_lines(app, pool)
        rows_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        script = Path(folder, "survey.lua")
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        env = intake._app_environment(app, folder)
        db.session.remove()
        share = len(pool) // (len(codes) * len(serves))
        quarter = share // 4
        log = Path(folder, "server.log")
        runs: dict[str, Run] = {}
        labels: list[tuple[str, str]] = []  # (the app's label, its bare endpoint's label)
        for number, serve in enumerate(serves):
            way = f"{serve.name} " if len(serves) > 1 else ""
            bare = f"{way}bare"
            with serving.gunicorn("bare_app:app", args.workers, env, "/ready", serve=serve) as port:
                whole = (0, len(pool))
                runs[f"{bare} GET"] = _wrk(port, script, rows_file, "GET", whole, args)
                runs[f"{bare} POST"] = _wrk(port, script, rows_file, "POST", whole, args)
            for index, (label, checkout) in enumerate(codes):
                named = f"{way}{label}".strip()
                named = f"{named}: " if named else ""
                labels.append((named, bare))
                served = {**env, "PYTHONPATH": os.pathsep.join([str(serving.BENCH), str(checkout)])}
                offset = (number * len(codes) + index) * share
                _load_app(args, served, log, serve, script, rows_file, lines, runs, named,
                          _Slices(share, offset=offset), quarter)  # fmt: skip
        db.session.remove()
        stored = intake._count(Answer) - answers_before
        locked = log.read_text(encoding="utf-8", errors="replace").count("database is locked")
    answered_posts = sum(
        run.answered for name, run in runs.items() if "POST" in name and "bare" not in name
    )
    _report(args, about, invitations, built.seconds, runs, labels, answered_posts, stored, locked)


def _load_app(
    args: Any,
    env: dict[str, str],
    log: Path,
    serve: serving.Workers,
    script: Path,
    rows_file: Path,
    lines: list[str],
    runs: dict[str, Run],
    named: str,
    slices: _Slices,
    quarter: int,
) -> None:
    """Serve the app one way and load it: GET and POST at the most, then each at half that."""
    with serving.gunicorn(
        SURVEY_TARGET, args.workers, env, "/api/v1/openapi.json", log, serve=serve
    ) as port:
        # Every run has fresh tokens of its own, so the half-load runs send the same mix as the
        # full ones: first visits of unanswered links, first answers.
        get = _wrk(port, script, rows_file, "GET", slices.take(quarter), args)
        runs[f"{named}GET /s/<token>"] = get
        post = _wrk(port, script, rows_file, "POST", slices.take(quarter), args)
        runs[f"{named}POST /s/<token>"] = post
        runs[f"{named}GET, half load"] = paced.open_loop(
            port, lines, "GET", slices.take(quarter), get.rate / 2, args.duration
        )
        runs[f"{named}POST, half load"] = paced.open_loop(
            port, lines, "POST", slices.take(slices.size - slices.used), post.rate / 2,
            args.duration,
        )  # fmt: skip


class _Slices:
    """Hand out parts of the pool: GETs may share tokens, each POST needs its own."""

    def __init__(self, size: int, offset: int = 0) -> None:
        self.size = size
        self.offset = offset
        self.used = 0

    def take(self, count: int) -> tuple[int, int]:
        first, self.used = self.used, self.used + count
        return self.offset + first, count


def _wrk(port: int, script: Path, rows: Path, method: str, part: tuple[int, int], args: Any) -> Run:
    """Run wrk for the fixed time against /s/ and return what its done() hook printed."""
    first, count = part
    env = {
        "BENCH_ROWS": str(rows),
        "BENCH_FIRST": str(first + 1),
        "BENCH_COUNT": str(count),
        "BENCH_METHOD": method,
        "BENCH_THREADS": "2",
    }
    url = f"http://127.0.0.1:{port}/s/"
    seen = serving.run_wrk(url, script, env, args.duration, args.connections)
    run = Run(
        label=f"wrk {method}",
        requests=seen["requests"],
        seconds=seen["duration_us"] / 1e6,
        p50=seen["p50_us"] / 1e6,
        p99=seen["p99_us"] / 1e6,
        errors=seen["errors"],
        answered=seen["answered"],
        wrapped=seen["wrapped"],
    )
    print(f"  {method} port {port}: {run.rate:.1f}/s, {run.errors} errors", flush=True)
    return run


def _report(
    args: Any,
    about: dict[str, str],
    invitations: int,
    built: float,
    runs: dict[str, Run],
    labels: list[tuple[str, str]],
    answered_posts: int,
    stored: int,
    locked: int,
) -> None:
    rows: list[list[Any]] = []
    for name, run in runs.items():
        rate = (
            f"{run.rate:,.1f}"
            if run.offered is None
            else f"{run.rate:,.1f} (asked {run.offered:,.1f})"
        )
        rows.append(
            [name, rate, common.seconds(run.p50), common.seconds(run.p99),
             f"{run.errors:,}", f"{run.requests:,}", f"{run.wrapped:,}"]
        )  # fmt: skip
    for named, bare in labels:
        get_share = runs[f"{named}GET /s/<token>"].rate / runs[f"{bare} GET"].rate
        post_share = runs[f"{named}POST /s/<token>"].rate / runs[f"{bare} POST"].rate
        rows.append([f"{named}GET ÷ {bare} GET", f"{get_share:.0%}", "", "", "", "", ""])
        rows.append([f"{named}POST ÷ {bare} POST", f"{post_share:.0%}", "", "", "", "", ""])
    common.record(
        f"Survey page under load ({args.database})",
        {
            **about,
            "invitations": f"{invitations:,} (demo of {args.demo_size:,} interactions, "
            f"multiplied; built in {built:.0f} s)",
            "fresh invitations the load used": f"{args.pool:,}",
            "posts answered (status < 400)": f"{answered_posts:,}",
            "answers stored": f"{stored:,}",
            '"database is locked" in the server log': f"{locked:,}",
        },
        ["run", "requests/s", "p50", "p99", "errors", "requests", "tokens reused"],
        rows,
        notes=[
            "GET cycles through the fresh invitations (the first visit of each writes "
            "`opened_at`, later ones read only); each POST is the first step of a token of its "
            "own, answered 303, so answered posts and stored answers must agree (a post in "
            "flight when wrk stops may be stored without being counted: stored may exceed "
            "answered by at most the connections). Every run has fresh tokens of its own, so "
            "the half-load runs send the same mix as the full ones. Half load: the open-loop "
            "client (4 processes sharing one schedule) asks for half the wrk rate and times each "
            "request from when it was due. Goals (issue 10): "
            "GET ≥ 50% and POST ≥ 25% of bare; p99 at half load ≤ 50 ms; 0 database-locked; "
            "every answered post stored.",
        ],
        enabled=not args.no_record,
    )


if __name__ == "__main__":
    main()
