"""Twilio: SMS through the Messages API and phone callbacks through the Calls API.

Configured by ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN`` with a sender:
``TWILIO_FROM_NUMBER`` or ``TWILIO_MESSAGING_SERVICE_SID`` (SMS prefers the
service, which picks a sender from its pool; a call always needs the number).
Every send asks Twilio to report progress to ``/webhooks/twilio/status``.
Optional: ``TWILIO_TIMEOUT_SECONDS`` (10), ``TWILIO_VALIDITY_SECONDS`` (how long
an SMS may wait in Twilio's queue, 4 hours), ``TWILIO_API_URL``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from survey.channels import messages
from survey.channels.base import (
    ABSENT,
    CANNOT_TELL,
    FOUND,
    LOOKUP_FAILED,
    Lookup,
    Message,
    SendResult,
)
from survey.channels.twilio_client import classify, make_client
from survey.extensions import db
from survey.models import Delivery

log = logging.getLogger(__name__)

# Past its validity Twilio drops a queued SMS instead of delivering it late: a survey that
# lands hours after the call, or in the customer's night, does more harm than none.
DEFAULT_VALIDITY_SECONDS = 4 * 3600
MAX_VALIDITY_SECONDS = 36000  # Twilio's limit
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Our clock and Twilio's may disagree a little; a send is looked for from shortly before
# its delivery row was written.
RECONCILE_SLACK = timedelta(minutes=1)
RECONCILE_LOOKUP_LIMIT = 20


class TwilioChannel:
    """SMS and voice through one Twilio account."""

    name = "twilio"
    carries = ("sms", "voice")

    @staticmethod
    def configured(config: Mapping[str, Any]) -> bool:
        """Twilio is used when the account's credentials and a sender are set."""
        return bool(
            config.get("TWILIO_ACCOUNT_SID")
            and config.get("TWILIO_AUTH_TOKEN")
            and (config.get("TWILIO_FROM_NUMBER") or config.get("TWILIO_MESSAGING_SERVICE_SID"))
        )

    @staticmethod
    def sender(config: Mapping[str, Any], survey_channel: str) -> str:
        """SMS are paced per messaging service or number; calls per account."""
        if survey_channel == "voice":
            return f"twilio:voice:{config.get('TWILIO_ACCOUNT_SID')}"
        sender = config.get("TWILIO_MESSAGING_SERVICE_SID") or config.get("TWILIO_FROM_NUMBER")
        return f"twilio:sms:{sender}"

    def send(self, delivery_id: int, message: Message) -> SendResult:
        """Hand one SMS or call to Twilio and return its SID, or the classified reason it failed."""
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is not None and delivery.provider == self.name and delivery.provider_id:
            return SendResult(ok=True, provider_id=delivery.provider_id)
        config = current_app.config
        if message.channel == "voice" and not config.get("TWILIO_FROM_NUMBER"):
            return SendResult(
                ok=False, error="a phone callback needs TWILIO_FROM_NUMBER (a Twilio voice number)"
            )
        if message.channel == "voice" and not message.twiml_url:
            return SendResult(ok=False, error="the call has no TwiML URL to follow")
        if message.channel not in self.carries:
            return SendResult(ok=False, error=f"Twilio does not carry {message.channel}")
        client = None
        try:
            client = make_client(config)
            if message.channel == "sms":
                sid = client.messages.create(**_sms_parameters(config, message)).sid
            else:
                sid = client.calls.create(**_call_parameters(config, message)).sid
        except Exception as error:  # a channel reports, never raises
            result = classify(error, getattr(client and client.http_client, "retry_after", None))
            log.warning(
                "Twilio %s for delivery %s not sent: %s", message.channel, delivery_id, result.error
            )
            return result
        return SendResult(ok=True, provider_id=sid)

    def look_up(self, delivery_id: int) -> Lookup:
        """Ask Twilio whether a send a crash interrupted reached it; never raises.

        Twilio's recent messages (or calls) to the customer's number from our sender
        are listed and read here. An SMS with a link is ours when its body carries
        the invitation's token; a two-way SMS (no link) or a call is ours when it is
        outbound through the API, created after the delivery row, and not already the
        SID of another delivery (the frequency window rules out a second survey to
        the same number within minutes). The time filter is applied here, not by
        Twilio's DateSent/StartTime filters: a message or call still queued at Twilio
        has neither, and would be missed. When nothing matches and the list reaches
        back past the delivery's start, the message provably never reached Twilio.
        """
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is None or delivery.channel not in self.carries:
            return Lookup(CANNOT_TELL, error="no such Twilio delivery")
        config = current_app.config
        if delivery.channel == "voice" and not config.get("TWILIO_FROM_NUMBER"):
            return Lookup(CANNOT_TELL, error="calls are listed by TWILIO_FROM_NUMBER")
        since = delivery.created_at - RECONCILE_SLACK
        token = _token_sent(delivery)
        try:
            client = make_client(config)
            if delivery.channel == "sms":
                found = _sent_messages(client, config, delivery.address)
            else:
                found = client.calls.list(
                    to=delivery.address,
                    from_=config["TWILIO_FROM_NUMBER"],
                    limit=RECONCILE_LOOKUP_LIMIT,
                )
            recent = [item for item in found if _not_before(item.date_created, since)]
            candidates = [item for item in recent if item.direction == "outbound-api"]
            if token:
                candidates = [item for item in candidates if token in (item.body or "")]
            sid = _unclaimed_earliest(candidates, delivery_id)
        except Exception as error:  # a channel reports, never raises
            log.warning("Twilio look-up of delivery %s failed: %s", delivery_id, error)
            return Lookup(LOOKUP_FAILED, error=f"Twilio look-up failed: {str(error)[:200]}")
        if sid is not None:
            return Lookup(FOUND, provider_id=sid)
        if len(recent) >= RECONCILE_LOOKUP_LIMIT:
            # A full page of newer traffic: the list may not reach back far enough to prove it.
            return Lookup(CANNOT_TELL, error="too many recent messages to this number to tell")
        return Lookup(ABSENT)


