"""Schema migrations (Flask-Migrate), set up without importing it until a migration runs.

Importing ``flask_migrate`` imports Alembic, Mako and Pygments: about 11 MB in every
process, and a gunicorn worker or a queue worker never migrates. So the app gets a
stand-in for Flask-Migrate's configuration (``app.extensions["migrate"]``, which
``flask_migrate.upgrade()`` and migrations/env.py read) that builds the real one on
first use, and a ``db`` command group that loads Flask-Migrate's own when it is run.
"""

from __future__ import annotations

import os
from typing import Any

import click
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

DIRECTORY = os.path.join(os.path.dirname(__file__), "migrations")
# Batch mode: SQLite cannot ALTER most things in place; compare types so autogenerate sees them.
OPTIONS = {"render_as_batch": True, "compare_type": True}


class _Configuration:
    """Flask-Migrate's per-app configuration, made when something first reads it."""

    def __init__(self, db: SQLAlchemy) -> None:
        self._db = db
        self._real: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._real is None:
            from flask_migrate import Migrate, _MigrateConfig

            migrate = Migrate(db=self._db, directory=DIRECTORY, **OPTIONS)
            self._real = _MigrateConfig(migrate, self._db, **migrate.alembic_ctx_kwargs)
        return getattr(self._real, name)


class _Commands(click.Group):
    """``survey db …``: Flask-Migrate's command group, imported when it is run.

    Its context is made by the real group, so the real group parses the options
    (``--directory``, ``-x``), runs its own callback and its subcommands.
    """

    def _group(self) -> click.Group:
        from flask_migrate.cli import db as commands

        return commands

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        return self._group().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._group().get_command(ctx, name)


def init_app(app: Flask, db: SQLAlchemy) -> None:
    """Give the app migrations (``survey db …``, ``flask_migrate.upgrade()``) at no import cost."""
    app.extensions["migrate"] = _Configuration(db)
    app.cli.add_command(_Commands("db", help="Perform database migrations."))
