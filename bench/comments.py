"""Time the comments browser's searches over 1,000,000 comments.

    .venv/bin/python bench/comments.py [--comments 1000000] [--database postgresql] [--runs 11]
        [--keep PATH]

Builds a throwaway database (see common.py) holding ``--comments`` counted responses over
the year to LAST_DAY, each with an overall score and a comment made of
phrases customers write (Chinese and English, some with card and phone numbers to mask),
written straight to the tables (COPY on PostgreSQL, executemany on SQLite). Then asks GET /comments through the
app (Flask test client, signed in as quality: filters, search, masking, the page) for
searches of 1-, 2- and 4-character words that are found and that are in no comment (a
search for a missing word reads its whole window), an English word (capitals ignored),
no search newest first, and lowest
overall first; over a year and over the default 30 days, with and without a business-line
filter. Reports each question's p50 and p95 over ``--runs`` runs; the goal is p95 ≤ 500 ms
on PostgreSQL and ≤ 1 s on SQLite.

Building 1,000,000 comments takes about 15 minutes on SQLite: ``--keep PATH`` builds them
into that SQLite file and leaves it there, and a later run with the same ``--keep PATH``
reuses them (after running any newer migrations on it) instead of building again.
"""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import common
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from survey import clock
from survey.demo.answers import COMMENTS
from survey.designer.service import create_from_starter, publish
from survey.designer.starters import POST_INTERACTION
from survey.extensions import db
from survey.models import (
    Agent,
    Answer,
    BusinessLine,
    Comment,
    Customer,
    Interaction,
    Invitation,
    Response,
    Team,
    User,
)
from survey.scoring import comment_index

LAST_DAY = date(2026, 11, 29)
DAYS = 365
PASSWORD = "bench-password-1"
LINES = ("personal", "corporate", "cards")
TEAMS_PER_LINE = 3
AGENTS_PER_TEAM = 12
CUSTOMERS = 5_000
# Words searched: found in some comments, and in none (a whole-window read).
WORDS = {
    "1 character": ("慢", "龘"),
    "2 characters": ("态度", "鳄鱼"),
    "4 characters": ("手机银行", "量子计算"),
    "English": ("queue", "zebra"),
}
EXTRA = (
    "",
    "信用卡年费的问题还没解决。",
    "手机银行转账老是失败。",
    "希望能多开几个窗口。",
    "理财经理推荐的产品不太合适。",
    "The app keeps logging me out.",
    "贷款审批太慢了，等了两周。",
    "卡号6200000000000005被扣了两次年费。",
    "请回电13800138000。",
    "网点环境不错，就是停车难。",
)


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument(
        "--keep",
        metavar="PATH",
        help="a SQLite file to build the comments into and keep; reused when it exists",
    )
    args = parser.parse_args()
    if args.keep and args.database != "sqlite":
        parser.error("--keep is for SQLite")
    reuse = bool(args.keep) and Path(args.keep).exists()
    about = {**common.machine(), "database": args.database}
    with common.bench_app(args.database, keep=args.keep) as app:
        app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        clock.freeze(datetime.combine(LAST_DAY, time(12), tzinfo=UTC))
        if reuse:
            count = db.session.scalar(sa.select(sa.func.count()).select_from(Comment))
            if count != args.comments:
                parser.error(f"{args.keep} holds {count:,} comments, not {args.comments:,}")
            about["data"] = (
                f"{count:,} comments over {DAYS} days, reused from a file an earlier run "
                "built (--keep)"
            )
        else:
            with common.Timer() as loading:
                _load(args.comments)
            with common.Timer() as indexing:
                comment_index.rebuild()
                db.session.commit()
            with common.Timer() as analysing:
                common.gather_statistics()
            count = db.session.scalar(sa.select(sa.func.count()).select_from(Comment))
            about["data"] = (
                f"{count:,} comments over {DAYS} days, loaded in {loading.seconds:.1f} s; "
                f"comments index rebuilt in {indexing.seconds:.1f} s (as the migration fills "
                f"it); statistics {analysing.seconds:.1f} s"
            )
        print(about["data"], flush=True)
        client = _signed_in(app)
        rows = _measure(client, args.runs)
    common.record(
        f"Comments browser search ({args.database}, {count:,} comments)",
        about,
        ["question", "comments shown", "p50", "p95"],
        rows,
        notes=[
            "Each figure is GET /comments through the app (Flask test client, signed in: "
            "filters, search, masking, rendering), alternating questions, after one warm-up. "
            "A search (and lowest first) reads the newest 100,000 comments in the filters "
            "(survey/dashboard/comments.py WINDOW); a word in no comment reads all of them. "
            "Shared machine (2 cores, other engineers' tests): read ratios.",
        ],
        enabled=not args.no_record,
    )


