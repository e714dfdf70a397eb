"""Intake's rows written as plain INSERTs: stored as the unit of work stored them, in few statements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.funnel import rebuilding
from survey.models import FunnelRollup, Interaction, Invitation
from tests.fixtures.dispatch import interaction_body
from tests.sent import statements_sent

WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")


def _writes(sent: list[tuple[str, Any]]) -> list[str]:
    """The statements that write (their words on one line), as the database received them."""
    words = (" ".join(statement.split()) for statement, _parameters in sent)
    return [w for w in words if w.upper().startswith(WRITES)]


def _rows_written(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if f"INSERT INTO {table} " in s or f"UPDATE {table} " in s]


def test_an_invitation_written_directly_is_stored_whole_and_counted_once(
    post_interaction: Callable[..., Any], dispatch_ready: Any
) -> None:
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    answer = post_interaction(interaction_body())
    assert answer.status_code == 201
    invitation = db.session.get(Invitation, answer.get_json()["invitation"]["id"])
    interaction = db.session.get(Interaction, answer.get_json()["id"])
    assert invitation.interaction_id == interaction.id
    assert invitation.customer_id == interaction.customer_id
    # The columns the ORM's flush would have filled from their defaults.
    assert invitation.sms_misses == 0 and invitation.state == "scheduled"
    assert invitation.created_at == invitation.updated_at == clock.now()
    assert interaction.created_at == clock.now()
    assert (invitation.funnel_channel, invitation.funnel_stages) == ("sms", 1)
    kept = {tuple(getattr(r, c) for c in ("day", "survey_id", "invited")) for r in _rollup()}
    rebuilding.rebuild()
    assert {
        tuple(getattr(r, c) for c in ("day", "survey_id", "invited")) for r in _rollup()
    } == kept


def _rollup() -> list[FunnelRollup]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(FunnelRollup)))


def test_a_post_writes_interaction_invitation_and_rollup_in_one_statement_on_postgresql(
    post_interaction: Callable[..., Any], dispatch_ready: Any
) -> None:
    """On PostgreSQL one round trip writes all three; on SQLite three plain statements."""
    post_interaction(interaction_body(external_id="FIRST"))  # stores the customer and addresses
    other = interaction_body(external_id="SECOND")
    # Another customer at other addresses: invited too, counted in the row the first made.
    other["customer"] = {
        **other["customer"],
        "external_id": "C-2",
        "phone": "+8613900139000",
        "email": "li@example.cn",
    }
    with statements_sent() as sent:
        answer = post_interaction(other)
    seen = _writes(sent)
    assert answer.status_code == 201 and answer.get_json()["invitation"] is not None
    if db.engine.dialect.name == "postgresql":
        together = [s for s in seen if "INSERT INTO interaction " in s]
        assert len(together) == 1
        assert (
            "INSERT INTO invitation " in together[0] and "INSERT INTO funnel_rollup " in together[0]
        )
    else:
        assert len(_rows_written(seen, "interaction")) == 1
        assert len(_rows_written(seen, "invitation")) == 1
        assert len(_rows_written(seen, "funnel_rollup")) == 1  # the UPDATE found the row


def test_a_customer_posted_again_unchanged_is_not_written_again(
    post_interaction: Callable[..., Any], dispatch_ready: Any
) -> None:
    post_interaction(interaction_body(external_id="FIRST"))
    with statements_sent() as sent:
        again = post_interaction(interaction_body(external_id="AGAIN"))
    seen = _writes(sent)
    assert again.status_code == 201 and again.get_json()["suppression_reason"] == "frequency"
    assert not [s for s in seen if "customer" in s.split("(")[0] or "address" in s.split("(")[0]]
    renamed = interaction_body(external_id="RENAMED")
    renamed["customer"] = {**renamed["customer"], "name": "王芳芳"}
    with statements_sent() as sent:
        assert post_interaction(renamed).status_code == 201
    assert [s for s in _writes(sent) if s.startswith("UPDATE customer ")]