def _token_sent(delivery: Delivery) -> str | None:
    """The invitation token an SMS carried in its link, or None (two-way SMS, calls)."""
    if delivery.channel != "sms":
        return None
    invitation = delivery.invitation
    if messages.sms_mode(invitation, delivery.address) == "two_way":
        return None
    return invitation.token


def _status_callback(config: Mapping[str, Any]) -> str:
    return f"{config['SURVEY_PUBLIC_URL'].rstrip('/')}/webhooks/twilio/status"


def _validity_seconds(config: Mapping[str, Any], valid_for: int | None = None) -> int:
    # The message's own (what is left of its link's life, at most the bank's setting), within
    # the operator's cap for this account.
    cap = int(config.get("TWILIO_VALIDITY_SECONDS") or DEFAULT_VALIDITY_SECONDS)
    value = min(valid_for, cap) if valid_for else cap
    return max(1, min(value, MAX_VALIDITY_SECONDS))


def _sms_parameters(config: Mapping[str, Any], message: Message) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "to": message.to,
        "body": message.body,
        "status_callback": _status_callback(config),
        "validity_period": _validity_seconds(config, message.valid_for),
    }
    if config.get("TWILIO_MESSAGING_SERVICE_SID"):
        parameters["messaging_service_sid"] = config["TWILIO_MESSAGING_SERVICE_SID"]
    else:
        parameters["from_"] = config["TWILIO_FROM_NUMBER"]
    return parameters


def _call_parameters(config: Mapping[str, Any], message: Message) -> dict[str, Any]:
    return {
        "to": message.to,
        "from_": config["TWILIO_FROM_NUMBER"],
        "url": message.twiml_url,
        "method": "POST",
        "status_callback": _status_callback(config),
        "status_callback_method": "POST",
        "status_callback_event": CALL_EVENTS,
        # Twilio tells a person from a voicemail greeting; the TwiML and the status
        # callback then carry AnsweredBy, so a machine does not count as reaching them.
        "machine_detection": "Enable",
    }


def _sent_messages(client: Any, config: Mapping[str, Any], to: str) -> list[Any]:
    service = config.get("TWILIO_MESSAGING_SERVICE_SID")
    if service:
        # The service picks the sender from its pool, so filter by the service instead.
        found = client.messages.list(to=to, limit=RECONCILE_LOOKUP_LIMIT)
        return [m for m in found if m.messaging_service_sid == service]
    return client.messages.list(
        to=to, from_=config["TWILIO_FROM_NUMBER"], limit=RECONCILE_LOOKUP_LIMIT
    )


def _not_before(created: datetime | None, since: datetime) -> bool:
    return created is not None and created >= since


def _unclaimed_earliest(candidates: list[Any], delivery_id: int) -> str | None:
    sids = [item.sid for item in sorted(candidates, key=lambda item: item.date_created)]
    if not sids:
        return None
    claimed = set(
        db.session.scalars(
            sa.select(Delivery.provider_id).where(
                Delivery.provider_id.in_(sids), Delivery.id != delivery_id
            )
        )
    )
    unclaimed = [sid for sid in sids if sid not in claimed]
    if len(unclaimed) > 1:
        log.warning(
            "Twilio reconcile of delivery %s: %d unclaimed sends match; taking the earliest",
            delivery_id,
            len(unclaimed),
        )
    return unclaimed[0] if unclaimed else None