def _load(total: int) -> None:
    """Write the organisation, one survey, customers and ``total`` commented responses."""
    rng = random.Random(13)
    survey = create_from_starter(POST_INTERACTION)
    db.session.flush()
    version = publish(survey.versions[0])
    questions = {q.key: q.id for q in version.questions}
    for l_index, line_code in enumerate(LINES):
        line = BusinessLine(code=line_code, name_zh=line_code, name_en=line_code)
        db.session.add(line)
        for t in range(TEAMS_PER_LINE):
            team = Team(
                code=f"{line_code}-{t}",
                business_line=line,
                function="inquiry",
                name_zh=f"{line_code}-{t}",
                name_en=f"{line_code}-{t}",
            )
            db.session.add(team)
            for a in range(AGENTS_PER_TEAM):
                db.session.add(
                    Agent(code=f"A{l_index}{t}{a:02d}", team=team, name_zh="", name_en="")
                )
    db.session.add_all(Customer(external_id=f"C{i}", locale="zh") for i in range(CUSTOMERS))
    db.session.commit()
    agents = db.session.execute(
        sa.select(Agent.id, Agent.team_id, Team.business_line_id).join(Team)
    ).all()
    customer_ids = db.session.scalars(sa.select(Customer.id)).all()
    phrases = [p for texts in COMMENTS.values() for p in texts]
    writer = _Writer()
    end = datetime.combine(LAST_DAY, time(15, 59), tzinfo=UTC)  # 23:59 in Shanghai
    step = timedelta(days=DAYS) / total
    batch: dict[Any, list[dict[str, Any]]] = {
        Interaction: [],
        Invitation: [],
        Response: [],
        Answer: [],
    }
    answer_id = 0
    stamp = writer.stamp
    hour, sent, started, expiry = (
        timedelta(hours=1),
        timedelta(minutes=50),
        timedelta(minutes=2),
        timedelta(days=3),
    )
    for n in range(total):
        moment = end - step * n
        at = stamp(moment)
        agent_id, team_id, line_id = agents[rng.randrange(len(agents))]
        customer_id = customer_ids[rng.randrange(len(customer_ids))]
        row_id = n + 1  # the tables are empty: ids from 1, as the sequences will go on after
        batch[Interaction].append(
            {
                "id": row_id,
                "external_id": f"B{n:08d}",
                "occurred_at": stamp(moment - hour),
                "channel": rng.choice(("phone", "chat", "email", "branch", "app")),
                "type": "inquiry",
                "business_line_id": line_id,
                "team_id": team_id,
                "agent_id": agent_id,
                "category": "account",
                "customer_id": customer_id,
                "created_at": at,
            }
        )
        batch[Invitation].append(
            {
                "id": row_id,
                "interaction_id": row_id,
                "customer_id": customer_id,
                "survey_version_id": version.id,
                "channels": '["sms"]',
                "channel": "sms",
                "token": f"t{n:08d}",
                "unsubscribe_token": f"u{n:08d}",
                "state": "completed",
                "scheduled_at": stamp(moment - sent),
                "sent_at": stamp(moment - sent),
                "completed_at": at,
                "expires_at": stamp(moment + expiry),
                "created_at": at,
                "updated_at": at,
            }
        )
        batch[Response].append(
            {
                "id": row_id,
                "invitation_id": row_id,
                "survey_version_id": version.id,
                "survey_channel": "web",
                "locale": "zh",
                "started_at": stamp(moment - started),
                "completed_at": at,
                "updated_at": at,
                "state": "completed",
                "counted_at": at,
            }
        )
        overall = rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
        text = rng.choice(phrases) + rng.choice(EXTRA)
        for key, value_int, value_text in (("overall", overall, None), ("comment", None, text)):
            answer_id += 1
            batch[Answer].append(
                {
                    "id": answer_id,
                    "response_id": row_id,
                    "question_id": questions[key],
                    "value_int": value_int,
                    "value_text": value_text,
                    "answered_at": at,
                }
            )
        if len(batch[Interaction]) >= 20_000 or n == total - 1:
            for model, rows in batch.items():
                writer.write(model, rows)
                rows.clear()
            print(f"  {n + 1:,} comments written", flush=True)
    writer.restart_sequences((Interaction, Invitation, Response, Answer))
    db.session.commit()


