"""满意度 — the satisfaction survey platform."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.logging import default_handler
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from survey import writers
from survey.application import SurveyFlask
from survey.config import Defaults, from_environment, rate_limit_storage, sqlite_url

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app: defaults, then instance/config.py, then the environment, then test_config."""
    instance_path = os.environ.get("SURVEY_INSTANCE_PATH") or None
    if test_config and test_config.get("INSTANCE_PATH"):
        instance_path = test_config["INSTANCE_PATH"]
    if instance_path:
        instance_path = os.path.abspath(instance_path)
    app = SurveyFlask(__name__, instance_path=instance_path, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environment())
    if test_config:
        app.config.update(test_config)
    _fill_instance_defaults(app)

    register_logging(app)
    register_fast_paths(app)
    register_proxy_fix(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_cli(app)
    return app


def _fill_instance_defaults(app: Flask) -> None:
    """Point the database and queue at the instance folder, and keep a local secret key there."""
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = sqlite_url(
            os.path.join(app.instance_path, "survey.sqlite3")
        )
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        # A file on this machine cannot drop a connection: a ping would only cost a statement.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    else:
        # A server's connections can be cut (a restart, a failover, an idle timeout): each is
        # pinged as it leaves the pool, and the pool's size is the operator's to set.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("pool_size", int(app.config.get("SURVEY_DB_POOL_SIZE") or 5))
        options.setdefault("max_overflow", int(app.config.get("SURVEY_DB_MAX_OVERFLOW") or 10))
        options.setdefault("pool_recycle", int(app.config.get("SURVEY_DB_POOL_RECYCLE") or 1800))
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not app.config.get("SURVEY_QUEUE_URL"):
        app.config["SURVEY_QUEUE_URL"] = sqlite_url(
            os.path.join(app.instance_path, "queue.sqlite3")
        )
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = rate_limit_storage(app.config["SURVEY_QUEUE_URL"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    from survey.csrf import fallback_keys

    app.config["SECRET_KEY_FALLBACKS"] = fallback_keys(app.config.get("SECRET_KEY_FALLBACKS"))
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=float(app.config.get("SURVEY_SESSION_HOURS") or 12)
    )
    if not app.config.get("SURVEY_PUBLIC_URL"):
        # Links in messages must reach the server `make run` started, whatever its port.
        host = os.environ.get("SURVEY_HOST") or "127.0.0.1"
        port = os.environ.get("SURVEY_PORT") or "5000"
        app.config["SURVEY_PUBLIC_URL"] = f"http://{host}:{port}"
    app.config["SURVEY_PUBLIC_URL"] = app.config["SURVEY_PUBLIC_URL"].rstrip("/")


def _instance_secret(instance_path: str) -> str:
    """Return this installation's secret key, created once in the instance folder (never in git)."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    with open(path) as f:
        return f.read().strip()


def register_logging(app: Flask) -> None:
    from survey import logs

    level = getattr(logging, str(app.config["SURVEY_LOG_LEVEL"]).upper(), logging.INFO)
    app.logger.setLevel(level)
    # Flask gives the app's logger a handler of its own when the root has none yet; ours
    # on the root writes every line, so Flask's would write each one a second time.
    app.logger.removeHandler(default_handler)
    logs.configure(level, str(app.config.get("SURVEY_LOG_FORMAT") or "text").lower())
    logs.init_app(app)


def register_fast_paths(app: Flask) -> None:
    # In front of Flask, inside ProxyFix (so it reads the client's address as the limits do).
    from survey.api import fast as api_fast
    from survey.respond import fast, opens

    fast.install(app)
    api_fast.install(app)
    opens.init_app(app)  # the first visits its survey pages note, written in batches


def register_proxy_fix(app: Flask) -> None:
    hops = str(app.config.get("SURVEY_PROXY_FIX") or "0")
    count = int(hops) if hops.isdigit() else 0
    if count:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count
        )


def register_extensions(app: Flask) -> None:
    import survey.models  # noqa: F401  (the metadata must know every table)
    from survey import fragments, i18n, migrating, ratelimits, security, tasks
    from survey.extensions import csrf, db, login

    db.init_app(app)
    with app.app_context():
        _tune_engine(db.engine, int(app.config.get("SURVEY_SQLITE_BUSY_TIMEOUT_MS", 10000)))
    migrating.init_app(app, db)
    csrf.init_app(app)
    login.init_app(app)
    ratelimits.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    fragments.init_app(app)
    tasks.init_app(app)
    from survey.auth import service as auth_service

    auth_service.init_app(app)


def _tune_engine(engine: sa.Engine, busy_timeout_ms: int = 10000) -> None:
    """SQLite: WAL, a busy timeout and foreign keys, since the web server and the worker both write.

    A transaction that writes takes the write lock when it begins (``BEGIN IMMEDIATE``)
    and waits up to the busy timeout there, before it has read or written anything, so
    it can never fail half-way by trying to turn a read into a write after another
    writer committed (SQLite refuses that at once, whatever the timeout). The sqlite3
    driver's own transaction control is kept: it begins a transaction just before the
    first INSERT, UPDATE or DELETE, and reads before that run outside one. SQLAlchemy's
    recipe of emitting BEGIN on the first statement of any kind was not taken: every
    read-only request would open a transaction, and a writer would hold the lock from
    its first read. The writers keep that window short instead (intake decides first,
    sending commits before calling a provider).
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = "IMMEDIATE"
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Writers of every process wait for one another in the kernel, not in the busy handler.
    writers.queue_writers(engine, busy_timeout_ms)


class DatabaseIntConverter(IntegerConverter):
    """An <int:…> that stops at the largest id the database holds: a bigger one is a 404, not a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseIntConverter
    from survey.admin import bp as admin_bp
    from survey.admin.links import bp as account_links_bp
    from survey.admin.outbox import dev_bp
    from survey.api import bp as api_bp
    from survey.auth import bp as auth_bp
    from survey.dashboard import bp as dashboard_bp
    from survey.designer import bp as designer_bp
    from survey.extensions import csrf
    from survey.respond import bp as respond_bp
    from survey.webhooks import bp as webhooks_bp

    # Bearer keys and Twilio signatures authenticate these, not cookies: no CSRF token to carry.
    csrf.exempt(api_bp)
    csrf.exempt(webhooks_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(dev_bp)
    app.register_blueprint(account_links_bp)
    app.register_blueprint(designer_bp, url_prefix="/designer")
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(respond_bp)
    app.register_blueprint(webhooks_bp, url_prefix="/webhooks")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    from survey import ops

    ops.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from survey import errors

    errors.init_app(app)


def register_cli(app: Flask) -> None:
    from survey import cli

    cli.init_app(app)
