"""Replay the dispatcher over the demo interactions: who was asked, how, and who answered.

The replay keeps the product's contact rules (DESIGN.md, rule 3): no survey
while a complaint is open, one survey per customer or address per frequency
window, none to an opted-out customer, nothing outside allowed hours in the
customer's zone. Every invitation ends sent, completed, expired or failed:
the demo leaves nothing for the worker to send to its made-up numbers.
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from survey.demo.interactions import DemoInteraction
from survey.demo.org import SurveySetup
from survey.demo.people import Customers, DemoCustomer

# Chance that a delivered invitation is answered, by how it reached the customer.
ANSWER_RATE = {"voice": 0.55, "sms_two_way": 0.36, "sms_link": 0.27, "email": 0.2}
PARTIAL = 0.05  # answers begun and abandoned
VOICE_PICKED_UP = 0.7
SMS_FAILURES = (
    ("undelivered", "30005 Unknown destination handset", 0.02),
    ("failed", "30003 Unreachable destination handset", 0.02),
)
EMAIL_FAILURE = 0.02
STOP_REPLY = 0.008
UNSUBSCRIBE_CLICK = 0.004


@dataclass(slots=True)
class PlannedResponse:
    survey_channel: str
    started_at: datetime
    completed_at: datetime | None


@dataclass(slots=True)
class PlannedInvitation:
    interaction: DemoInteraction
    rule_id: int
    channels: list[str]
    sms_mode: str
    scheduled_at: datetime
    expires_at: datetime
    channel: str | None = None
    state: str = "sent"
    sent_at: datetime | None = None
    opened_at: datetime | None = None
    completed_at: datetime | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    response: PlannedResponse | None = None
    opt_out: dict[str, Any] | None = None
    id: int = 0


NEVER = -(2**31)  # "not yet" in the compact per-customer and per-address memory below


class Dispatcher:
    """Decide each interaction's invitation or suppression reason, in the order they fall due.

    The caller hands interactions over in the order they fall due (see :func:`due`) and
    registers every complaint when it is opened. What the replay remembers is compact: the
    last invitation per customer and per address as seconds in two arrays (4 bytes each),
    opt-outs (a few per thousand invitations) and the complaints still open.
    """

    def __init__(
        self,
        rng: random.Random,
        setup: SurveySetup,
        as_of: datetime,
        window_days: int,
        link_hours: int,
        allowed: tuple[time, time],
        customers: Customers,
        default_zone: str,
    ) -> None:
        self.rng, self.setup, self.as_of = rng, setup, as_of
        self.window = window_days * 86400
        self.link_hours, self.allowed = link_hours, allowed
        self.customers, self.default_zone = customers, default_zone
        # Seconds since the epoch fit 32 bits for the 3 years of history and a window before them.
        self.epoch = int(as_of.timestamp()) - 5 * 365 * 86400
        self.last_by_customer = array("i", [NEVER]) * customers.count
        self.last_by_address = array("i", [NEVER]) * (2 * customers.count)
        self.opted_out: dict[tuple[str, int], datetime] = {}
        self.open_complaints: dict[int, list[DemoInteraction]] = {}

    def register_complaint(self, interaction: DemoInteraction) -> None:
        """Remember a complaint from when it is opened: it holds the customer's surveys."""
        self.open_complaints.setdefault(interaction.customer.id, []).append(interaction)

    def forget_resolved(self, before: datetime) -> None:
        """Forget complaints resolved by ``before``: nothing falling due later can be held by them."""
        for customer_id in list(self.open_complaints):
            still = [
                c
                for c in self.open_complaints[customer_id]
                if c.resolved_at is None or c.resolved_at > before
            ]
            if still:
                self.open_complaints[customer_id] = still
            else:
                del self.open_complaints[customer_id]

    def _slots(self, customer: DemoCustomer) -> list[tuple[array, int]]:
        first = self.customers.first_address_id
        slots = [(self.last_by_customer, customer.id - self.customers.first_id)]
        slots += [
            (self.last_by_address, a - first) for a in (customer.phone_id, customer.email_id) if a
        ]
        return slots

    def decide(self, interaction: DemoInteraction) -> PlannedInvitation | None:
        """Return the interaction's invitation, or None with its suppression reason set.

        None without a reason: the survey falls due after the demo's last moment (not sent yet).
        """
        at = due(interaction)
        customer = interaction.customer
        if at is None:
            interaction.suppression_reason = "open_complaint"
            return None
        keys = [("customer", customer.id)] + [
            ("address", a) for a in (customer.phone_id, customer.email_id) if a
        ]
        if any(k in self.opted_out and self.opted_out[k] <= at for k in keys):
            interaction.suppression_reason = "opted_out"
            return None
        slots = self._slots(customer)
        seconds = int(at.timestamp()) - self.epoch
        if any(seconds - memory[i] < self.window for memory, i in slots):
            interaction.suppression_reason = "frequency"
            return None
        if any(
            other is not interaction
            and other.opened_at <= at  # type: ignore[operator]
            and (other.resolved_at is None or at < other.resolved_at)
            for other in self.open_complaints.get(customer.id, ())
        ):
            interaction.suppression_reason = "open_complaint"
            return None
        complaint = interaction.type == "complaint"
        if (
            (customer.phone_id is None)
            if complaint
            else not (customer.phone_id or customer.email_id)
        ):
            interaction.suppression_reason = "no_contact"
            return None
        delay = timedelta(minutes=60 if complaint else 0)
        zone = ZoneInfo(customer.timezone or self.default_zone)
        scheduled = _allowed(at + delay, zone, self.allowed)
        if scheduled > self.as_of:
            return None  # falls due after the demo's last moment: not sent yet, not suppressed
        setup = self.setup
        invitation = PlannedInvitation(
            interaction=interaction,
            rule_id=setup.complaint_rule_id if complaint else setup.default_rule_id,
            channels=["voice", "sms"] if complaint else ["sms", "email"],
            # Mainland-China numbers can only get a link (no two-way SMS there), whatever the
            # rule prefers; the invitation records the mode it actually used.
            sms_mode="two_way"
            if complaint and not (customer.phone or "").startswith("+86")
            else "link",
            scheduled_at=scheduled,
            expires_at=scheduled + timedelta(hours=self.link_hours),
        )
        scheduled_seconds = int(scheduled.timestamp()) - self.epoch
        for memory, i in slots:
            memory[i] = scheduled_seconds
        _send(self.rng, invitation, self.as_of)
        _answer(self.rng, invitation, self.as_of)
        opt_out = _maybe_opt_out(self.rng, invitation, self.as_of)
        if opt_out:
            invitation.opt_out = opt_out
            self.opted_out.setdefault(("customer", customer.id), opt_out["created_at"])
            self.opted_out.setdefault(("address", opt_out["address_id"]), opt_out["created_at"])
        return invitation