class _Writer:
    """Write plain rows fast: COPY on PostgreSQL, executemany on SQLite (times as SQLite's text)."""

    def __init__(self) -> None:
        connection = db.session.connection()
        self.postgresql = connection.dialect.name == "postgresql"
        self.driver = connection.connection.driver_connection
        if not self.postgresql:
            # The load's index pages stay in memory instead of going back and forth to disk.
            self.driver.execute("PRAGMA cache_size = -262144")

    def write(self, model: Any, rows: list[dict[str, Any]]) -> None:
        table = model.__table__
        names = list(rows[0])
        defaults = [
            (c.name, c.default.arg)
            for c in table.columns
            if c.name not in rows[0] and c.default is not None and c.default.is_scalar
        ]
        names += [name for name, _value in defaults]
        tail = tuple(value for _name, value in defaults)
        values = [tuple(row.values()) + tail for row in rows]
        columns = ", ".join(f'"{n}"' for n in names)
        if self.postgresql:
            with (
                self.driver.cursor() as cursor,
                cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
            ):
                for row in values:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in names)
        self.driver.cursor().executemany(
            f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', values
        )

    def stamp(self, value: datetime) -> Any:
        """A UTC time as the table stores it: itself for COPY, SQLAlchemy's text on SQLite."""
        if self.postgresql:
            return value
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")

    def restart_sequences(self, models: tuple[Any, ...]) -> None:
        if not self.postgresql:
            return
        for model in models:
            name = model.__table__.name
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f'(SELECT max(id) FROM "{name}"))'
                )
            )


def _signed_in(app: Any) -> Any:
    email = "quality@bench.example"
    user = db.session.scalar(sa.select(User).where(User.email == email))  # a kept file's
    if user is None:
        user = User(email=email, role="quality")
        user.password_hash = generate_password_hash(PASSWORD)
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    signed = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert signed.status_code == 302, signed.status_code
    return client


def _cases() -> list[tuple[str, str]]:
    year = f"from={LAST_DAY - timedelta(days=DAYS - 1)}&to={LAST_DAY}"
    month = f"from={LAST_DAY - timedelta(days=29)}&to={LAST_DAY}"
    cases = []
    for span_name, span in (("a year", year), ("30 days", month)):
        for segment_name, segment in (("", ""), (", personal banking", "&business_line=personal")):
            where = f"{span_name}{segment_name}"
            cases.append((f"{where}: no search, newest first", f"{span}{segment}"))
            cases.append((f"{where}: no search, lowest first", f"{span}{segment}&sort=lowest"))
            for length, (found, missing) in WORDS.items():
                for word, kind in ((found, "found"), (missing, "in no comment")):
                    cases.append(
                        (f"{where}: {length} “{word}” ({kind})", f"{span}{segment}&q={quote(word)}")
                    )
    return cases


def _measure(client: Any, runs: int) -> list[list[str]]:
    cases = _cases()
    shown: dict[str, int] = {}
    for name, query in cases:  # warm-up, and how many comments each page shows
        page = client.get(f"/comments?lang=zh&{query}")
        assert page.status_code == 200, (name, page.status_code)
        shown[name] = page.get_data(as_text=True).count('data-testid="comment-text"')
    times: dict[str, list[float]] = {name: [] for name, _query in cases}
    for _ in range(runs):
        for name, query in cases:
            with common.Timer() as timer:
                client.get(f"/comments?lang=zh&{query}")
            times[name].append(timer.seconds)
    rows = []
    for name, _query in cases:
        ordered = sorted(times[name])
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        rows.append(
            [
                name,
                str(shown[name]),
                common.seconds(statistics.median(ordered)),
                common.seconds(p95),
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    main()
