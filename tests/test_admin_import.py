"""Agents imported from CSV: good rows kept, bad rows reported by line, large files on a worker."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey import clock
from survey.admin.services import agent_import
from survey.extensions import db
from survey.models import Agent, AuditEvent, BusinessLine, ImportJob, Team

EN = {"Accept-Language": "en"}
HEADER = "code,name_zh,name_en,team_code\n"


@pytest.fixture
def teams(app) -> dict[str, Team]:
    """An active team t1 and a deactivated team t-off."""
    line = BusinessLine(code="personal", name_zh="个人金融", name_en="Personal banking")
    made = {
        code: Team(
            code=code,
            business_line=line,
            function="inquiry",
            name_zh=code,
            name_en=code,
            active=active,
        )
        for code, active in (("t1", True), ("t-off", False))
    }
    db.session.add_all([line, *made.values()])
    db.session.commit()
    return made


def _upload(client, text: str | bytes, name: str = "agents.csv", **kwargs):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/admin/org/agents/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers={**EN, **kwargs.pop("headers", {})},
        **kwargs,
    )


def _agents() -> dict[str, tuple[str, str]]:
    db.session.expire_all()
    return {a.code: (a.name_zh, a.name_en) for a in db.session.scalars(sa.select(Agent))}


def _rows(n: int, start: int = 0) -> str:
    return "".join(f"A{i:05d},坐席{i},Agent {i},t1\n" for i in range(start, start + n))


def test_a_small_file_keeps_good_rows_and_reports_each_bad_row_by_line(
    admin_client, teams, audit_log
):
    db.session.add(Agent(code="A9", team=teams["t1"], name_zh="旧", name_en="Old"))
    db.session.commit()
    csv_text = (
        HEADER
        + "A1,王芳,Wang Fang,t1\n"  # line 2: new
        + "A2,,Li Na,t1\n"  # line 3: no Chinese name
        + "A3,李雷,Li Lei,nope\n"  # line 4: unknown team
        + "A1,重复,Again,t1\n"  # line 5: repeated code
        + "bad code,X,X,t1\n"  # line 6: malformed code
        + "A4,韩梅梅,Han Meimei,t-off\n"  # line 7: deactivated team
        + "\n"
        + "A9,新,New name,t1\n"  # line 9: update
        + "A5,张伟,,t1\n"  # line 10: no English name
    )
    response = _upload(admin_client, csv_text.encode("gb18030"), follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "8 of 8 rows read: 1 agents added, 1 updated, 0 unchanged, 6 rows not imported" in page
    for line, reason in [
        (3, "The Chinese name is empty."),
        (4, "There is no team with the code nope."),
        (5, "The code A1 is already on line 2."),
        (6, "Use letters, digits"),
        (7, "The team t-off is deactivated."),
        (10, "The English name is empty."),
    ]:
        assert f"<td>{line}</td>" in page and reason in page
    assert _agents() == {"A1": ("王芳", "Wang Fang"), "A9": ("新", "New name")}
    (batch,) = audit_log("agent.import")
    assert batch.after["created"] == 1 and batch.after["errors"] == 6
    assert batch.after["created_codes"] == ["A1"]
    assert audit_log("agent.update")[0].after == {"name_zh": "新", "name_en": "New name"}


def test_the_older_one_name_header_gives_the_name_in_both_languages(admin_client, teams):
    response = _upload(admin_client, "code,name,team_code\nA1,王芳,t1\nA2,,t1\n")
    assert response.status_code == 303
    job_page = admin_client.get(response.location, headers=EN).get_data(as_text=True)
    assert "The name is empty." in job_page
    assert _agents() == {"A1": ("王芳", "王芳")}


def test_a_file_without_the_right_header_is_refused_beside_the_field_and_changes_nothing(
    admin_client, teams, audit_log
):
    response = _upload(admin_client, "id,who\n1,2\n")
    assert response.status_code == 400
    assert "missing: code, name_zh, name_en, team_code" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) == 0
    assert audit_log() == []


def test_the_import_page_answers_its_script_with_where_to_go_or_the_form(admin_client, teams):
    fetch = {"X-Requested-With": "fetch"}
    good = _upload(admin_client, HEADER + "A1,甲,A,t1\n", headers=fetch)
    assert good.status_code == 200
    job_page = admin_client.get(good.get_json()["location"], headers=EN).get_data(as_text=True)
    assert "1 agents added" in job_page
    bad = _upload(admin_client, "nothing useful\n", headers=fetch)
    assert bad.status_code == 400
    assert "missing:" in bad.get_json()["html"]


def test_a_job_still_running_shows_its_numbers_and_a_refresh_link_without_script(
    admin_client, admin
):
    job = agent_import.create_job((HEADER + _rows(900)).encode(), "big.csv", admin)
    job.state, job.done_rows = "running", 500
    job.counts = {"created": 490, "updated": 0, "unchanged": 0}
    job.errors = [{"line": n, "code": "x", "message": "bad"} for n in range(10)]
    db.session.commit()
    page = admin_client.get(f"/admin/org/imports/{job.id}", headers=EN).get_data(as_text=True)
    assert "500 of 900 rows read: 490 agents added" in page
    assert "Refresh to see how far it has got" in page
    assert '<progress id="job-progress" max="900" value="500">' in page
    progress = admin_client.get(f"/admin/org/imports/{job.id}.json").get_json()
    assert progress == {
        "state": "running",
        "finished": False,
        "total_rows": 900,
        "done_rows": 500,
        "counts": {"created": 490, "updated": 0, "unchanged": 0},
        "errors": 10,
    }


def test_an_import_reports_progress_after_each_committed_batch(app, teams, admin):
    job = agent_import.create_job((HEADER + _rows(1200)).encode(), "big.csv", admin)
    seen: list[tuple[int, int]] = []

    def progress(done: int) -> None:
        # What another process (the progress poll) would read at this moment.
        with db.engine.connect() as connection:
            committed = connection.execute(
                sa.select(sa.func.count()).select_from(Agent)
            ).scalar_one()
        seen.append((done, committed))

    agent_import.run(job.id, progress=progress)
    assert seen == [(500, 500), (1000, 1000), (1200, 1200)]
    batches = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "agent.import").order_by(AuditEvent.id)
    ).all()
    assert [b.after["lines"] for b in batches] == [[2, 501], [502, 1001], [1002, 1201]]
    assert {b.actor_label for b in batches} == {admin.email}


def test_a_restarted_job_carries_on_after_the_rows_already_done(app, teams, admin):
    clock.freeze(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    job = agent_import.create_job((HEADER + _rows(1000)).encode(), "big.csv", admin)
    job.state, job.done_rows = "running", 500  # a worker stopped after its first batch
    db.session.commit()
    assert agent_import.run(job.id).done_rows == 500, (
        "a job that may still be running is left alone"
    )
    assert agent_import.unfinished_job_ids() == []

    clock.advance(agent_import.STALLED_AFTER + timedelta(seconds=1))
    assert agent_import.unfinished_job_ids() == [job.id]  # the sweep enqueues it again
    job = agent_import.run(job.id)
    assert (job.state, job.done_rows, job.counts["created"]) == ("done", 1000, 500)
    assert min(_agents()) == "A00500"
    assert agent_import.unfinished_job_ids() == []


def test_a_queued_job_whose_queue_message_was_lost_is_taken_up_by_the_sweep(app, teams, admin):
    clock.freeze(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    job = agent_import.create_job((HEADER + _rows(10)).encode(), "lost.csv", admin)
    db.session.commit()
    assert agent_import.unfinished_job_ids() == []  # a worker may be about to take it
    clock.advance(agent_import.UNCLAIMED_AFTER + timedelta(seconds=1))
    assert agent_import.unfinished_job_ids() == [job.id]
    assert agent_import.run(job.id).state == "done"


def test_a_job_that_cannot_finish_says_why_on_its_page(admin_client, admin):
    job = agent_import.create_job((HEADER + "A1,甲,A,t1\n").encode(), "a.csv", admin)
    job.content = b"not,the,header\n"  # the stored file no longer reads as agents
    db.session.commit()
    agent_import.run(job.id)
    page = admin_client.get(f"/admin/org/imports/{job.id}", headers=EN).get_data(as_text=True)
    assert "stopped" in page and "The import stopped after 0 rows" in page


def test_the_command_line_imports_agents_with_a_progress_bar_on_record(
    runner, teams, tmp_path, audit_log
):
    path = tmp_path / "agents.csv"
    path.write_text(HEADER + _rows(3) + "A9,,X,t1\n", encoding="utf-8")
    result = runner.invoke(args=["import", "agents", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 rows: 3 added, 0 updated, 0 unchanged, 1 not imported" in result.stdout
    assert "line 5 (A9): The Chinese name is empty." in result.stderr
    assert len(_agents()) == 3
    (batch,) = audit_log("agent.import")
    assert batch.actor_label == "cli"


def test_the_command_line_refuses_a_file_it_cannot_read(runner, tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text("who,what\n", encoding="utf-8")
    result = runner.invoke(args=["import", "agents", str(path)])
    assert result.exit_code == 1
    assert "missing: code, name_zh, name_en, team_code" in result.output


# A large file through the real queue ---------------------------------------------------------


@pytest.fixture
def app_config(app_config: dict, tmp_path: Path) -> dict:
    """A SQLite queue file a real consumer reads, as `make run` uses."""
    return {**app_config, "SURVEY_QUEUE_URL": "sqlite:///" + str(tmp_path / "queue.sqlite3")}


def _wait_for(condition, timeout: float = 30.0):
    """Poll until the worker thread has done its part (bounded: a hang fails the test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # see the worker's commits
        value = condition()
        if value:
            return value
        threading.Event().wait(0.05)
    raise AssertionError("the worker did not finish in time")


def test_a_large_file_is_imported_by_a_worker_while_its_page_shows_the_progress(
    admin_client, teams, running_worker, audit_log
):
    rows = _rows(3000) + "A00007,重复,Again,t1\n"
    response = _upload(admin_client, HEADER + rows, name="big.csv")
    assert response.status_code == 303
    job_url = response.location
    first = admin_client.get(job_url + ".json").get_json()
    assert first["total_rows"] == 3001
    assert first["state"] in ("queued", "running", "done")

    polls = [first]

    def finished():
        polls.append(admin_client.get(job_url + ".json").get_json())
        return polls[-1]["finished"]

    _wait_for(finished)
    assert polls[-1] == {
        "state": "done",
        "finished": True,
        "total_rows": 3001,
        "done_rows": 3001,
        "counts": {"created": 3000, "updated": 0, "unchanged": 0},
        "errors": 1,
    }
    done = [p["done_rows"] for p in polls]
    assert done == sorted(done)  # the bar only moves forward
    page = admin_client.get(job_url, headers=EN).get_data(as_text=True)
    assert "3001 of 3001 rows read: 3000 agents added" in page
    assert "The code A00007 is already on line 9." in page
    assert "Refresh to see" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agent)) == 3000
    assert len(audit_log("agent.import")) == 7  # one per committed batch of 500
