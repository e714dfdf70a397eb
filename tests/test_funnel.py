"""The response funnel's rollup: kept as invitations change, counted once, equal to a rebuild.

A mixed day at the bank goes through the real paths (the API, the sender, Twilio's signed
status and voice webhooks, SMS replies, the survey page, the sweep): sends, a fallback after
an undelivered SMS, a failure, a reminder, an opt-out, a partial closed, completions and
suppressions at intake and at send. The rollup kept along the way must equal the one
rebuilt from the raw rows, and say what happened.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from survey import clock
from survey.dispatch import sending
from survey.extensions import db
from survey.funnel import keeping, rebuilding
from survey.models import FunnelRollup, Invitation
from survey.models.funnel import COUNTERS, SEGMENT_COLUMNS
from survey.responses import optouts
from tests.fixtures.dispatch import interaction_body, sweep_at
from tests.opening import written
from tests.test_respond_steps import STEPS, step

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai and Hong Kong


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


def rollup_rows() -> dict[tuple[Any, ...], dict[str, int]]:
    """Every rollup row with a count, by its key."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(FunnelRollup)).all()
    found = {}
    for row in rows:
        counts = {c: getattr(row, c) for c in COUNTERS if getattr(row, c)}
        if counts:
            found[tuple(getattr(row, c) for c in SEGMENT_COLUMNS)] = counts
    return found


def totals(channel: str | None = None) -> dict[str, int]:
    """The counters summed over every row (of one survey channel)."""
    summed = dict.fromkeys(COUNTERS, 0)
    for key, counts in rollup_rows().items():
        if channel is None or key[1] == channel:
            for name, value in counts.items():
                summed[name] += value
    return {name: value for name, value in summed.items() if value}


@pytest.fixture
def bank(make_org, make_default_rule, make_published_survey):
    """Rules in order: chats get a call, branch visits a two-way SMS, loans are sampled out,
    everything else an SMS link then e-mail with a reminder after 24 hours."""
    make_org()
    survey = make_published_survey()
    make_default_rule(survey, filters={"channel": ["chat"]}, channels=["voice"])
    make_default_rule(survey, filters={"channel": ["branch"]}, channels=["sms"], sms_mode="two_way")
    make_default_rule(survey, filters={"category": ["loan"]}, sample_rate=0.0)
    make_default_rule(survey, channels=["sms", "email"], reminder_hours=24)
    return survey


@pytest.fixture
def post(post_interaction):
    """Post one interaction for a customer of its own; return the invitation id (or None)."""
    serial = iter(range(1, 100))

    def make(
        phone: bool = True, email: bool = False, customer: str | None = None, **fields: Any
    ) -> int | None:
        n = next(serial)
        clock.freeze(NOW)
        person: dict[str, Any] = {
            "external_id": customer or f"C-{n}",
            "locale": "en",
            "timezone": "Asia/Hong_Kong",
        }
        if phone:
            person["phone"] = f"+852912345{n:02d}"
        if email:
            person["email"] = f"c{n}@example.cn"
        body = interaction_body(external_id=f"CALL-{n}", customer=person, **fields)
        answer = post_interaction(body)
        assert answer.status_code == 201, answer.get_json()
        invitation = answer.get_json()["invitation"]
        return invitation["id"] if invitation else None

    return make


def send(invitation_id: int) -> Invitation:
    assert sending.send_invitation(invitation_id) == "sent"
    db.session.expire_all()
    return db.session.get_one(Invitation, invitation_id)


def status(twilio_post, invitation: Invitation, value: str, **extra: str) -> None:
    delivery = invitation.deliveries[-1]
    answer = twilio_post(
        "/webhooks/twilio/status", MessageSid=delivery.provider_id, MessageStatus=value, **extra
    )
    assert answer.status_code == 204
    db.session.expire_all()


