"""Redis, the queue and the send pace at scale, killed and restarted during dispatch.

Two real ``survey worker`` processes take their tasks from a private ``redis-server`` (its
own process on a free port, never the machine's shared one), which also holds the
providers' pace. While they send 400 invitations (SMS through Twilio's contract mock, e-mail
through a real SMTP server), the test SIGKILLs that Redis by its PID and starts a new,
empty one on the same port: every queued task is gone. DESIGN.md rule 1 says the database
is the truth: the sweep (run here every two seconds) finds what is due or stuck and queues
it again. Every invitation must end final, each message received exactly once.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey import clock, settings, tasks
from survey.extensions import db
from survey.models import Delivery, Invitation
from tests.fixtures.workers import Workers, post_invitations, worker_environment

pytestmark = pytest.mark.slow

INVITATIONS = 400
SWEEP_EVERY = 2.0
KILL_WHEN_SENT = 40  # Redis dies once this many invitations went out
DOWN_FOR = 4.0  # seconds without Redis
FINISH_WITHIN = 240.0
FINAL = {"sent", "completed", "failed", "cancelled", "expired"}
LINK = re.compile(r"/s/([A-Za-z0-9_-]{20,})")


class PrivateRedis:
    """A redis-server of this test's own, on a free port, keeping nothing on disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server is needed for the Redis fault test")
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def kill(self) -> None:
        """SIGKILL the server this test started (by its PID), losing everything it held."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def app_config(twilio_api, start_smtp, private_redis):
    smtp = start_smtp()
    config = dict(twilio_api.app_config)
    config.update(
        SURVEY_QUEUE_URL=private_redis.url,
        SURVEY_SMTP_URL=smtp.url,
        SURVEY_MAIL_FROM="survey@bank.example",
        TWILIO_TIMEOUT_SECONDS=5,
        SURVEY_SEND_LEASE_SECONDS=2,
    )
    twilio_api.smtp = smtp
    return config


def _sweep() -> str | None:
    """Run the periodic sweep as the worker would; with Redis down it fails, and is run again."""
    try:
        tasks.sweep_due.call_local()
        return None
    except Exception as error:  # the queue is unreachable: the next sweep tries again
        return type(error).__name__
    finally:
        db.session.remove()


def _states() -> Counter[str]:
    db.session.remove()
    rows = db.session.execute(
        sa.select(Invitation.state, sa.func.count()).group_by(Invitation.state)
    )
    return Counter(dict(rows.all()))


def test_redis_killed_during_dispatch_loses_nothing_and_sends_nothing_twice(
    app, twilio_api, post_interaction, dispatch_ready, private_redis, tmp_path
):
    clock.run_offset(timedelta(0))  # the workers run on the wall clock
    twilio_api.remember = True
    settings.put("allowed_hours_start", "00:00")
    settings.put("allowed_hours_end", "23:59")
    # The pace lives in Redis too: fast enough to finish, slow enough to be waited on.
    settings.put("sms_segments_per_second", 40.0)
    settings.put("emails_per_second", 40.0)
    db.session.commit()
    invitation_ids = post_invitations(post_interaction, INVITATIONS)
    db.session.remove()

    workers = Workers(worker_environment(app.config, tmp_path / "worker", pace=True), tmp_path)
    started = time.monotonic()
    sweep_errors: Counter[str] = Counter()
    killed_at = restarted_at = None
    sent_when_killed = 0
    try:
        workers.start("a")
        workers.start("b")
        last_sweep = 0.0
        while time.monotonic() - started < FINISH_WITHIN:
            now = time.monotonic()
            if killed_at is None:
                sent_when_killed = _states()["sent"]
                if sent_when_killed >= KILL_WHEN_SENT:
                    private_redis.kill()
                    killed_at = now
            if restarted_at is None and killed_at and now - killed_at >= DOWN_FOR:
                private_redis.start()  # empty: every queued task was lost
                restarted_at = now
            if now - last_sweep >= SWEEP_EVERY:
                failed = _sweep()
                if failed:
                    sweep_errors[failed] += 1
                last_sweep = now
                if restarted_at and not _states().keys() - FINAL:
                    break
            time.sleep(0.1)
    finally:
        workers.stop_all()
    elapsed = time.monotonic() - started

    states = _states()
    sms = Counter(LINK.search(m["body"]).group(1) for m in twilio_api.messages)
    mails = Counter(
        LINK.search(m.get_body(("plain",)).get_content()).group(1)
        for m in twilio_api.smtp.handler.messages()
    )
    rows = db.session.execute(
        sa.select(Invitation.id, Invitation.token).where(Invitation.id.in_(invitation_ids))
    ).all()
    in_doubt = set(
        db.session.scalars(sa.select(Delivery.invitation_id).where(Delivery.state == "unknown"))
    )
    received = {row.id: sms[row.token] + mails[row.token] for row in rows}
    doubled = [i for i, n in received.items() if n > 1]
    lost = [i for i, n in received.items() if n == 0 and i not in in_doubt]
    print(
        f"\nredis fault: {INVITATIONS} invitations; {sent_when_killed} sent when Redis was "
        f"killed, down {DOWN_FOR:.0f} s, all settled {elapsed:.0f} s after the start; states "
        f"{dict(states)}; received {sum(sms.values())} SMS, {sum(mails.values())} e-mails; "
        f"sweeps failed while down {dict(sweep_errors)}; lost {len(lost)}, doubled "
        f"{len(doubled)}, in doubt {len(in_doubt)}"
    )
    assert killed_at is not None and restarted_at is not None
    assert 0 < sent_when_killed < INVITATIONS, "Redis must die in the middle of dispatch"
    assert not states.keys() - FINAL, states
    assert doubled == [] and lost == []
    assert len(in_doubt) <= 2
    for process in workers.running.values():
        assert process.poll() is not None  # stopped by us, not crashed: see their logs
