"""How far an invitation got, read from its raw rows: the one definition of each funnel step.

The same statement serves one invitation (kept as it changes) and every invitation (the
rebuild), so the kept rollup and a rebuild cannot disagree about what a step means.

- **invited**: an invitation was made (an interaction suppressed before one is counted only
  under its suppression reason, with no survey channel).
- **suppressed_<reason>**: cancelled unsent, for that reason (or suppressed at intake).
- **sent**: a provider took it (or may have: never sent twice) on some channel.
- **failed**: no channel could carry it.
- **delivered**: a delivery receipt (SMS), the mail server's acceptance (e-mail: SMTP gives no
  receipt), a call picked up (voice) on the channel it went out on; or any later sign that it
  reached the customer (opened, answered).
- **opened**: ``opened_at`` is set: the first GET of the survey page for a link (mail scanners
  open links too), a delivered status for a two-way SMS, an answered call for voice; and an
  answer, which implies it.
- **started** / **completed** / **closed_partial**: its response exists / was completed / was
  closed unfinished and counted with what it answered.
- **opted_out**: the customer opted out while its link was open (sent, not yet expired).
- **reminded**: its one reminder went out; **completed_after_reminder**: completed, and
  started after the reminder was sent.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from survey.models import Delivery, Interaction, Invitation, OptOut, Response, SurveyVersion
from survey.models.funnel import COUNTERS, SUPPRESSION_REASONS
from survey.scoring.rollup import local_day

BIT = {name: 1 << i for i, name in enumerate(COUNTERS)}
# Delivery states that show a message reached the customer, per channel.
REACHED = {
    "sms": ("delivered",),
    "email": ("sent", "delivered"),
    "voice": ("in_progress", "answered", "unanswered", "delivered"),
}
# A reminder that never went: the provider refused it, or never had it.
REMINDER_NOT_SENT = ("sending", "held", "retrying", "failed", "undelivered", "canceled")

_reminder = aliased(Delivery)


def _reached() -> sa.Exists:
    return sa.exists().where(
        Delivery.invitation_id == Invitation.id,
        Delivery.purpose == "invitation",
        Delivery.channel == Invitation.channel,
        sa.or_(
            *(
                sa.and_(Delivery.channel == channel, Delivery.state.in_(states))
                for channel, states in REACHED.items()
            )
        ),
    )


def _reminded(before: Any = None) -> sa.Exists:
    conditions = [
        _reminder.invitation_id == Invitation.id,
        _reminder.purpose == "reminder",
        _reminder.state.not_in(REMINDER_NOT_SENT),
    ]
    if before is not None:
        conditions.append(_reminder.created_at <= before)
    return sa.exists().where(*conditions)


def _opted_out_while_open() -> sa.Exists:
    return sa.exists().where(
        OptOut.customer_id == Invitation.customer_id,
        OptOut.created_at >= Invitation.sent_at,
        OptOut.created_at < Invitation.expires_at,
    )


def facts() -> sa.Select[Any]:
    """The columns an invitation's steps and funnel segment are read from (one row each)."""
    return (
        sa.select(
            Invitation.id,
            Invitation.funnel_channel,
            Invitation.funnel_stages,
            Invitation.channel.label("sent_channel"),
            Invitation.channels,
            Invitation.state,
            Invitation.suppression_reason,
            Invitation.sent_at,
            Invitation.opened_at,
            Invitation.created_at,
            Response.state.label("response_state"),
            _reached().label("reached"),
            _opted_out_while_open().label("opted_out"),
            _reminded().label("reminded"),
            _reminded(before=Response.started_at).label("reminded_before_start"),
            *segment_columns(),
            SurveyVersion.survey_id,
        )
        .select_from(Invitation)
        .join(Interaction, Invitation.interaction_id == Interaction.id)
        .join(SurveyVersion, Invitation.survey_version_id == SurveyVersion.id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
    )


def segment_columns(of: Any = Interaction) -> list[sa.ColumnElement[Any]]:
    """The interaction's segment fields, 0 or '' for none (the rollup's key holds no NULL).

    :param of: the mapped class, or its table's columns (``Interaction.__table__.c``) for Core.
    """
    return [
        sa.func.coalesce(of.business_line_id, 0).label("business_line_id"),
        sa.func.coalesce(of.team_id, 0).label("team_id"),
        sa.func.coalesce(of.agent_id, 0).label("agent_id"),
        sa.func.coalesce(of.channel, "").label("channel"),
        sa.func.coalesce(of.type, "").label("interaction_type"),
        sa.func.coalesce(of.category, "").label("category"),
        sa.func.coalesce(of.complaint_cause, "").label("cause"),
    ]


INTERACTION_FIELDS = (
    "business_line_id",
    "team_id",
    "agent_id",
    "channel",
    "interaction_type",
    "category",
    "cause",
)


def channel_of(row: Any) -> str:
    """The survey channel an invitation is counted under: where it went out, or would first."""
    if row.sent_channel:
        return str(row.sent_channel)
    return str(row.channels[0]) if row.channels else ""


def stages_of(row: Any) -> int:
    """Which steps an invitation reached, as bits in COUNTERS order."""
    reached = {"invited"}
    if row.state == "cancelled" and row.suppression_reason in SUPPRESSION_REASONS:
        reached.add(f"suppressed_{row.suppression_reason}")
    if row.sent_at is not None:
        reached.add("sent")
    if row.state == "failed":
        reached.add("failed")
    if row.opened_at is not None:
        reached.add("opened")
    if row.response_state is not None:
        reached.add("started")
    if row.sent_at is not None and (row.reached or reached & {"opened", "started"}):
        reached.add("delivered")
    if row.response_state in ("completed", "closed_partial"):
        reached.add(str(row.response_state))
    if row.opted_out:
        reached.add("opted_out")
    if row.reminded:
        reached.add("reminded")
    if row.response_state == "completed" and row.reminded_before_start:
        reached.add("completed_after_reminder")
    return sum(BIT[name] for name in reached)


def counts_of(stages: int) -> dict[str, int]:
    """The counters one invitation adds: 1 for each step it reached."""
    return {name: 1 for name, bit in BIT.items() if stages & bit}


def key_of(row: Any, survey_channel: str) -> dict[str, Any]:
    """The rollup row an invitation is counted in: its day (cohort), channel and segment."""
    return {
        "day": cohort_day(row.created_at),
        "survey_channel": survey_channel,
        **{name: getattr(row, name) for name in INTERACTION_FIELDS},
        "survey_id": row.survey_id,
    }


def cohort_day(created_at: Any) -> date:
    """The bank's day an invitation (or a suppressed interaction) is counted on."""
    return local_day(created_at)
