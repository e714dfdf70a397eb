"""Which channel carries each survey channel: the real provider when configured, else the outbox."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from survey.channels.base import Channel, Message, SendResult
from survey.channels.outbox import OutboxChannel

# Provider name -> factory. Twilio (sms, voice) and SMTP (email) join here when built.
PROVIDERS: dict[str, Callable[[], Channel]] = {"outbox": OutboxChannel}


def provider_for(survey_channel: str) -> str:
    """Return the name of the provider that carries a survey channel in this configuration."""
    config = current_app.config
    if survey_channel in ("sms", "voice") and config.get("TWILIO_ACCOUNT_SID"):
        return "twilio"
    if survey_channel == "email" and config.get("SURVEY_SMTP_URL"):
        return "smtp"
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
    """A configured provider this build cannot use: every send fails, visibly, on its delivery."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, delivery_id: int, message: Message) -> SendResult:
        return SendResult(ok=False, error=f"provider {self.name} is configured but not available")

    def reconcile(self, delivery_id: int) -> SendResult | None:
        return None
