"""The walking skeleton: an interaction posted to the API reaches the customer through a worker."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey import clock
from survey.auth.service import create_api_key
from survey.designer.service import create_from_starter, publish
from survey.designer.starters import POST_INTERACTION
from survey.dispatch.rules import create_default_rule
from survey.extensions import db
from survey.models import Invitation, OutboxMessage
from tests.conftest import REDIS_URL, _fail_or_skip
from tests.fixtures.dispatch import interaction_body


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def app_config(app_config: dict, tmp_path: Path, request, run_id: str) -> Iterator[dict]:
    """A queue a real consumer reads: a SQLite file as `make run` uses, or Redis as at scale.

    On the shared Redis server the queue's keys carry this run's own prefix and are deleted
    afterwards (never FLUSHALL).
    """
    if request.param == "sqlite-queue":
        yield {**app_config, "SURVEY_QUEUE_URL": "sqlite:///" + str(tmp_path / "queue.sqlite3")}
        return
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        _fail_or_skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    yield {**app_config, "SURVEY_QUEUE_URL": f"{REDIS_URL}?prefix=survey_{run_id}_e2e"}
    from survey import tasks

    tasks.huey.storage.flush_all()  # this queue's own keys only


def _wait_for(condition, timeout: float = 20.0):
    """Poll until the worker thread has done its part (bounded: a hang fails the test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # see the worker's commits
        value = condition()
        if value:
            return value
        threading.Event().wait(0.05)
    raise AssertionError("the worker did not finish in time")


def test_a_posted_interaction_reaches_the_outbox_through_a_real_worker_and_is_answered(
    app, client, client_as, make_org, running_worker
):
    # Inside allowed hours in Shanghai: quiet hours would otherwise defer the send to 08:00.
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    make_org()
    survey = create_from_starter(POST_INTERACTION)
    db.session.flush()
    publish(survey.versions[0])
    create_default_rule(survey)
    _row, key = create_api_key("call centre")
    db.session.commit()

    response = client.post(
        "/api/v1/interactions",
        json=interaction_body(),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.get_json()
    invitation_id = response.get_json()["invitation"]["id"]

    message = _wait_for(
        lambda: db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    )
    invitation = _wait_for(
        lambda: db.session.scalar(
            sa.select(Invitation).where(Invitation.id == invitation_id, Invitation.state == "sent")
        )
    )
    assert message.to == "+8613800138000"

    page = client_as("admin").get("/dev/outbox?lang=en").get_data(as_text=True)
    link = f"http://survey.test/s/{invitation.token}"
    assert f'<a href="{link}"' in page
    assert re.search(r"/s/[A-Za-z0-9_-]{24}", page)

    status = client.get(
        f"/api/v1/invitations/{invitation_id}", headers={"Authorization": f"Bearer {key}"}
    ).get_json()
    assert status["state"] == "sent"
    assert [d["state"] for d in status["deliveries"]] == ["sent"]

    # The admin follows the link and answers as the customer would.
    customer = app.test_client()
    opened = customer.get(f"/s/{invitation.token}?score=5")
    assert opened.status_code == 200
    answers = {
        "q_attitude": "5",
        "q_wait_time": "4",
        "q_products": "3",
        "q_overall": "5",
        "q_nps": "9",
        "q_comment": "很满意",
    }
    assert customer.post(f"/s/{invitation.token}", data=answers).status_code == 200
    assert customer.post(f"/s/{invitation.token}", data=answers).status_code == 409
    db.session.rollback()
    assert db.session.get(Invitation, invitation_id).state == "completed"

    # The bank's systems read the answer back: counted, its score hidden under the minimum n.
    scores = client.get("/api/v1/scores", headers={"Authorization": f"Bearer {key}"})
    assert scores.status_code == 200
    [overall] = scores.get_json()["groups"]
    assert (overall["n"], overall["nps_n"]) == (1, 1)
    assert overall["csat"] is None
    by_dimension = client.get(
        "/api/v1/scores?group_by=dimension", headers={"Authorization": f"Bearer {key}"}
    ).get_json()["groups"]
    counted = {g["key"]["dimension"]: g["n"] for g in by_dimension if g["n"]}
    assert counted == {"attitude": 1, "wait_time": 1, "products": 1, "overall": 1}
