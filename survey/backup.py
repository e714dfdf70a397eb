"""Backing up and restoring the embedded SQLite database, safely while it is being served.

``survey backup FILE`` copies the live database with SQLite's online backup API in one
step: it reads a consistent snapshot while the web server and the worker go on writing
(in WAL mode a reader does not block writers), into a temporary file that is renamed only
when complete. ``survey restore FILE`` checks that the file is a sound backup of this
product before it copies it over the live database, then migrates it to this version.
PostgreSQL has its own tools (pg_dump, pg_restore); these commands say so and do nothing.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from survey.extensions import db


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Copied:
    path: Path
    bytes: int
    revision: str | None


def live_database_path() -> Path:
    """Return the SQLite file the app uses, or raise BackupError on another database."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            "The database is PostgreSQL: back it up with pg_dump "
            "(pg_dump -Fc -f survey.dump DBNAME) and restore with pg_restore."
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("The database lives in memory; there is no file to back up.")
    return Path(url.database).resolve()


def backup(target: Path) -> Copied:
    """Copy the live database into ``target`` (replaced only once the copy is complete)."""
    source_path = live_database_path()
    target = target.resolve()
    if target == source_path:
        raise BackupError("The backup file must not be the database itself.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            # All pages in one step: a stepwise copy starts again whenever another process
            # writes, and a busy server may never let it finish.
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)
    return Copied(target, target.stat().st_size, _revision(target))


def restore(source: Path) -> Copied:
    """Copy a backup over the live database, after checking that it is one of ours."""
    live = live_database_path()
    source = source.resolve()
    if not source.is_file():
        raise BackupError(f"{source} does not exist.")
    if source == live:
        raise BackupError("The backup file is the database itself.")
    revision = _check(source)
    db.session.remove()
    db.engine.dispose()  # this process lets go of the file while it is replaced
    backup_connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        live_connection = sqlite3.connect(live, timeout=30)
        try:
            backup_connection.backup(live_connection, pages=-1)
        finally:
            live_connection.close()
    finally:
        backup_connection.close()
    return Copied(live, live.stat().st_size, revision)


def _check(path: Path) -> str:
    """Return the backup's migration revision; raise BackupError when it is not a sound backup."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise BackupError(f"{path} cannot be opened: {error}") from error
    try:
        try:
            integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{path} is not a SQLite database: {error}") from error
        if integrity != "ok":
            raise BackupError(f"{path} is damaged: {integrity}")
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{path} is not a backup of this product's database.") from error
    finally:
        connection.close()
    if row is None:
        raise BackupError(f"{path} is not a backup of this product's database.")
    return str(row[0])


def _revision(path: Path) -> str | None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        connection.close()
    return str(row[0]) if row else None
