"""Which provider carries each survey channel: the first configured one here, else the outbox.

A new provider (a domestic SMS gateway, say) is one module with a class that
implements ``channels.base.Channel`` (``name``, ``carries``, ``configured``,
``send``, ``look_up``) and one line in ``PROVIDERS`` above the ones it should
win over.
"""

from __future__ import annotations

from flask import current_app

from survey.channels.base import CANNOT_TELL, Channel, Lookup, Message, SendResult
from survey.channels.outbox import OutboxChannel
from survey.channels.smtp import SmtpChannel
from survey.channels.twilio import TwilioChannel

__all__ = ["Channel", "PROVIDERS", "channel_for", "channel_named", "provider_for"]

# Provider name (stored on each delivery) -> its class, in order of preference.
PROVIDERS: dict[str, type[Channel]] = {
    "twilio": TwilioChannel,
    "smtp": SmtpChannel,
    "outbox": OutboxChannel,
}


def provider_for(survey_channel: str) -> str:
    """Return the name of the provider that carries a survey channel in this configuration."""
    config = current_app.config
    for name, provider in PROVIDERS.items():
        if name != "outbox" and survey_channel in provider.carries and provider.configured(config):
            return name
    return "outbox"


def channel_for(survey_channel: str) -> Channel:
    """Return the channel object that sends on a survey channel."""
    name = provider_for(survey_channel)
    factory = PROVIDERS.get(name)
    return factory() if factory else _Unavailable(name)


def channel_named(provider: str) -> Channel | None:
    """Return the channel of a provider named on a delivery, or None when this build lacks it."""
    factory = PROVIDERS.get(provider)
    return factory() if factory else None


class _Unavailable:
    """A provider named on an old delivery that this build no longer has."""

    carries: tuple[str, ...] = ()

    def __init__(self, name: str) -> None:
        self.name = name

    @staticmethod
    def configured(config: object) -> bool:
        return False

    @staticmethod
    def sender(config: object, survey_channel: str) -> str:
        return ""

    def send(self, delivery_id: int, message: Message) -> SendResult:
        return SendResult(ok=False, error=f"provider {self.name} is not available in this build")

    def look_up(self, delivery_id: int) -> Lookup:
        return Lookup(CANNOT_TELL, error=f"provider {self.name} is not available in this build")
