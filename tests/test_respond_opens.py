"""A survey link's first visit, written after the page in a batch (survey.respond.opens).

Each test ends by comparing the kept funnel with a rebuild from the raw rows, as the
funnel's own tests do: an open counted twice, or in the wrong state, shows there.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.funnel import rebuilding
from survey.models import Invitation
from survey.respond import opens
from tests.opening import written
from tests.test_funnel import rollup_rows, totals
from tests.test_respond_steps import step

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def _opened_at(invitation_id: int) -> datetime | None:
    db.session.expire_all()
    return db.session.get_one(Invitation, invitation_id).opened_at


def _funnel_is_exact() -> None:
    kept = rollup_rows()
    rebuilding.rebuild()
    assert rollup_rows() == kept


def test_a_first_visit_is_written_by_the_batch_with_the_visits_time(app, client, invite):
    clock.freeze(T0)
    link = invite(locale="en")
    assert client.get(f"/s/{link.token}").status_code == 200
    assert _opened_at(link.id) is None  # nothing written in the request
    assert "opened" not in totals()
    clock.advance(timedelta(seconds=30))
    assert written() == 1
    assert _opened_at(link.id) == T0
    assert totals()["opened"] == 1 and totals()["delivered"] == 1
    assert written() == 0  # written once
    _funnel_is_exact()


def test_two_visits_in_one_batch_count_one_open_at_the_earlier_time(app, client, invite):
    clock.freeze(T0)
    link = invite(locale="en")
    assert client.get(f"/s/{link.token}").status_code == 200  # in front of Flask, or by it
    clock.advance(timedelta(minutes=1))
    assert client.get(f"/s/{link.token}?score=4").status_code == 200  # Flask's view
    assert opens.of(app).waiting() == 1
    assert written() == 1
    assert _opened_at(link.id) == T0
    assert totals()["opened"] == 1
    _funnel_is_exact()


def test_a_later_visit_written_first_by_another_process_leaves_the_earliest_time(
    app, client, invite
):
    clock.freeze(T0)
    link = invite(locale="en")
    assert client.get(f"/s/{link.token}").status_code == 200  # noted here, at T0
    elsewhere = opens.Opens(app)  # another worker's batch, a minute later, written first
    db.session.expire_all()
    elsewhere.note(db.session.get_one(Invitation, link.id), T0 + timedelta(minutes=1))
    assert elsewhere.flush() == 1
    assert _opened_at(link.id) == T0 + timedelta(minutes=1)
    assert written() == 0  # counted already: only the time moves back
    assert _opened_at(link.id) == T0
    assert totals()["opened"] == 1
    _funnel_is_exact()


@pytest.mark.parametrize("written_when", ["after the answer", "before the answer"])
def test_an_open_batched_while_the_answer_lands_counts_once(app, client, invite, written_when):
    clock.freeze(T0)
    link = invite(locale="en")
    assert client.get(f"/s/{link.token}").status_code == 200
    clock.advance(timedelta(minutes=2))
    if written_when == "before the answer":
        assert written() == 1
    assert step(client, link, "attitude", "4").status_code == 303  # counts opened if not yet
    if written_when == "after the answer":
        assert written() == 0  # the answer counted it; the batch counts nothing more
    assert _opened_at(link.id) == T0  # the visit came first
    counted = totals()
    assert (counted["opened"], counted["started"], counted["delivered"]) == (1, 1, 1)
    _funnel_is_exact()


def test_a_visit_of_an_answered_link_in_the_same_batch_counts_once(app, client, invite):
    clock.freeze(T0)
    answered, looked = invite(locale="en"), invite(locale="en")
    assert client.get(f"/s/{answered.token}").status_code == 200
    assert client.get(f"/s/{looked.token}").status_code == 200
    assert step(client, answered, "attitude", "4").status_code == 303
    assert written() == 1  # the looked-at link; the answered one was counted by its answer
    assert totals()["opened"] == 2 and totals()["started"] == 1
    _funnel_is_exact()


def test_a_batch_the_database_refuses_is_kept_for_the_next(app, client, invite, monkeypatch):
    clock.freeze(T0)
    link = invite(locale="en")
    assert client.get(f"/s/{link.token}").status_code == 200

    def refused(*_args, **_kwargs):
        raise RuntimeError("the database is away")

    with monkeypatch.context() as patched:
        patched.setattr(opens, "write", refused)
        with pytest.raises(RuntimeError):
            written()
    assert opens.of(app).waiting() == 1
    assert written() == 1
    assert _opened_at(link.id) == T0
    _funnel_is_exact()


def test_the_workers_exit_hook_writes_what_is_left(app, client, invite):
    clock.freeze(T0)
    link = invite(locale="en")
    assert client.get(f"/s/{link.token}").status_code == 200
    hooks = runpy.run_path(str(ROOT / "scripts" / "gunicorn.conf.py"))
    hooks["worker_exit"](None, None)  # gunicorn calls it as a worker stops
    assert _opened_at(link.id) == T0
    assert totals()["opened"] == 1


@pytest.mark.app_config(SURVEY_OPENS_INTERVAL=3600, SURVEY_OPENS_BATCH=2)
def test_the_thread_writes_a_full_batch_without_waiting_for_the_interval(app, client, invite):
    first, second = invite(locale="en"), invite(locale="en")
    assert client.get(f"/s/{first.token}").status_code == 200
    assert client.get(f"/s/{second.token}").status_code == 200
    batch = opens.of(app)
    assert batch.thread is not None and batch.thread.is_alive()  # begun by the first visit
    deadline = time.monotonic() + 30
    while batch.waiting() and time.monotonic() < deadline:
        batch.wake.wait(0.01)  # the thread's own wake-up: it takes the batch at once
    assert batch.waiting() == 0
    with batch.writing:  # its write is over
        pass
    assert _opened_at(first.id) is not None and _opened_at(second.id) is not None
    assert totals()["opened"] == 2
    _funnel_is_exact()


# A process of its own, as a web worker: it serves one visit of the link, then exits
# cleanly ("exit") or waits to be killed ("wait").
_WORKER = """
import json, sys, time
from survey import create_app
config, token, ending = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
app = create_app(config)
assert app.test_client().get(f"/s/{token}").status_code == 200
print("visited", flush=True)
if ending == "wait":
    time.sleep(600)
