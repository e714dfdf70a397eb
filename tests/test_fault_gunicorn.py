"""A web worker SIGKILLed while customers submit answers: every answer that was acknowledged
is stored, none twice, and the site goes on answering (gunicorn starts a new worker).

The test serves a SQLite database of its own with gunicorn (2 workers, the settings `make
run` uses) on a free port, posts the first step of 300 surveys from 8 threads, kills one
worker (a child of the gunicorn it started, found through /proc) after the first 60
acknowledgements, then posts again every survey whose post failed, as a customer would.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SURVEYS = 300
pytestmark = pytest.mark.slow


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _make_invitations(instance: Path) -> list[tuple[int, str, str]]:
    """Add sent invitations to the demo bank; return (id, token, first step's form body)."""
    from survey import clock, create_app
    from survey.extensions import db
    from survey.models import Customer, Interaction, Invitation, SurveyVersion
    from survey.models.invitation import new_token
    from survey.respond import formkey, service

    app = create_app({"INSTANCE_PATH": str(instance), "SURVEY_QUEUE_URL": "memory://"})
    made = []
    with app.app_context(), app.test_request_context():
        version = db.session.scalars(
            sa.select(SurveyVersion).where(SurveyVersion.published_at.is_not(None))
        ).first()
        first = service.web_questions(version)[0]
        now = clock.now()
        for n in range(SURVEYS):
            customer = Customer(external_id=f"C-FAULT-{n}-{secrets.token_hex(3)}", locale="zh")
            interaction = Interaction(external_id=f"FAULT-{n}", occurred_at=now, channel="phone",
                                      type="inquiry", customer=customer)  # fmt: skip
            invitation = Invitation(
                interaction=interaction, customer=customer, version=version, channels=["sms"],
                channel="sms", locale="zh", token=new_token(), unsubscribe_token=new_token(),
                state="sent", scheduled_at=now, sent_at=now, expires_at=now + timedelta(hours=72),
            )  # fmt: skip
            db.session.add(invitation)
            db.session.flush()
            body = urllib.parse.urlencode({
                "step": first.key, f"q_{first.key}": "4", "go": "next",
                formkey.FIELD: formkey.form_key(invitation.token, formkey.ANSWER),
            })  # fmt: skip
            made.append((invitation.id, invitation.token, body))
        db.session.commit()
        db.engine.dispose()
    return made


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _post(port: int, token: str, body: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/s/{token}", data=body.encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    try:
        with OPENER.open(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0  # the connection died with the worker


def test_a_killed_web_worker_loses_no_acknowledged_answer_and_stores_none_twice(tmp_path: Path):
    instance = tmp_path / "instance"
    port = _free_port()
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(instance), "SURVEY_PORT": str(port),
           "SURVEY_WEB_WORKERS": "2"}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    for args in (["db", "upgrade"], ["demo", "--size", "200"]):
        subprocess.run([BIN / "survey", *args], env=env, cwd=ROOT, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
    surveys = _make_invitations(instance)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "scripts/gunicorn.conf.py"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        acknowledged: list[int] = []
        killed: list[int] = []
        lock = threading.Lock()

        def submit(survey: tuple[int, str, str]) -> tuple[int, int]:
            invitation_id, token, body = survey
            status = _post(port, token, body)
            with lock:
                if 200 <= status < 400:
                    acknowledged.append(invitation_id)
                if len(acknowledged) >= 60 and not killed:
                    victim = _children(server.pid)[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
            return invitation_id, status

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = dict(pool.map(submit, surveys))
        assert killed, "no worker was killed"
        # The customers whose post failed press the button again.
        for invitation_id, token, body in surveys:
            if not 200 <= outcomes[invitation_id] < 400:
                outcomes[invitation_id] = _post(port, token, body)
        assert all(200 <= status < 400 for status in outcomes.values()), outcomes
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    database = sa.create_engine(f"sqlite:///{instance / 'survey.sqlite3'}")
    with database.connect() as connection:
        answers = dict(
            connection.execute(
                sa.text(
                    "SELECT r.invitation_id, count(a.id) FROM response r "
                    "JOIN answer a ON a.response_id = r.id GROUP BY r.invitation_id"
                )
            ).all()
        )
        responses = dict(
            connection.execute(
                sa.text("SELECT invitation_id, count(*) FROM response GROUP BY invitation_id")
            ).all()
        )
    database.dispose()
    for invitation_id, _token, _body in surveys:
        assert answers.get(invitation_id) == 1, invitation_id  # stored, and only once
        assert responses.get(invitation_id) == 1, invitation_id