def due(interaction: DemoInteraction) -> datetime | None:
    """When the interaction's survey falls due: a complaint's once resolved, others' at once."""
    if interaction.type == "complaint":
        return interaction.resolved_at
    return interaction.occurred_at + timedelta(minutes=5)


def _allowed(at: datetime, zone: ZoneInfo, allowed: tuple[time, time]) -> datetime:
    """Defer a moment outside the allowed hours in the customer's zone to the next opening."""
    local = at.astimezone(zone)
    start, end = allowed
    if start <= local.time() < end:
        return at
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, zone).astimezone(UTC)


def _delivery(
    rng: random.Random,
    channel: str,
    address: str | None,
    at: datetime,
    state: str,
    error: str | None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "address": address,
        "provider": "outbox",
        "provider_id": f"demo-{rng.getrandbits(64):016x}",
        "state": state,
        "error": error,
        "created_at": at,
        "updated_at": at + timedelta(seconds=rng.randint(2, 40)),
    }


def _send(rng: random.Random, invitation: PlannedInvitation, as_of: datetime) -> None:
    """Try the channels in order until one reaches the customer."""
    customer = invitation.interaction.customer
    at = invitation.scheduled_at + timedelta(seconds=rng.randint(1, 30))
    deliveries = invitation.deliveries
    if invitation.channels[0] == "voice":
        if rng.random() < VOICE_PICKED_UP:
            deliveries.append(_delivery(rng, "voice", customer.phone, at, "delivered", None))
        else:
            error = rng.choice(("no-answer", "busy"))
            deliveries.append(_delivery(rng, "voice", customer.phone, at, "failed", error))
            at += timedelta(minutes=2)
            deliveries.append(_sms(rng, customer.phone, at))
    else:
        if customer.phone_id:
            deliveries.append(_sms(rng, customer.phone, at))
        if customer.email_id and (not deliveries or deliveries[-1]["error"]):
            at += timedelta(minutes=1 if deliveries else 0)
            failed = rng.random() < EMAIL_FAILURE
            state, error = ("failed", "550 Mailbox unavailable") if failed else ("sent", None)
            deliveries.append(_delivery(rng, "email", customer.email, at, state, error))
    last = deliveries[-1]
    if last["error"]:
        invitation.state = "failed"
        return
    invitation.channel = last["channel"]
    invitation.sent_at = last["created_at"]
    invitation.expires_at = invitation.sent_at + (invitation.expires_at - invitation.scheduled_at)
    invitation.state = "expired" if invitation.expires_at <= as_of else "sent"


