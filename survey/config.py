"""Configuration: defaults here, then instance/config.py, then SURVEY_* environment variables."""

from __future__ import annotations

import os
from typing import Any

# Environment variables that DESIGN.md names, mapped to config keys.
ENV_KEYS: dict[str, str] = {
    "SURVEY_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SURVEY_QUEUE_URL": "SURVEY_QUEUE_URL",
    "SURVEY_SECRET_KEY": "SECRET_KEY",
    "SURVEY_SECRET_KEY_FALLBACKS": "SECRET_KEY_FALLBACKS",
    "SURVEY_SESSION_HOURS": "SURVEY_SESSION_HOURS",
    "SURVEY_SESSION_IDLE_MINUTES": "SURVEY_SESSION_IDLE_MINUTES",
    "SURVEY_PUBLIC_URL": "SURVEY_PUBLIC_URL",
    "SURVEY_SMTP_URL": "SURVEY_SMTP_URL",
    "SURVEY_SMTP_TIMEOUT_SECONDS": "SURVEY_SMTP_TIMEOUT_SECONDS",
    "SURVEY_MAIL_FROM": "SURVEY_MAIL_FROM",
    "SURVEY_TIMEZONE": "SURVEY_TIMEZONE",
    "SURVEY_PROXY_FIX": "SURVEY_PROXY_FIX",
    "SURVEY_RATELIMIT_STORAGE_URL": "RATELIMIT_STORAGE_URI",
    "SURVEY_LOG_LEVEL": "SURVEY_LOG_LEVEL",
    "SURVEY_LOG_FORMAT": "SURVEY_LOG_FORMAT",
    "SURVEY_SEND_LEASE_SECONDS": "SURVEY_SEND_LEASE_SECONDS",
    "SURVEY_RETRY_BASE_SECONDS": "SURVEY_RETRY_BASE_SECONDS",
    "SURVEY_DB_POOL_SIZE": "SURVEY_DB_POOL_SIZE",
    "SURVEY_DB_MAX_OVERFLOW": "SURVEY_DB_MAX_OVERFLOW",
    "SURVEY_DB_POOL_RECYCLE": "SURVEY_DB_POOL_RECYCLE",
    "SURVEY_METRICS_ALLOW": "SURVEY_METRICS_ALLOW",
    "SURVEY_METRICS_TOKEN": "SURVEY_METRICS_TOKEN",
    "SURVEY_READY_TIMEOUT_SECONDS": "SURVEY_READY_TIMEOUT_SECONDS",
    "SURVEY_EXPORT_FOLDER": "SURVEY_EXPORT_FOLDER",
    "SURVEY_RETENTION_KEY": "SURVEY_RETENTION_KEY",
    "TWILIO_ACCOUNT_SID": "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN": "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER": "TWILIO_FROM_NUMBER",
    "TWILIO_MESSAGING_SERVICE_SID": "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_API_URL": "TWILIO_API_URL",
}


