"""Deterministic demo data: the bank, its staff, a published survey and 90 days of answers.

``survey demo`` calls :func:`load`. The same seed, last day and size give the
same data (only the secret tokens and the API key differ), so a demo, a
screenshot or a bug report can be reproduced.
"""

from __future__ import annotations

import os
import random
import secrets
import time as timer
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from survey import clock, settings
from survey.demo import answers, invitations, org, people
from survey.demo.bulk import Progress, ProgressCallback, insert_rows
from survey.demo.interactions import DAYS, DemoInteraction, create_interactions
from survey.demo.org import DEMO_PASSWORD, STAFF
from survey.extensions import db
from survey.models import (
    Answer,
    BusinessLine,
    Customer,
    Delivery,
    Interaction,
    Invitation,
    OptOut,
    Response,
    Survey,
    User,
)

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
    """Return where staff sign in: the public URL, or the address `make run` serves on."""
    base = current_app.config["SURVEY_PUBLIC_URL"]
    if not os.environ.get("SURVEY_PUBLIC_URL") and (
        os.environ.get("SURVEY_HOST") or os.environ.get("SURVEY_PORT")
    ):
        host = os.environ.get("SURVEY_HOST", "127.0.0.1")
        base = f"http://{host}:{os.environ.get('SURVEY_PORT', '5000')}"
    return base.rstrip("/") + "/auth/login"


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
        db.session.commit()
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
    given = _plan_answers(_rng(seed, "answers"), sent, setup, organisation)
    _insert_interactions(found, organisation, progress)
    _insert_invitations(sent, setup, progress)
    answered = _insert_responses(given, setup, progress)

    with progress.phase("rollups", 1) as step:
        _rebuild_rollups()
        step(1)

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


def _insert_interactions(
    found: list[DemoInteraction], organisation: org.Organisation, progress: Progress
) -> None:
    rows = [
        {
            "external_id": i.external_id,
            "occurred_at": i.occurred_at,
            "channel": i.channel,
            "type": i.type,
            "business_line_id": organisation.line_ids[i.line],
            "team_id": organisation.team_ids[i.team],
            "agent_id": i.agent_id,
            "category": i.category,
            "wait_seconds": i.wait_seconds,
            "customer_id": i.customer.id,
            "complaint_opened_at": i.opened_at,
            "complaint_first_reply_at": i.first_reply_at,
            "complaint_resolved_at": i.resolved_at,
            "complaint_resolved_first_contact": i.resolved_first_contact,
            "complaint_cause": i.cause,
            "suppression_reason": i.suppression_reason,
            # The call-centre system posts a contact a couple of minutes after it ends.
            "created_at": i.occurred_at + timedelta(minutes=2),
        }
        for i in found
    ]
    with progress.phase("interactions", len(rows)) as step:
        for interaction, new_id in zip(
            found, insert_rows(Interaction, rows, step) or [], strict=True
        ):
            interaction.id = new_id


def _insert_invitations(
    sent: invitations.Dispatch, setup: org.SurveySetup, progress: Progress
) -> None:
    rows = []
    for planned in sent.invitations:
        interaction = planned.interaction
        last_event = planned.completed_at or planned.opened_at or planned.sent_at
        if planned.state == "expired":
            last_event = planned.expires_at
        rows.append(
            {
                "interaction_id": interaction.id,
                "customer_id": interaction.customer.id,
                "survey_version_id": setup.version_id,
                "rule_id": planned.rule_id,
                "channels": planned.channels,
                "channel": planned.channel,
                "sms_mode": planned.sms_mode,
                "locale": interaction.customer.locale,
                # Tokens come from the secrets module even here: they open real survey pages.
                "token": secrets.token_urlsafe(32),
                "unsubscribe_token": secrets.token_urlsafe(32),
                "state": planned.state,
                "scheduled_at": planned.scheduled_at,
                "sent_at": planned.sent_at,
                "opened_at": planned.opened_at,
                "completed_at": planned.completed_at,
                "expires_at": planned.expires_at,
                "created_at": planned.scheduled_at,
                "updated_at": last_event or planned.scheduled_at,
            }
        )
    deliveries = sum(len(p.deliveries) for p in sent.invitations)
    with progress.phase("invitations", len(rows) + deliveries + len(sent.opt_outs)) as step:
        ids = insert_rows(Invitation, rows, step) or []
        for planned, new_id in zip(sent.invitations, ids, strict=True):
            planned.id = new_id
        delivery_rows = [
            {"invitation_id": p.id, **d} for p in sent.invitations for d in p.deliveries
        ]
        insert_rows(Delivery, delivery_rows, step)
        insert_rows(OptOut, sent.opt_outs, step)


def _plan_answers(
    rng: random.Random,
    sent: invitations.Dispatch,
    setup: org.SurveySetup,
    organisation: org.Organisation,
) -> list[tuple[invitations.PlannedInvitation, list[dict]]]:
    """Draw every response's answers, before the invitations are written with their times."""
    planned_answers = []
    for planned in sent.invitations:
        response = planned.response
        if response is None:
            continue
        skill = organisation.agent_skill[planned.interaction.agent_id]
        locale = planned.interaction.customer.locale
        given = answers.answer_rows(rng, planned, setup.question_ids, skill, locale)
        if response.completed_at is not None:
            # Whatever the draw said, a response is complete only after its last answer.
            response.completed_at = max(response.completed_at, given[-1]["answered_at"])
            planned.completed_at = response.completed_at
        planned_answers.append((planned, given))
    return planned_answers


def _insert_responses(
    planned_answers: list[tuple[invitations.PlannedInvitation, list[dict]]],
    setup: org.SurveySetup,
    progress: Progress,
) -> int:
    """Insert the responses and their answers; return how many were completed."""
    rows = []
    for planned, given in planned_answers:
        response = planned.response
        assert response is not None
        rows.append(
            {
                "invitation_id": planned.id,
                "survey_version_id": setup.version_id,
                "survey_channel": response.survey_channel,
                "locale": planned.interaction.customer.locale,
                "started_at": response.started_at,
                "completed_at": response.completed_at,
                "updated_at": response.completed_at or given[-1]["answered_at"],
            }
        )
    total = len(rows) + sum(len(given) for _planned, given in planned_answers)
    with progress.phase("answers", total) as step:
        ids = insert_rows(Response, rows, step) or []
        answer_rows = [
            {"response_id": response_id, **row}
            for response_id, (_planned, given) in zip(ids, planned_answers, strict=True)
            for row in given
        ]
        insert_rows(Answer, answer_rows, step)
    return sum(1 for planned, _given in planned_answers if planned.state == "completed")


def _rebuild_rollups() -> None:
    """Recompute the dashboards' rollups from the answers just loaded."""
    try:
        from survey.scoring.rollup import rebuild
    except ImportError:
        return  # scoring has no rollups yet: the dashboards will have nothing to read
    rebuild()
