"""Time ``scoring.rollup.rebuild`` and a grouped scores query over many answers.

    .venv/bin/python bench/rollup_rebuild.py [--responses 350000] [--database-url URL]

Builds a throwaway database (a temporary SQLite file unless a URL is given;
the URL's tables are created and must be empty), bulk-inserts completed
responses with three scale answers each over a year, then rebuilds the rollup.

Recorded on the development machine (350,000 responses: 1.4 M answers, 1.05 M
of them on a scale, spread so thinly that they make 491,000 rollup rows):

    sqlite:     rebuild 15.9 s; scores by agent and month over the year 0.7 s
    postgresql: rebuild 31.9 s with the CASE day expression; with AT TIME ZONE and
                half-year batches a 300,000-answer rebuild fell from 8.0 s to 4.7 s
                (most of it is writing the rollup rows and their unique index)
"""

from __future__ import annotations

import argparse
import random
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from survey import create_app
from survey.designer.service import create_from_starter, publish
from survey.designer.starters import POST_INTERACTION
from survey.extensions import db
from survey.models import (
    Agent,
    Answer,
    BusinessLine,
    Customer,
    Interaction,
    Invitation,
    Response,
    Team,
)
from survey.scoring import queries, rollup

BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=350_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-rollup-")
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench",
         "SURVEY_QUEUE_URL": "memory://"}
    )  # fmt: skip
    with app.app_context():
        db.create_all()
        _load(args.responses)
        answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
        started = time.perf_counter()
        counted = rollup.rebuild()
        rebuilt = time.perf_counter() - started
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(rollup.Rollup))
        started = time.perf_counter()
        query = queries.ScoreQuery(
            datetime(2025, 1, 1).date(), datetime(2026, 12, 31).date(), ("agent", "month")
        )
        groups = queries.scores(query, 5)
        queried = time.perf_counter() - started
        print(f"{db.engine.dialect.name}: {answers} answers ({counted} scale answers rolled up)")
        print(f"rebuild: {rebuilt:.1f} s -> {rows} rollup rows")
        print(
            f"scores by agent and month over the year: {queried * 1000:.0f} ms, {len(groups)} groups"
        )


def _load(count: int) -> None:
    """Bulk-insert ``count`` completed responses (three scale answers and a comment each)."""
    rng = random.Random(7)
    line = BusinessLine(code="personal", name_zh="个人", name_en="Personal")
    team = Team(code="t1", business_line=line, function="inquiry", name_zh="组", name_en="Team")
    agents = [Agent(code=f"A{i:04d}", team=team) for i in range(60)]
    db.session.add_all([line, team, *agents])
    survey = create_from_starter(POST_INTERACTION)
    db.session.flush()
    version = publish(survey.versions[0])
    db.session.commit()
    rated = {q.key: q.id for q in version.questions if q.kind in ("rating_5", "nps_0_10")}
    comment = next(q.id for q in version.questions if q.kind == "text")
    start = datetime(2025, 12, 1, tzinfo=UTC)
    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        ids = range(first + 1, first + size + 1)
        customers, interactions, invitations, responses, answers = [], [], [], [], []
        for i in ids:
            at = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
            agent = rng.choice(agents)
            customers.append({"id": i, "external_id": f"C{i}", "name": "", "locale": "zh",
                              "created_at": at, "updated_at": at})  # fmt: skip
            interactions.append(
                {"id": i, "external_id": f"I{i}", "occurred_at": at, "customer_id": i,
                 "channel": rng.choice(["phone", "chat", "email"]), "type": "inquiry",
                 "business_line_id": line.id, "team_id": team.id, "agent_id": agent.id,
                 "category": "account", "created_at": at}
            )  # fmt: skip
            invitations.append(
                {"id": i, "interaction_id": i, "customer_id": i, "survey_version_id": version.id,
                 "channels": ["sms"], "channel": "sms", "sms_mode": "link", "locale": "zh",
                 "token": secrets.token_urlsafe(32), "unsubscribe_token": secrets.token_urlsafe(32),
                 "state": "completed", "scheduled_at": at, "completed_at": at,
                 "expires_at": at + timedelta(days=3), "created_at": at, "updated_at": at}
            )  # fmt: skip
            responses.append(
                {"id": i, "invitation_id": i, "survey_version_id": version.id,
                 "survey_channel": rng.choice(["web", "sms", "voice"]), "locale": "zh",
                 "started_at": at, "completed_at": at, "updated_at": at}
            )  # fmt: skip
            for key in ("attitude", "overall"):
                answers.append({"response_id": i, "question_id": rated[key],
                                "value_int": rng.randint(1, 5), "answered_at": at})  # fmt: skip
            answers.append({"response_id": i, "question_id": rated["nps"],
                            "value_int": rng.randint(0, 10), "answered_at": at})  # fmt: skip
            answers.append({"response_id": i, "question_id": comment, "value_text": "好",
                            "answered_at": at})  # fmt: skip
        for model, rows in ((Customer, customers), (Interaction, interactions),
                            (Invitation, invitations), (Response, responses), (Answer, answers)):  # fmt: skip
            db.session.execute(sa.insert(model), rows)
        db.session.commit()


if __name__ == "__main__":
    main()
