"""Deterministic demo data: the bank, its staff, a published survey and 90 days of answers.

``survey demo`` calls :func:`load`. The same seed, last day and size give the
same data (only the secret tokens and the API key differ), so a demo, a
screenshot or a bug report can be reproduced.
"""

from __future__ import annotations

import random
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from survey import clock, settings
from survey.demo import invitations, org, people, store
from survey.demo.bulk import Progress, ProgressCallback
from survey.demo.interactions import DAYS, create_interactions
from survey.demo.org import DEMO_PASSWORD, STAFF
from survey.extensions import db
from survey.models import Answer, BusinessLine, Customer, Interaction, Response, Survey, User

__all__ = [
    "DEMO_PASSWORD",
    "DemoError",
    "DemoSummary",
    "database_is_empty",
    "load",
    "sign_in_reminder",
]


class DemoError(RuntimeError):
    """Demo data cannot be loaded here; the message says why."""


@dataclass
class DemoSummary:
    """What was loaded, and how to sign in to look at it."""

    seed: int
    first_day: date
    last_day: date
    counts: dict[str, int]
    login_url: str
    api_key: str
    seconds: float
    staff: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Return the summary as lines for the terminal, the API key alone on the last one."""
        c = self.counts
        return [
            f"Demo data loaded (seed {self.seed}, {self.first_day} to {self.last_day}, "
            f"{self.seconds:.1f} s): {c['interactions']:,} interactions "
            f"({c['complaints']:,} complaints), {c['customers']:,} customers, "
            f"{c['agents']} agents, {c['invitations']:,} invitations, "
            f"{c['responses']:,} completed responses.",
            *sign_in_lines(self.login_url, self.staff),
            "API key of the demo call-centre system (shown only now):",
            self.api_key,
        ]


def sign_in_lines(login_url: str, staff: list[tuple[str, str]] | None = None) -> list[str]:
    """Return the demo sign-ins, for the summary and for a reminder when nothing is loaded."""
    staff = staff or [(role, email) for role, email, _name in STAFF]
    return [
        f"Sign in at {login_url} with password {DEMO_PASSWORD}:",
        *(f"  {role:<8} {email}" for role, email in staff),
    ]


def sign_in_reminder() -> list[str]:
    """Return the demo sign-ins when the demo staff exist here, or nothing."""
    emails = [email for _role, email, _name in STAFF]
    found = set(db.session.scalars(sa.select(User.email).where(User.email.in_(emails))))
    staff = [(role, email) for role, email, _name in STAFF if email in found]
    if not staff:
        return []
    lines = sign_in_lines(login_url(), staff)
    lines[0] = lines[0].rstrip(":") + " (unless it was changed):"
    return lines


def login_url() -> str:
    """Return where staff sign in (the public URL follows SURVEY_HOST/PORT unless set)."""
    return current_app.config["SURVEY_PUBLIC_URL"] + "/auth/login"


def _existing_data() -> list[str]:
    checks = {
        "interactions": Interaction,
        "staff accounts": User,
        "business lines": BusinessLine,
        "customers": Customer,
        "surveys": Survey,
    }
    return [
        name
        for name, model in checks.items()
        if db.session.scalar(sa.select(model.id).limit(1)) is not None
    ]


def database_is_empty() -> bool:
    """Whether the database has no interactions, staff, organisation, customers or surveys."""
    return not _existing_data()


def load(
    seed: int = 2026,
    today: date | None = None,
    size: int = 20000,
    progress: bool | ProgressCallback = False,
) -> DemoSummary:
    """Load the demo bank into an empty database and commit it.

    :param seed: the same seed, ``today`` and ``size`` give the same data.
    :param today: the last day of the 90 days; default today in the bank's zone, up to now.
    :param size: how many interactions to generate.
    :param progress: True for bars on stderr, or a callback ``(phase, done, total)``.
    :raises DemoError: when the database has data already; nothing is written then.

    The data is written in one transaction and committed before the dashboards' rollups are
    rebuilt from it.
    """
    found = _existing_data()
    if found:
        raise DemoError(
            f"the database already has {', '.join(found)}; "
            "demo data is loaded only into an empty database"
        )
    if size < 1:
        raise DemoError("the demo needs at least one interaction")
    started = timer.perf_counter()
    zone = ZoneInfo(settings.bank_zone())
    if today is None:
        as_of = clock.now()
        today = as_of.astimezone(zone).date()
    else:
        as_of = datetime.combine(today, time(21, 0), zone).astimezone(UTC)
    first_day = today - timedelta(days=DAYS - 1)
    try:
        summary = _load(seed, today, first_day, as_of, zone, size, Progress(progress))
    except BaseException:
        db.session.rollback()
        raise
    summary.seconds = timer.perf_counter() - started
    return summary


def _rng(seed: int, phase: str) -> random.Random:
    # One stream per phase, so a change in one phase leaves the others' data as it was.
    return random.Random(f"{seed}:{phase}")


def _load(
    seed: int,
    today: date,
    first_day: date,
    as_of: datetime,
    zone: ZoneInfo,
    size: int,
    progress: Progress,
) -> DemoSummary:
    with progress.phase("organisation", 1) as step:
        organisation = org.create_organisation(_rng(seed, "organisation"))
        staff_ids, api_key = org.create_staff()
        published = datetime.combine(first_day - timedelta(days=7), time(10), zone)
        setup = org.create_survey(staff_ids["manager"], published.astimezone(UTC))
        step(1)

    start = datetime.combine(first_day, time(0), zone).astimezone(UTC)
    customers = people.create_customers(_rng(seed, "customers"), max(size // 2, 1), start, progress)
    holidays = {date.fromisoformat(d) for d in settings.get("holidays")}
    makeup = {date.fromisoformat(d) for d in settings.get("makeup_workdays")}
    found = create_interactions(
        _rng(seed, "interactions"), size, today, as_of, zone, organisation, customers,
        holidays, makeup,
    )  # fmt: skip

    default_zone = settings.get("default_timezone")
    zones = {c.id: ZoneInfo(c.timezone or default_zone) for c in customers}
    allowed = (
        time.fromisoformat(settings.get("allowed_hours_start")),
        time.fromisoformat(settings.get("allowed_hours_end")),
    )
    sent = invitations.dispatch(
        _rng(seed, "invitations"), found, setup, as_of,
        int(settings.get("frequency_window_days")), int(settings.get("link_lifetime_hours")),
        allowed, zones,
    )  # fmt: skip
    planned_answers = store.plan_answers(_rng(seed, "answers"), sent, setup, organisation)
    store.insert_interactions(found, organisation, progress)
    store.insert_invitations(sent, setup, progress)
    close_hours = int(settings.get("partial_close_hours"))
    answered = store.insert_responses(planned_answers, setup, progress, as_of, close_hours)

    # The data is committed before the rollups, which the scoring service rebuilds (and commits)
    # from it: should the rebuild fail, `survey demo` has still loaded, and a rebuild can follow.
    db.session.commit()
    # Completed responses and closed partials count (those are the ones given a count time).
    rolled = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Answer)
        .join(Response, Answer.response_id == Response.id)
        .where(Response.counted_at.is_not(None), Answer.value_int.is_not(None))
    )
    with progress.phase("rollups", rolled) as step:
        _rebuild_rollups(step, rolled)

    counts = {
        "agents": sum(len(a) for a in organisation.agents_by_team.values()),
        "customers": len(customers),
        "interactions": len(found),
        "complaints": sum(1 for i in found if i.type == "complaint"),
        "invitations": len(sent.invitations),
        "responses": answered,
    }
    return DemoSummary(
        seed=seed,
        first_day=first_day,
        last_day=today,
        counts=counts,
        login_url=login_url(),
        api_key=api_key,
        seconds=0.0,
        staff=[(role, email) for role, email, _name in STAFF],
    )


def _rebuild_rollups(step: Callable[[int], None], expected: int) -> None:
    """Recompute the dashboards' rollups from the answers just loaded."""
    from survey.scoring.rollup import rebuild

    reported = 0

    def report(done: int, _total: int) -> None:
        nonlocal reported
        done = min(done, expected)
        step(done - reported)
        reported = done

    rebuild(progress=report)
    step(expected - reported)
