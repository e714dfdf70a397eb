"""`survey backup` and `survey restore`: a consistent copy while the app writes, restored whole."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import BusinessLine, User
from tests.conftest import _migrate, make_test_config


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only: these commands copy the embedded database's file (PostgreSQL: below)."""
    url = "sqlite:///" + str(tmp_path_factory.mktemp("backup") / "survey.sqlite3")
    _migrate(url, tmp_path_factory.mktemp("backup-migrate"))
    return url


def test_a_backup_taken_while_the_app_writes_is_a_sound_and_consistent_copy(app, runner, tmp_path):
    stop = threading.Event()
    written: list[int] = []
    failed: list[BaseException] = []

    def write_pairs() -> None:
        # Every transaction adds two business lines: a torn copy would hold an odd number.
        n = 0
        try:
            with engine.connect() as connection:
                while not stop.is_set():
                    with connection.begin():
                        for _ in range(2):
                            connection.execute(
                                sa.insert(BusinessLine.__table__).values(
                                    code=f"bl-{n}", name_zh=f"线{n}", name_en=f"Line {n}"
                                )
                            )
                            n += 1
                    written.append(n)
        except BaseException as error:  # the test reports it instead of waiting forever
            failed.append(error)

    engine = db.engine
    writer = threading.Thread(target=write_pairs)
    writer.start()
    try:
        while not written and not failed:
            threading.Event().wait(0.01)
        result = runner.invoke(args=["backup", str(tmp_path / "copy.sqlite3")])
    finally:
        stop.set()
        writer.join()
    assert not failed, failed
    assert result.exit_code == 0, result.output
    assert "backed up to" in result.output
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    lines = copy.execute("SELECT count(*) FROM business_line").fetchone()[0]
    assert lines % 2 == 0 and lines > 0
    assert copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    copy.close()
    assert not (tmp_path / "copy.sqlite3.partial").exists()


def test_restore_brings_back_what_was_in_the_backup(app, runner, make_user, tmp_path):
    make_user("quality", "kept@bank.test")
    assert runner.invoke(args=["backup", str(tmp_path / "b.sqlite3")]).exit_code == 0
    db.session.execute(sa.delete(User))
    db.session.commit()
    make_user("admin", "later@bank.test")

    result = runner.invoke(args=["restore", "--yes", str(tmp_path / "b.sqlite3")])

    assert result.exit_code == 0, result.output
    emails = set(db.session.scalars(sa.select(User.email)))
    assert emails == {"kept@bank.test"}


def test_restore_asks_first_and_a_no_changes_nothing(app, runner, make_user, tmp_path):
    assert runner.invoke(args=["backup", str(tmp_path / "b.sqlite3")]).exit_code == 0
    make_user("admin", "after@bank.test")
    result = runner.invoke(args=["restore", str(tmp_path / "b.sqlite3")], input="n\n")
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(User.email)) == "after@bank.test"


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"this is not a database at all" * 100, "is not a SQLite database"),
        (None, "is not a backup of this product's database"),
    ],
)
def test_restore_refuses_a_file_that_is_not_our_backup_and_changes_nothing(
    app, runner, make_user, tmp_path, content, reason
):
    make_user("admin", "stays@bank.test")
    bad = tmp_path / "bad.sqlite3"
    if content is None:
        other = sqlite3.connect(bad)
        other.execute("CREATE TABLE notes (body TEXT)")
        other.commit()
        other.close()
    else:
        bad.write_bytes(content)
    result = runner.invoke(args=["restore", "--yes", str(bad)])
    assert result.exit_code != 0
    assert reason in result.output
    assert db.session.scalar(sa.select(User.email)) == "stays@bank.test"


def test_on_postgresql_both_commands_point_to_pg_dump_and_do_nothing(postgres_database, tmp_path):
    from survey import create_app

    app = create_app(make_test_config(postgres_database, tmp_path / "instance"))
    runner = app.test_cli_runner()
    for args in (["backup", str(tmp_path / "x")], ["restore", "--yes", str(tmp_path / "x")]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert "pg_dump" in result.output
    assert not (tmp_path / "x").exists()
