"""Administration: users, API keys, organisation, settings, audit, /dev/outbox."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from survey.admin import (  # noqa: E402,F401
    apikeys,
    audit_views,
    home,
    imports,
    labels,
    org,
    outbox,
    settings_views,
    undelivered,
    users,
    zones,
)
