"""The one small interface every channel implements: send a message, report, never raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


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


@dataclass(frozen=True)
class SendResult:
    """How a send went: the provider's id when accepted, the reason when not."""

    ok: bool
    provider_id: str | None = None
    error: str | None = None
    # True when trying again later may work (HTTP 429, a timeout), False when it will not.
    retryable: bool = False


class Channel(Protocol):
    """A way to reach a customer. ``name`` is the provider stored on each delivery."""

    name: str

    def send(self, delivery_id: int, message: Message) -> SendResult:
        """Send a message for a delivery; sending the same delivery twice must not send twice."""
        ...

    def reconcile(self, delivery_id: int) -> SendResult | None:
        """Say what became of a delivery a crash left mid-send, or None when nobody can tell."""
        ...
