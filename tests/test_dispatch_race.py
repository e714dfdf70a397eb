"""Interactions that arrive together: both may pass the frequency check at intake, but only the
first to be sent reaches the customer; the later one is cancelled as ``frequency``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Invitation, OutboxMessage
from tests.fixtures.dispatch import in_threads, interaction_body

NOON = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _customer(external_id: str, phone: str | None = None, email: str | None = None) -> dict:
    return {"external_id": external_id, "phone": phone, "email": email, "timezone": "Asia/Shanghai"}


@pytest.fixture
def both_passed_intake(post_interaction, dispatch_ready):
    """Post two interactions as if they had raced past the frequency check; return their ids.

    The window is shut while they are posted (what a race amounts to) and open again after.
    """

    def post(first: dict, second: dict) -> list[int]:
        settings.put("frequency_window_days", 0)
        db.session.commit()
        ids = []
        for n, customer in enumerate((first, second)):
            clock.freeze(NOON + timedelta(minutes=n))
            body = interaction_body(
                external_id=f"CALL-{n}", occurred_at=clock.now().isoformat(), customer=customer
            )
            answer = post_interaction(body).get_json()
            assert answer["suppression_reason"] is None
            ids.append(answer["invitation"]["id"])
        settings.put("frequency_window_days", 30)
        db.session.commit()
        return ids

    return post


def _outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage)))


def test_the_later_of_two_invitations_that_passed_intake_is_cancelled_as_frequency(
    both_passed_intake, client, api_key
):
    first, second = both_passed_intake(
        _customer("C-1", "+8613800138000"), _customer("C-1", "+8613800138000")
    )
    assert sending.send_invitation(first) == "sent"
    assert sending.send_invitation(second) == "cancelled"
    assert len(_outbox()) == 1
    shown = client.get(
        f"/api/v1/invitations/{second}", headers={"Authorization": f"Bearer {api_key}"}
    ).get_json()
    assert (shown["state"], shown["suppression_reason"]) == ("cancelled", "frequency")
    assert shown["deliveries"] == []


def test_two_customers_sharing_a_phone_sent_at_once_get_one_survey(app, both_passed_intake):
    ids = both_passed_intake(
        _customer("C-WANG", "+8613800138000"), _customer("C-SPOUSE", "+8613800138000")
    )
    results = in_threads(app, [lambda i=i: sending.send_invitation(i) for i in ids])
    assert sorted(results) == ["cancelled", "sent"]
    assert len(_outbox()) == 1
    db.session.expire_all()
    cancelled = db.session.scalar(sa.select(Invitation).where(Invitation.state == "cancelled"))
    assert cancelled.suppression_reason == "frequency"


def test_a_survey_sent_outside_the_window_does_not_cancel_a_later_one(both_passed_intake):
    first, second = both_passed_intake(
        _customer("C-1", "+8613800138000"), _customer("C-1", "+8613800138000")
    )
    assert sending.send_invitation(first) == "sent"
    settings.put("frequency_window_days", 1)
    db.session.commit()
    clock.advance(timedelta(days=2))
    assert sending.send_invitation(second) == "sent"


def test_interactions_posted_together_reach_the_customer_once(
    app, dispatch_ready, api_key, post_interaction
):
    clock.freeze(NOON)
    # Another customer's interaction first, so the agent exists before the burst.
    post_interaction(
        interaction_body(external_id="WARM-UP", customer=_customer("C-0", "+85291234567"))
    )
    customer = _customer("C-1", "+8613800138000", "wang@example.cn")

    def post(n: int):
        def work():
            body = interaction_body(
                external_id=f"CALL-{n}", occurred_at=NOON.isoformat(), customer=customer
            )
            response = app.test_client().post(
                "/api/v1/interactions", json=body, headers={"Authorization": f"Bearer {api_key}"}
            )
            return response.get_json()["invitation"]

        return work

    answers = in_threads(app, [post(n) for n in range(4)])
    ids = [a["id"] for a in answers if a is not None]
    assert ids  # at least one passed intake; any number may have
    in_threads(app, [lambda i=i: sending.send_invitation(i) for i in ids])
    assert len(_outbox()) == 1