class Defaults:
    """Built-in defaults; everything secret or site-specific is overridden outside the code."""

    SECRET_KEY: str | None = None  # required outside tests and development; see check_secret
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled from the instance path
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    SURVEY_QUEUE_URL: str | None = None  # filled from the instance path
    SURVEY_PUBLIC_URL: str | None = None  # default: where SURVEY_HOST and SURVEY_PORT serve
    SURVEY_SMTP_URL: str | None = None
    SURVEY_SMTP_TIMEOUT_SECONDS = 10  # each connect, read and write with the mail server
    SURVEY_MAIL_FROM = "survey@localhost"
    SURVEY_TIMEZONE = "Asia/Shanghai"
    SURVEY_PROXY_FIX = "0"  # "1" (or a hop count) behind a reverse proxy
    SURVEY_LOG_LEVEL = "INFO"
    SURVEY_LOG_FORMAT = "text"  # or "json": one object a line, for a log collector
    SURVEY_TOKEN_LIFETIME_HOURS = 72
    SURVEY_RUN_PERIODIC = True  # exactly one worker in a deployment runs periodic jobs
    SURVEY_PACE_SENDS = True  # keep each sender's rate (organisation settings); tests turn it off
    # How long a claimed send is a worker's without renewal; a dead worker's sends are taken
    # over by the first sweep after it ends (dispatch/lease.py).
    SURVEY_SEND_LEASE_SECONDS = 30
    # The first pause before a send the provider refused for now (HTTP 429) is tried again;
    # each later pause doubles (dispatch/retries.py). Only the fault tests shorten it.
    SURVEY_RETRY_BASE_SECONDS = 60
    # /metrics: these addresses or networks (comma-separated; empty: none), or a caller that
    # sends "Authorization: Bearer <SURVEY_METRICS_TOKEN>".
    SURVEY_METRICS_ALLOW = "127.0.0.1/32,::1/128"
    SURVEY_METRICS_TOKEN: str | None = None
    # /readyz: how long the database and the queue each have to answer.
    SURVEY_READY_TIMEOUT_SECONDS = 2
    # Where workers write prepared exports and web processes read them (exports/jobs.py):
    # by default instance/exports; on several hosts, a folder they all share.
    SURVEY_EXPORT_FOLDER: str | None = None
    # PII retention's HMAC key (survey/pseudonyms.py): only in the environment or
    # instance/config.py, never in the database, so a copy of the database cannot turn
    # a retained opt-out back into the phone number it came from.
    SURVEY_RETENTION_KEY: str | None = None
    TWILIO_ACCOUNT_SID: str | None = None
    TWILIO_AUTH_TOKEN: str | None = None
    TWILIO_FROM_NUMBER: str | None = None
    TWILIO_MESSAGING_SERVICE_SID: str | None = None
    TWILIO_API_URL = "https://api.twilio.com"
    # The web rate limits' counters: SURVEY_RATELIMIT_STORAGE_URL, else the queue's Redis when
    # SURVEY_QUEUE_URL is redis://, else this process's memory (then each web worker counts alone).
    RATELIMIT_STORAGE_URI: str | None = None
    RATELIMIT_STORAGE_OPTIONS: dict[str, Any] = {
        "key_prefix": "survey-ratelimit",  # apart from the queue's keys on a shared Redis
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
    }
    RATELIMIT_HEADERS_ENABLED = True
    # "30 a minute" means in any 60 seconds: a fixed window lets twice that through across
    # a minute's boundary (and made the limit's own test depend on when it ran).
    RATELIMIT_STRATEGY = "moving-window"
    # Redis out of reach: count in memory meanwhile rather than refuse every customer.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # An unanswered link's first step and first answer served in front of Flask
    # (survey/respond/fast.py); False leaves every request to Flask.
    SURVEY_FAST_FIRST_STEP = True
    # A survey link's first visit is written after the page, with the process's others, in
    # one transaction this often (seconds), or sooner when this many wait (respond/opens.py).
    SURVEY_OPENS_INTERVAL = 0.05
    SURVEY_OPENS_BATCH = 200
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("zh", "en")
    WTF_CSRF_TIME_LIMIT = None  # a form left open over lunch still posts
    # A staff sign-in lasts at most this long, and ends sooner after this long without a request.
    SURVEY_SESSION_HOURS = 12
    SURVEY_SESSION_IDLE_MINUTES = 30
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # The cookie is signed again only when the session changes: the sign-in's stamp
    # (survey.auth.sessions, once a minute) keeps an active one fresh. Re-signing it on
    # every page cost each page a signature and let a slower page's older cookie land last.
    SESSION_REFRESH_EACH_REQUEST = False
    REMEMBER_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024


def from_environment(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, str]:
    """Return the config keys set by SURVEY_* and TWILIO_* environment variables."""
    environ = os.environ if environ is None else environ
    return {key: environ[var] for var, key in ENV_KEYS.items() if environ.get(var)}


def rate_limit_storage(queue_url: str) -> str:
    """Return where the web rate limits count by default: the queue's Redis, or memory.

    Memory is this process's, counted by survey/ratelimit_memory.py rather than limits'
    ``memory://``, whose expiry thread walks every key it holds every 10 ms.
    """
    if queue_url.startswith(("redis://", "rediss://")):
        return queue_url.split("?", 1)[0]  # the queue's ?prefix= is the queue's own
    return "survey-memory://"


def sqlite_url(path: str) -> str:
    """Return the SQLAlchemy URL of a SQLite file."""
    return "sqlite:///" + os.path.abspath(path)