"""


def _worker(app, tmp_path: Path, token: str, ending: str) -> subprocess.Popen:
    config = {
        key: app.config[key]
        for key in (
            "TESTING",
            "SECRET_KEY",
            "SQLALCHEMY_DATABASE_URI",
            "SURVEY_QUEUE_URL",
            "SURVEY_PUBLIC_URL",
            "RATELIMIT_ENABLED",
            "SURVEY_PACE_SENDS",
        )
    }
    # The thread would write within the hour: the process ends long before.
    config.update(INSTANCE_PATH=str(tmp_path / "worker"), SURVEY_OPENS_INTERVAL=3600)
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, json.dumps(config), token, ending],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_process_that_exits_cleanly_writes_its_opens(app, invite, tmp_path):
    link = invite(locale="en")
    db.session.commit()
    worker = _worker(app, tmp_path, link.token, "exit")
    assert worker.stdout.readline().strip() == "visited"
    assert worker.wait(timeout=60) == 0  # atexit wrote the batch
    assert _opened_at(link.id) is not None
    assert totals()["opened"] == 1
    _funnel_is_exact()


@pytest.mark.slow
def test_a_killed_process_loses_its_opens_and_the_answer_records_opened_once(
    app, client, invite, tmp_path
):
    link = invite(locale="en")
    db.session.commit()
    worker = _worker(app, tmp_path, link.token, "wait")
    try:
        assert worker.stdout.readline().strip() == "visited"
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # no clean stop: its batch is lost
        worker.wait(timeout=60)
    assert _opened_at(link.id) is None  # the trade: lost with the process
    assert "opened" not in totals()
    assert step(client, link, "attitude", "4").status_code == 303
    assert _opened_at(link.id) is not None
    counted = totals()
    assert (counted["opened"], counted["started"], counted["delivered"]) == (1, 1, 1)
    _funnel_is_exact()


@pytest.mark.app_config(SURVEY_OPENS_BATCH=2)
def test_a_batch_larger_than_a_transaction_is_written_whole_in_parts(app, client, invite):
    links = [invite(locale="en") for _ in range(5)]
    for link in links:
        assert client.get(f"/s/{link.token}").status_code == 200
    assert written() == 5  # three transactions of at most two links
    assert all(_opened_at(link.id) is not None for link in links)
    assert totals()["opened"] == 5
    _funnel_is_exact()


def test_a_batch_gives_way_to_a_rollup_row_an_answer_holds_and_is_written_after(
    app, client, invite
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: a batch waits its turn like any writer")
    clock.freeze(T0)
    link = invite(locale="en")
    assert client.get(f"/s/{link.token}").status_code == 200
    db.session.commit()
    outcome: list[object] = []

    def write_the_batch() -> None:
        try:
            outcome.append(opens.of(app).flush())
        except Exception as error:  # noqa: BLE001 - what the thread met is the test's subject
            outcome.append(error)

    with db.engine.connect() as answer:  # a transaction holding the link's rollup row
        answer.execute(sa.text("SELECT id FROM funnel_rollup FOR UPDATE"))
        writer = threading.Thread(target=write_the_batch)
        writer.start()
        writer.join(timeout=5)
        gave_way = not writer.is_alive()
        answer.rollback()
    writer.join()
    assert gave_way, "the batch waited for the row instead of giving way"
    assert isinstance(outcome[0], Exception)
    assert opens.gave_way(outcome[0])  # logged as expected, without a traceback
    assert not opens.gave_way(RuntimeError("another fault"))
    assert opens.of(app).waiting() == 1  # kept for the next batch
    assert _opened_at(link.id) is None
    assert written() == 1
    assert _opened_at(link.id) == T0
    assert totals()["opened"] == 1
    _funnel_is_exact()


def test_a_batch_of_links_sharing_a_rollup_row_adds_to_it_once(app, client, invite):
    clock.freeze(T0)
    links = [invite(locale="en") for _ in range(3)]
    for link in links:
        assert client.get(f"/s/{link.token}").status_code == 200
    assert written() == 3
    assert totals()["opened"] == 3 and totals()["delivered"] == 3
    assert all(_opened_at(link.id) == T0 for link in links)
    _funnel_is_exact()
