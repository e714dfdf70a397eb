"""The operations endpoints: liveness touches nothing, readiness answers in time, metrics count
what happened and are only for those allowed to read them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from survey import clock
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Answer, Response
from tests.conftest import make_test_config
from tests.fixtures.dispatch import interaction_body

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _statements_during(app, call) -> list[str]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return seen


def test_healthz_answers_ok_without_touching_the_database(app, client):
    statements = _statements_during(app, lambda: client.get("/healthz"))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert statements == []


def test_readyz_says_ready_when_database_and_queue_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["queue"]["ok"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word (a hung database or Redis)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def _app_with(tmp_path: Path, **config):
    from survey import create_app

    base = make_test_config("sqlite:///" + str(tmp_path / "ready.sqlite3"), tmp_path / "instance")
    return create_app({**base, "SURVEY_READY_TIMEOUT_SECONDS": 1, **config})


def test_readyz_is_unavailable_when_the_queue_is_down_and_names_it(tmp_path):
    app = _app_with(tmp_path, SURVEY_QUEUE_URL=f"redis://127.0.0.1:{_free_port()}/0")
    with app.app_context():
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["queue"]["ok"] is False and body["checks"]["queue"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_readyz_answers_within_its_timeout_when_the_database_hangs(tmp_path, silent_server):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/test"
    app = _app_with(tmp_path, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        started = time.monotonic()
        response = app.test_client().get("/readyz")
        took = time.monotonic() - started
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["error"].startswith("no answer within")
    assert took < 5  # the timeout is 1 s; the check is abandoned, not waited for


def test_metrics_refuse_an_address_outside_the_allow_list(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403


@pytest.mark.app_config(SURVEY_METRICS_TOKEN="scrape-secret")
def test_metrics_accept_the_bearer_token_from_anywhere_and_refuse_a_wrong_one(client):
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    good = client.get(
        "/metrics", environ_base=outside, headers={"Authorization": "Bearer scrape-secret"}
    )
    bad = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer nope"})
    assert good.status_code == 200 and bad.status_code == 403


@pytest.mark.app_config(SURVEY_METRICS_ALLOW="10.0.0.0/8")
def test_metrics_follow_the_configured_networks(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403


def test_requests_are_counted_by_route_never_by_the_token_in_the_url(client):
    before = _sample("survey_http_requests_total", route="/s/<token>", method="GET", status="404")
    client.get("/s/not-a-real-token-abcdefghijklmnop")
    after = _sample("survey_http_requests_total", route="/s/<token>", method="GET", status="404")
    assert after == before + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert 'route="/s/<token>"' in text
    assert "not-a-real-token" not in text


def test_a_send_is_counted_by_channel_provider_and_outcome(
    client, post_interaction, make_org, make_default_rule
):
    make_org()
    make_default_rule()
    clock.freeze(NOW)
    invitation = post_interaction(interaction_body(occurred_at=NOW.isoformat())).get_json()[
        "invitation"
    ]
    channel = invitation["channel"]
    labels = {"channel": channel, "provider": "outbox", "outcome": "accepted"}
    before = _sample("survey_sends_total", **labels)
    assert sending.send_invitation(invitation["id"]) == "sent"
    assert _sample("survey_sends_total", **labels) == before + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert f'survey_sends_total{{channel="{channel}",outcome="accepted",provider="outbox"}}' in text


def test_due_invitations_are_a_fact_of_the_database_at_scrape_time(
    client, post_interaction, make_org, make_default_rule
):
    make_org()
    make_default_rule()
    clock.freeze(NOW)
    for n in range(3):
        body = interaction_body(external_id=f"CALL-{n}", occurred_at=NOW.isoformat())
        body["customer"]["external_id"] = f"C-{n}"
        body["customer"]["phone"] = f"+861380013800{n}"
        body["customer"]["email"] = f"c{n}@example.cn"
        post_interaction(body)
    text = client.get("/metrics").get_data(as_text=True)
    assert "survey_invitations_due_unsent 3.0" in text
    assert 'survey_deliveries_in_doubt{state="unknown"} 0.0' in text
    assert "survey_queue_depth" in text


def test_answers_are_counted_when_committed_and_never_when_rolled_back(invite, record_response):
    before = _sample("survey_answers_total", survey_channel="sms")
    invitation = invite()
    record_response(invitation, {"overall": 5, "attitude": 4}, survey_channel="sms")
    assert _sample("survey_answers_total", survey_channel="sms") == before + 2

    # An answer flushed and then rolled back (a race lost, a validation error) never counts,
    # not even when the session commits something else afterwards.
    other = invite()
    partial = Response(
        invitation=other,
        survey_version_id=other.survey_version_id,
        survey_channel="sms",
        locale=other.locale,
        started_at=clock.now(),
        state="partial",
    )
    partial.answers.append(Answer(question=other.version.questions[0], value_int=3))
    db.session.add(partial)
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert _sample("survey_answers_total", survey_channel="sms") == before + 2


def test_metrics_add_up_counts_from_every_process(tmp_path):
    """A worker process's sends appear in what the web process serves (PROMETHEUS_MULTIPROC_DIR)."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    worker = (
        "from survey.ops import metrics\n"
        "from survey.channels.base import SendResult\n"
        "for _ in range(3): metrics.count_send('sms', 'twilio', SendResult(ok=True))\n"
    )
    subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=60)
    web = (
        "import sys\n"
        "from survey import create_app\n"
        "from tests.conftest import make_test_config\n"
        f"app = create_app(make_test_config('sqlite:///{tmp_path}/m.sqlite3', "
        f"__import__('pathlib').Path('{tmp_path}/instance')))\n"
        "from survey.extensions import db\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
        "    sys.stdout.write(app.test_client().get('/metrics').get_data(as_text=True))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", web], env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    assert 'survey_sends_total{channel="sms",outcome="accepted",provider="twilio"} 3.0' in out