def test_the_kept_funnel_equals_a_rebuild_after_a_mixed_day(bank, post, client, twilio_post, reply):
    # Completed on the web after a delivered SMS link; the page opened twice.
    completed = send(post())
    status(twilio_post, completed, "delivered")
    status(twilio_post, completed, "delivered")  # Twilio repeats itself
    assert client.get(f"/s/{completed.token}").status_code == 200
    assert client.get(f"/s/{completed.token}").status_code == 200
    for key, value in STEPS:
        step(client, completed, key, value)
    step(client, completed, "comment", "")

    # Undelivered by SMS, sent again by e-mail, opened, one answer, then left.
    fell_back = send(post(email=True))
    status(twilio_post, fell_back, "undelivered", ErrorCode="30003")
    fell_back = send(fell_back.id)
    assert fell_back.channel == "email"
    step(client, fell_back, *STEPS[0])

    # E-mail only: reminded a day later, answered after the reminder.
    reminded = send(post(phone=False, email=True))

    # The SMS could not be delivered and there is no other channel: failed.
    failed = send(post())
    status(twilio_post, failed, "failed", ErrorCode="30005")

    # STOP in reply to the survey's SMS.
    stopped = send(post())
    assert reply("STOP", sender=stopped.deliveries[0].address).status_code == 200

    # A two-way SMS: delivered (so opened), one reply, then silence.
    two_way = send(post(channel="branch"))
    status(twilio_post, two_way, "delivered")
    assert reply("5", sender=two_way.deliveries[0].address).status_code == 200

    # A survey call picked up, one key pressed.
    called = send(post(channel="chat"))
    answer = twilio_post(
        f"/webhooks/twilio/voice/{called.id}",
        CallSid=called.deliveries[0].provider_id,
        AnsweredBy="human",
        CallStatus="in-progress",
    )
    action = urlsplit(ET.fromstring(answer.get_data()).find("Gather").get("action"))
    pressed = twilio_post(
        f"{action.path}?{action.query}", CallSid=called.deliveries[0].provider_id, Digits="4"
    )
    assert pressed.status_code == 200

    # Cancelled unsent: the customer opted out between the decision and the send.
    cancelled_id = post()
    cancelled = db.session.get_one(Invitation, cancelled_id)
    optouts.opt_out("link", "test", customer=cancelled.customer)
    db.session.commit()
    assert sending.send_invitation(cancelled_id) == "cancelled"

    # Suppressed at intake: asked too recently, sampled out, nowhere to send it.
    assert post(customer="C-1") is None  # the first customer, again
    assert post(category="loan") is None
    assert post(phone=False) is None

    kept_the_same_day = rollup_rows()
    sweep_at(NOW + timedelta(hours=24, minutes=1))  # the reminder goes
    clock.freeze(NOW + timedelta(hours=25))
    for key, value in STEPS:
        step(client, reminded, key, value)
    step(client, reminded, "comment", "")
    sweep_at(NOW + timedelta(hours=49))  # idle partials are closed (24 hours)

    kept = rollup_rows()
    assert len(kept) >= 3 and kept != kept_the_same_day
    assert rebuilding.rebuild() == len(kept)
    assert rollup_rows() == kept

    sms, email, voice = totals("sms"), totals("email"), totals("voice")
    assert sms == {
        "invited": 5,  # completed, failed, stopped, two-way, cancelled (the fallback is e-mail's)
        "suppressed_opted_out": 1,
        "sent": 4,
        "failed": 1,
        "delivered": 2,
        "opened": 2,
        "started": 2,
        "completed": 1,
        "closed_partial": 1,
        "opted_out": 1,
    }
    assert email == {
        "invited": 2,
        "sent": 2,
        "delivered": 2,
        "opened": 2,
        "started": 2,
        "completed": 1,
        "closed_partial": 1,
        "reminded": 1,
        "completed_after_reminder": 1,
    }
    assert voice == {
        "invited": 1,
        "sent": 1,
        "delivered": 1,
        "opened": 1,
        "started": 1,
        "closed_partial": 1,
    }
    assert totals("") == {
        "suppressed_frequency": 1,
        "suppressed_sampled_out": 1,
        "suppressed_no_contact": 1,
    }