def _sms(rng: random.Random, phone: str | None, at: datetime) -> dict[str, Any]:
    roll = rng.random()
    for state, error, share in SMS_FAILURES:
        if roll < share:
            return _delivery(rng, "sms", phone, at, state, error)
        roll -= share
    return _delivery(rng, "sms", phone, at, "delivered", None)


def _answer(rng: random.Random, invitation: PlannedInvitation, as_of: datetime) -> None:
    """Decide whether, where and when the customer answered."""
    if invitation.sent_at is None:
        return
    way = invitation.channel
    if way == "sms":
        way = "sms_two_way" if invitation.sms_mode == "two_way" else "sms_link"
    reached = invitation.deliveries[-1] if invitation.deliveries else None
    # Opened as the product counts it: a two-way SMS delivered, a survey call picked up.
    if (
        way in ("voice", "sms_two_way")
        and reached
        and reached["state"] == "delivered"
        and reached["updated_at"] <= as_of
    ):
        invitation.opened_at = reached["updated_at"]
    if rng.random() >= ANSWER_RATE[way]:
        if way in ("sms_link", "email") and rng.random() < 0.15:
            invitation.opened_at = invitation.sent_at + timedelta(minutes=rng.uniform(1, 300))
            if invitation.opened_at > min(as_of, invitation.expires_at):
                invitation.opened_at = None
        return
    survey_channel = {"voice": "voice", "sms_two_way": "sms"}.get(way, "web")
    if survey_channel == "voice":
        started = invitation.sent_at + timedelta(seconds=rng.randint(15, 40))
    elif survey_channel == "sms":
        started = invitation.sent_at + timedelta(minutes=10 * math.exp(rng.gauss(0, 1.0)))
    else:
        started = invitation.sent_at + timedelta(minutes=45 * math.exp(rng.gauss(0, 1.4)))
    if started >= min(as_of, invitation.expires_at - timedelta(minutes=10)):
        return
    completed = started + timedelta(seconds=rng.randint(40, 240))
    if rng.random() < PARTIAL or completed > as_of:
        completed = None
    invitation.opened_at = min(started, invitation.opened_at or started)
    invitation.response = PlannedResponse(survey_channel, started, completed)
    if completed is not None:
        invitation.state = "completed"
        invitation.completed_at = completed


def _maybe_opt_out(
    rng: random.Random, invitation: PlannedInvitation, as_of: datetime
) -> dict[str, Any] | None:
    """A few customers reply STOP (or 退订) to the SMS, or click unsubscribe in the e-mail."""
    if invitation.sent_at is None or invitation.state == "completed":
        return None
    customer = invitation.interaction.customer
    at = invitation.sent_at + timedelta(minutes=rng.uniform(1, 120))
    if at > as_of:
        return None
    if invitation.channel == "sms" and rng.random() < STOP_REPLY:
        keyword = "STOP" if customer.locale == "en" else "退订"
        return {"address_id": customer.phone_id, "customer_id": customer.id, "method": "keyword",
                "source": keyword, "created_at": at}  # fmt: skip
    if invitation.channel == "email" and rng.random() < UNSUBSCRIBE_CLICK:
        return {"address_id": customer.email_id, "customer_id": customer.id, "method": "link",
                "source": "unsubscribe link", "created_at": at}  # fmt: skip
    return None
