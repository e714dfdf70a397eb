"""The one small interface every channel implements: send a message, report, never raise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class Message:
    """What the customer receives, already rendered in their language."""

    channel: str  # survey channel: sms | email | voice
    to: str  # E.164 phone number or e-mail address
    body: str  # SMS text, the e-mail's plain-text part, or the voice script
    subject: str = ""
    html: str | None = None
    # Extra e-mail headers, e.g. List-Unsubscribe (RFC 2369) and its one-click POST (RFC 8058).
    headers: dict[str, str] = field(default_factory=dict)
    # Voice: the absolute URL of the call's TwiML (/webhooks/twilio/voice/<invitation>).
    twiml_url: str | None = None
    # The invitation the message belongs to (the outbox threads a conversation by it).
    invitation_id: int | None = None
    # SMS: how long the provider may hold it in its queue before dropping it, in seconds.
    valid_for: int | None = None


@dataclass(frozen=True)
class SendResult:
    """How a send went: the provider's id when accepted, the classified reason when not.

    Exactly one verdict holds: ``ok`` (accepted), ``unknown`` (the provider may have taken
    it: never sent again blindly; with ``look_up`` the sweep asks the provider once the
    send's lease runs out, as after a crash), ``held`` (a configuration fault: nothing on this
    channel can go until it is fixed, so the delivery waits instead of failing), or a
    failure that is ``retryable`` (the provider certainly did not take it) or permanent.
    """

    ok: bool
    provider_id: str | None = None
    error: str | None = None
    # True when trying again later may work (HTTP 429, refused before sending), False when not.
    retryable: bool = False
    # How long the provider asked us to wait before trying again (its Retry-After), seconds.
    retry_after: float | None = None
    # The provider's own error code, e.g. Twilio's "21610" or an SMTP reply code.
    code: str | None = None
    unknown: bool = False
    # With ``unknown``: the provider can be asked what became of it (``Channel.look_up``
    # proves found or absent), so the send is left for the sweep to settle, not marked
    # 'unknown' for an administrator.
    look_up: bool = False
    held: bool = False
    # The carrier reports the address opted out (Twilio 21610): record it, never try it again.
    opted_out: bool = False
    # Another worker took the send over before anything went on the wire (its lease ran out
    # while this one stalled): this one stops and touches nothing more.
    taken_over: bool = False


# What a provider can say about a delivery a crash interrupted (``Channel.look_up``).
FOUND = "found"  # it has the message: sent, with this provider id
ABSENT = "absent"  # it provably never had it: safe to send now, once
CANNOT_TELL = "cannot_tell"  # nobody can know (SMTP after DATA): never sent again blindly
LOOKUP_FAILED = "lookup_failed"  # the question itself failed (timeout, 5xx): ask again later


@dataclass(frozen=True)
class Lookup:
    """A provider's answer about an interrupted delivery: one of the four verdicts above."""

    verdict: str
    provider_id: str | None = None
    error: str | None = None


class Channel(Protocol):
    """A way to reach a customer. ``name`` is the provider stored on each delivery."""

    name: str
    # The survey channels this provider carries: some of sms, email, voice.
    carries: ClassVar[tuple[str, ...]]

    @staticmethod
    def configured(config: Mapping[str, Any]) -> bool:
        """Whether this deployment's configuration asks for this provider."""
        ...

    @staticmethod
    def sender(config: Mapping[str, Any], survey_channel: str) -> str:
        """Name the sender whose rate a send uses up (a number, an account), or "" for none."""
        ...

    def send(self, delivery_id: int, message: Message) -> SendResult:
        """Send a message for a delivery; sending the same delivery twice must not send twice."""
        ...

    def look_up(self, delivery_id: int) -> Lookup:
        """Say what became of a delivery a crash left mid-send; never raises."""
        ...