def test_intake_counts_what_a_rebuild_reads_for_new_agents_and_every_outcome(bank, post):
    """Intake counts a post from the rows it is about to insert, not read back: an agent
    new to us (created by the post), a complaint, a sampled-out post and a fallback channel
    still count what a rebuild reads, and leave nothing for a later look to move."""
    invited = [
        post(agent="A-NEW-1"),
        post(email=True, phone=False, agent="A-NEW-2"),
        post(
            type="complaint",
            complaint={
                "opened_at": "2026-11-29T09:00:00+08:00",
                "resolved_at": "2026-11-29T10:00:00+08:00",
                "cause": "process",
            },
        ),
        post(channel="chat"),
    ]
    assert all(invited)
    assert post(category="loan", agent="A-NEW-3") is None  # sampled out, under a new agent
    assert post(customer="C-1") is None  # frequency
    kept = rollup_rows()
    for invitation_id in invited:
        assert keeping.track(invitation_id) is False  # nothing the intake did not count
    db.session.rollback()
    assert totals() == {"invited": 4, "suppressed_sampled_out": 1, "suppressed_frequency": 1}
    assert rebuilding.rebuild() == len(kept)
    assert rollup_rows() == kept


def test_a_repeated_callback_or_a_second_look_counts_nothing_twice(bank, post, client, twilio_post):
    link = send(post())
    two_way = send(post(channel="branch"))
    for _ in range(3):
        status(twilio_post, link, "delivered")
        status(twilio_post, two_way, "delivered")
        assert client.get(f"/s/{link.token}").status_code == 200
        written()  # each look in a batch of its own
    called = send(post(channel="chat"))
    for _ in range(2):  # Twilio retries a webhook it got no answer to
        twilio_post(
            f"/webhooks/twilio/voice/{called.id}",
            CallSid=called.deliveries[0].provider_id,
            AnsweredBy="human",
            CallStatus="in-progress",
        )
    assert totals("sms") == {"invited": 2, "sent": 2, "delivered": 2, "opened": 2}
    assert totals("voice") == {"invited": 1, "sent": 1, "delivered": 1, "opened": 1}
    kept = rollup_rows()
    rebuilding.rebuild()
    assert rollup_rows() == kept


def test_a_link_opened_before_any_receipt_counts_as_delivered_and_opened_once(
    bank, post, client, twilio_post
):
    link = send(post())
    assert client.get(f"/s/{link.token}").status_code == 200  # before Twilio said delivered
    written()
    status(twilio_post, link, "delivered")
    assert totals("sms") == {"invited": 1, "sent": 1, "delivered": 1, "opened": 1}


def test_a_rebuild_read_day_by_day_in_small_batches_equals_the_kept_funnel(bank, post, monkeypatch):
    """The rebuild holds one day and one batch at a time (memory flat at 10M answers): its
    rows and its corrections of drifted records must still equal what was kept."""
    module, today = sys.modules[__name__], NOW
    for days_ago in (2, 1, 0):
        day = today - timedelta(days=days_ago)
        monkeypatch.setattr(module, "NOW", day)
        at = day.isoformat()
        send(post(occurred_at=at))  # an SMS link
        assert post(category="loan", occurred_at=at) is None  # sampled out: a suppression
        send(post(email=True, occurred_at=at))
    kept = rollup_rows()
    assert len({key[0] for key in kept}) == 3  # three days, each with invitations
    assert any(k.startswith("suppressed_") for counts in kept.values() for k in counts)
    records = _records()
    db.session.execute(sa.update(Invitation).values(funnel_channel=None, funnel_stages=0))
    db.session.commit()  # every invitation's record drifted
    monkeypatch.setattr(rebuilding, "BATCH", 2)  # corrections written while the read goes on
    assert rebuilding.rebuild() == len(kept)
    assert rollup_rows() == kept
    assert _records() == records


def _records() -> dict[int, tuple[str | None, int]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Invitation.id, Invitation.funnel_channel, Invitation.funnel_stages)
    )
    return {row.id: (row.funnel_channel, row.funnel_stages) for row in rows}


def test_a_first_answer_counts_started_opened_and_delivered_once_whatever_came_before(
    bank, post, client, twilio_post
):
    unopened = send(post())  # answered without the page being opened first (its form kept)
    opened = send(post())
    assert client.get(f"/s/{opened.token}").status_code == 200
    delivered = send(post())
    status(twilio_post, delivered, "delivered")
    for invitation in (unopened, opened, delivered):
        assert step(client, invitation, "attitude", "4").status_code == 303
        assert step(client, invitation, "wait_time", "3").status_code == 303  # counts nothing more
    assert totals("sms") == {"invited": 3, "sent": 3, "delivered": 3, "opened": 3, "started": 3}
    kept = rollup_rows()
    rebuilding.rebuild()
    assert rollup_rows() == kept
