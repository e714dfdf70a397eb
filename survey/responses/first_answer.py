"""A survey link's first answer on PostgreSQL in one statement: one round trip, one transaction.

``answers.begin_with`` on a connection of its own writes five things: the guarded hold of
the invitation (opened too), the response row, the answer row, the funnel record's move to
"started" and the rollup row's counters. Run one after another in a transaction, that is
seven round trips with BEGIN and COMMIT, each a wait on a server that shares the machine's
cores (bench/RESULTS.md, branch pg-survey). Here they are one statement of CTEs, run outside
a transaction (so its own): the hold and the funnel's move are one guarded UPDATE of the
invitation (PostgreSQL updates a row once a statement), and the response, the answer and the
rollup row are written only when that UPDATE took the row. So either all five are written
or none: the caller then takes the usual way, as when the separate statements said no.

A response begun meanwhile (another tab, another channel) still makes the response's insert
fail on its unique invitation, and the whole statement with it.

SQLite has no writing CTEs: ``begin_in_four`` writes the same in four statements of one
transaction, the hold and the funnel's move still one UPDATE.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from survey.funnel.keeping import (
    BEGUN_BITS,
    add_to_invitations_row,
    adding_one,
    newly_begun,
    rollup_key,
    start_to_count,
)
from survey.models import Answer, Invitation, Response
from survey.models.funnel import FunnelRollup

_INVITATION = Invitation.__table__
_RESPONSE = Response.__table__
_ANSWER = Answer.__table__
_ROLLUP = FunnelRollup.__table__
# One statement per (steps newly counted, answer columns): a handful in all, built once each.
_STATEMENTS: dict[tuple[tuple[str, ...], tuple[str, ...]], sa.Select] = {}


def begin_in_one(
    connection: Any,
    invitation: Any,
    columns: dict[str, Any],
    channel: str,
    locale: str,
    now: datetime,
) -> bool:
    """Begin the invitation's response with its first answer (``columns``) in one statement.

    True when everything was written and committed. False, with nothing written, when the
    invitation no longer takes answers, was never counted in the funnel, was counted as
    started already, or its funnel record moved since it was read: the caller takes the
    usual way. ``connection`` is the survey link's own, outside a transaction.
    """
    start = start_to_count(invitation)
    if start is None:
        return False
    known, counted_on = start
    added = newly_begun(known)
    answer_keys = tuple(sorted(columns))
    statement = _STATEMENTS.get((added, answer_keys))
    if statement is None:
        statement = _STATEMENTS[(added, answer_keys)] = _beginning(added, answer_keys)
    row = connection.execute(
        statement,
        {
            **_held_parameters(invitation, known, counted_on, now),
            "r_version_id": invitation.survey_version_id,
            "r_channel": channel,
            "r_locale": locale,
            **{f"a_{name}": value for name, value in columns.items()},
            **rollup_key(invitation, counted_on),
        },
    ).one_or_none()
    if row is None or row[0] != 1:
        return False
    if row[1] != 1:  # the hold took the row, so the answer was written: never otherwise
        raise RuntimeError(f"invitation {invitation.id}: its first answer was not written")
    invitation.funnel_stages = known | BEGUN_BITS
    if invitation.opened_at is None:
        invitation.opened_at = now
    return True


def _held_parameters(invitation: Any, known: int, counted_on: str, now: datetime) -> dict:
    """The hold's parameters: the link, the time, and its funnel record's move to started."""
    return {
        "invitation_id": invitation.id,
        "now": now,
        "was_stages": known,
        "was_channel": counted_on,
        "to_stages": known | BEGUN_BITS,
    }


def begin_in_four(
    connection: Any,
    invitation: Any,
    columns: dict[str, Any],
    channel: str,
    locale: str,
    now: datetime,
) -> bool:
    """SQLite: ``begin_in_one``'s writes as four statements in the caller's transaction.

    SQLite has no writing CTEs, but the hold and the funnel record's move are still one
    guarded UPDATE of the invitation (``_HELD``); the response, the answer and the rollup
    row follow only when it took the row. True when all were written (the caller commits);
    False, with nothing written, as ``begin_in_one``. ``connection`` is the survey link's own.
    """
    from survey.responses.answers import begin_response

    start = start_to_count(invitation)
    if start is None:
        return False
    known, counted_on = start
    held = connection.execute(_held(), _held_parameters(invitation, known, counted_on, now))
    if held.rowcount != 1:
        return False
    begin_response(connection, invitation, columns, channel, locale, now)
    add_to_invitations_row(invitation, counted_on, newly_begun(known), connection)
    invitation.funnel_stages = known | BEGUN_BITS
    if invitation.opened_at is None:
        invitation.opened_at = now
    return True


_HELD: list[sa.Update] = []


def _held() -> sa.Update:
    """The hold of an invitation still taking answers and its funnel record's move, one UPDATE."""
    if not _HELD:
        _HELD.append(_holding(sa.bindparam("now", type_=_INVITATION.c.opened_at.type)))
    return _HELD[0]


def _holding(now: sa.BindParameter[datetime]) -> sa.Update:
    invitation = _INVITATION.c
    from survey.responses.answers import taking_answers

    return (
        sa.update(_INVITATION)
        .where(
            *taking_answers(sa.bindparam("invitation_id"), now, invitation),
            invitation.funnel_stages == sa.bindparam("was_stages"),
            invitation.funnel_channel == sa.bindparam("was_channel"),
        )
        # What the hold writes (opened, and its row's updated_at as the hold's onupdate),
        # and the funnel record's move.
        .values(
            opened_at=sa.func.coalesce(invitation.opened_at, now),
            updated_at=now,
            funnel_stages=sa.bindparam("to_stages"),
        )
    )


def _beginning(added: tuple[str, ...], answer_keys: tuple[str, ...]) -> sa.Select:
    """The statement: the held invitation, the response, the answer, the counted rollup row."""
    invitation = _INVITATION.c
    now = sa.bindparam("now", type_=invitation.opened_at.type)
    held = _holding(now).returning(invitation.id).cte("held")
    response = _RESPONSE.c
    begun = (
        sa.insert(_RESPONSE)
        .from_select(
            [
                "invitation_id",
                "survey_version_id",
                "survey_channel",
                "locale",
                "state",
                "started_at",
                "updated_at",
            ],
            sa.select(
                held.c.id,
                sa.bindparam("r_version_id", type_=response.survey_version_id.type),
                sa.bindparam("r_channel", type_=response.survey_channel.type),
                sa.bindparam("r_locale", type_=response.locale.type),
                sa.literal("partial", type_=response.state.type),
                now,
                now,
            ),
            include_defaults=False,
        )
        .returning(response.id)
        .cte("begun")
    )
    answered = (
        sa.insert(_ANSWER)
        .from_select(
            ["response_id", *answer_keys],
            sa.select(
                begun.c.id,
                *(sa.bindparam(f"a_{name}", type_=_ANSWER.c[name].type) for name in answer_keys),
            ),
            include_defaults=False,
        )
        .returning(_ANSWER.c.id)
        .cte("answered")
    )
    counted = (
        adding_one(added)
        .where(sa.exists(sa.select(held.c.id)))
        .returning(_ROLLUP.c.day)
        .cte("counted")
    )
    return sa.select(
        sa.select(sa.func.count()).select_from(held).scalar_subquery().label("held"),
        sa.select(sa.func.count()).select_from(answered).scalar_subquery().label("answered"),
    ).add_cte(counted)
