"""Logs an operator can search: a request id on every line, in the response, and in the worker."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

from flask import g

from survey import logs, tasks


def test_every_response_carries_a_request_id_and_a_sane_one_offered_is_kept(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 16 and int(made, 16) >= 0
    assert (
        client.get("/healthz", headers={"X-Request-ID": "lb-42.a:b"}).headers["X-Request-ID"]
        == "lb-42.a:b"
    )
    for hostile in ("has spaces", "x" * 65, "<script>", "id;Set-Cookie=a"):
        answered = client.get("/healthz", headers={"X-Request-ID": hostile})
        assert answered.headers["X-Request-ID"] != hostile
        assert len(answered.headers["X-Request-ID"]) == 16


def test_a_json_log_line_names_the_request_and_keeps_its_extras(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    logger = logging.getLogger("survey.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with app.test_request_context(headers={"X-Request-ID": "abc-123"}):
            app.preprocess_request()
            logger.info("invitation %s sent", 7, extra={"invitation_id": 7, "channel": "短信"})
        logger.info("outside any request")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["request_id"] == "abc-123"
    assert inside["message"] == "invitation 7 sent"
    assert inside["invitation_id"] == 7 and inside["channel"] == "短信"
    assert inside["level"] == "INFO" and inside["logger"] == "survey.test_logs"
    assert inside["time"].endswith("+00:00")
    assert outside["request_id"] == "-"


@tasks.huey.task(name="test_logs_request_id")
@tasks.in_app_context
def _which_request() -> str | None:
    return logs.current_request_id()


def test_a_task_enqueued_by_a_request_runs_under_that_requests_id(app):
    with app.test_request_context(headers={"X-Request-ID": "req-from-api"}):
        app.preprocess_request()
        assert g.request_id == "req-from-api"
        _which_request()
    assert logs.current_request_id() is None
    # The worker: takes the message from the queue's storage, in no request at all.
    task = tasks.huey.dequeue()
    assert task is not None
    assert tasks.huey.execute(task) == "req-from-api"
    assert logs.current_request_id() is None


def test_the_audit_trail_also_goes_to_the_log_once_its_change_commits(app, caplog):
    from survey import audit
    from survey.extensions import db

    caplog.set_level(logging.INFO, logger="survey.audit")
    with app.test_request_context(headers={"X-Request-ID": "audit-req-1"}):
        app.preprocess_request()
        audit.record("cli", "setting.change", "setting", "min_n", {"min_n": 5}, {"min_n": 7})
        db.session.commit()
        audit.record("cli", "setting.change", "setting", "frequency", {"days": 30}, {"days": 1})
        db.session.flush()
        db.session.rollback()
    written = [r for r in caplog.records if r.name == "survey.audit"]
    assert len(written) == 1  # the rolled-back change wrote nothing
    (line,) = written
    assert line.audit_action == "setting.change" and line.audit_entity_id == "min_n"
    assert json.loads(line.audit_after) == {"min_n": 7}
    assert line.request_id == "audit-req-1"


def test_a_line_of_ours_is_written_once_not_also_by_flasks_own_handler(tmp_path):
    """`survey demo` printed every audit line twice: Flask's default handler on the app's
    logger ("survey") and ours on the root logger both wrote what "survey.audit" logged.
    A fresh process, as a command starts one (pytest's own handlers would hide it here)."""
    program = (
        "import logging\n"
        "from survey import create_app\n"
        f"create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/x.sqlite3',"
        f" 'INSTANCE_PATH': '{tmp_path}', 'SECRET_KEY': 'k', 'SURVEY_QUEUE_URL': 'memory://'}})\n"
        "logging.getLogger('survey.audit').info('written-once-marker')\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    assert ran.stderr.count("written-once-marker") == 1, ran.stderr
