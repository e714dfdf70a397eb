"""A locked SQLite database is waited for, then retried, and at worst answered 503, never 500.

Another writer is played by a second sqlite3 connection to the same file holding
``BEGIN IMMEDIATE``, as the worker or another gunicorn process would. Nothing here
times anything: the lock is released either by a thread after a moment far inside
the busy timeout, or by the test itself when the app reports its first busy attempt.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import Answer, Interaction, Invitation, Response
from tests.conftest import _migrate
from tests.fixtures.access import sign_in
from tests.fixtures.dispatch import interaction_body
from tests.fixtures.twilio import ACCOUNT_SID, AUTH_TOKEN


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only: PostgreSQL locks rows, and has no database-wide write lock to meet."""
    url = "sqlite:///" + str(tmp_path_factory.mktemp("busy") / "survey.sqlite3")
    _migrate(url, tmp_path_factory.mktemp("busy-migrate"))
    return url


@pytest.fixture
def other_writer(app) -> Iterator[sqlite3.Connection]:
    """A second connection to the app's SQLite file, in autocommit so BEGIN is ours to send."""
    connection = sqlite3.connect(
        db.engine.url.database, isolation_level=None, check_same_thread=False
    )
    yield connection
    if connection.in_transaction:
        connection.rollback()
    connection.close()


class _ReleaseOnBusy(logging.Handler):
    """Let the other writer commit when the app reports that it met the lock."""

    def __init__(self, writer: sqlite3.Connection) -> None:
        super().__init__(logging.WARNING)
        self.writer = writer
        self.attempts = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("database busy"):
            self.attempts += 1
            if self.writer.in_transaction:
                self.writer.commit()


@pytest.fixture
def release_on_busy(other_writer) -> Iterator[_ReleaseOnBusy]:
    handler = _ReleaseOnBusy(other_writer)
    logger = logging.getLogger("survey.busy")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _stored() -> tuple[int, int]:
    db.session.rollback()
    count = sa.select(sa.func.count())
    return (
        db.session.scalar(count.select_from(Interaction)),
        db.session.scalar(count.select_from(Invitation)),
    )


def test_a_post_waits_for_another_writer_to_finish(post_interaction, dispatch_ready, other_writer):
    holding = threading.Event()
    released = threading.Event()

    def hold_the_lock_a_moment() -> None:
        other_writer.execute("BEGIN IMMEDIATE")
        holding.set()
        # A moment far inside the 10 s busy timeout, far longer than a post takes.
        threading.Event().wait(0.5)
        released.set()
        other_writer.commit()

    writer = threading.Thread(target=hold_the_lock_a_moment)
    writer.start()
    holding.wait()
    response = post_interaction(interaction_body())
    writer.join()
    assert response.status_code == 201, response.get_json()
    assert released.is_set(), "the post finished while another writer held the database"
    assert _stored() == (1, 1)


@pytest.mark.app_config(SURVEY_SQLITE_BUSY_TIMEOUT_MS=1)
def test_a_post_that_meets_the_lock_is_retried_not_failed(
    post_interaction, dispatch_ready, other_writer, release_on_busy
):
    other_writer.execute("BEGIN IMMEDIATE")
    response = post_interaction(interaction_body())
    assert response.status_code == 201, response.get_json()
    assert release_on_busy.attempts == 1
    assert response.get_json()["invitation"]["state"] == "scheduled"
    assert _stored() == (1, 1)


@pytest.mark.app_config(SURVEY_SQLITE_BUSY_TIMEOUT_MS=1)
def test_a_database_locked_throughout_answers_503_problem_json_and_stores_nothing(
    post_interaction, dispatch_ready, other_writer
):
    other_writer.execute("BEGIN IMMEDIATE")
    response = post_interaction(interaction_body())
    other_writer.commit()
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 503
    assert int(response.headers["Retry-After"]) > 0
    assert _stored() == (0, 0)
    # The bank's system tries again later, and the same body is taken once.
    assert post_interaction(interaction_body()).status_code == 201
    assert _stored() == (1, 1)


@pytest.mark.app_config(SURVEY_SQLITE_BUSY_TIMEOUT_MS=1)
def test_a_sign_in_that_meets_the_lock_is_retried(client, make_user, release_on_busy):
    make_user("quality", email="q@bank.example")
    release_on_busy.writer.execute("BEGIN IMMEDIATE")
    response = sign_in(client, "q@bank.example")
    assert response.status_code == 302
    assert release_on_busy.attempts == 1


@pytest.mark.app_config(SURVEY_SQLITE_BUSY_TIMEOUT_MS=1)
def test_a_sign_in_on_a_database_locked_throughout_is_a_busy_page_not_a_500(
    client, make_user, other_writer
):
    make_user("quality", email="q@bank.example")
    other_writer.execute("BEGIN IMMEDIATE")
    response = sign_in(client, "q@bank.example", headers={"Accept-Language": "zh"})
    other_writer.commit()
    assert response.status_code == 503
    assert "系统正忙" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers


@pytest.mark.app_config(
    SURVEY_SQLITE_BUSY_TIMEOUT_MS=1, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN
)
def test_an_sms_reply_that_meets_the_lock_is_retried_not_lost(
    sent_invitation, reply, release_on_busy
):
    """Twilio does not post an inbound SMS again after an error: a reply answered 503
    would be an answer lost, so the webhook's work is run again like a post's."""
    invitation = sent_invitation()
    release_on_busy.writer.execute("BEGIN IMMEDIATE")
    answer = reply("5")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert release_on_busy.attempts == 1
    db.session.rollback()
    stored = db.session.scalars(
        sa.select(Answer.value_int).join(Response).where(Response.invitation_id == invitation.id)
    ).all()
    assert stored == [5]
