"""Twilio inbound SMS, voice TwiML and status callbacks."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from survey.webhooks import views  # noqa: E402,F401
