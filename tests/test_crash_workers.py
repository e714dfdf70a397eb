"""Workers SIGKILLed mid-send: every invitation ends final, none lost, none sent twice.

Two real ``survey worker`` processes (the console script) send 1,000 invitations,
half by SMS through Twilio's contract mock behind the recording proxy (which keeps
the messages Twilio took and lists them, as Twilio does), half by e-mail through a
real SMTP server. One worker at a time is SIGKILLed at a random moment and started
again, three times. Workers get a short lease, and this test runs the real sweep
every two seconds (production runs it every minute), so a killed worker's sends are
taken over in seconds instead of the minute and a half they may take in production.
Every message is counted where it arrived, by the invitation token in its link.
"""

from __future__ import annotations

import random
import re
import sys
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

SURVEY = Path(sys.executable).with_name("survey")
WORKTREE = Path(__file__).resolve().parents[1]
INVITATIONS = 1000
KILLS = 3
LEASE_SECONDS = 2
SWEEP_EVERY = 2.0
KILL_AFTER = (4.0, 9.0)  # seconds after a worker (re)started
FINISH_WITHIN = 240.0
FINAL = {"sent", "completed", "failed", "cancelled", "expired"}
LINK = re.compile(r"/s/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def app_config(twilio_api, start_smtp, tmp_path):
    """The test app shares its queue (a SQLite file) and its providers with the workers."""
    smtp = start_smtp()
    config = dict(twilio_api.app_config)
    config.update(
        SURVEY_QUEUE_URL="sqlite:///" + str(tmp_path / "queue.sqlite3"),
        SURVEY_SMTP_URL=smtp.url,
        SURVEY_MAIL_FROM="survey@bank.example",
        TWILIO_TIMEOUT_SECONDS=5,
        SURVEY_SEND_LEASE_SECONDS=LEASE_SECONDS,
    )
    twilio_api.smtp = smtp
    return config


def _sweep() -> None:
    tasks.sweep_due.call_local()
    db.session.remove()


def _states() -> Counter[str]:
    db.session.remove()
    rows = db.session.execute(
        sa.select(Invitation.state, sa.func.count()).group_by(Invitation.state)
    )
    return Counter(dict(rows.all()))


def test_workers_killed_mid_send_lose_nothing_and_send_nothing_twice(
    app, twilio_api, post_interaction, dispatch_ready, tmp_path
):
    clock.run_offset(timedelta(0))  # the workers run on the wall clock
    twilio_api.remember = True
    settings.put("allowed_hours_start", "00:00")
    settings.put("allowed_hours_end", "23:59")
    db.session.commit()
    chance = random.Random()
    seed = chance.randrange(10**6)
    chance.seed(seed)
    posting = time.monotonic()
    invitation_ids = post_invitations(post_interaction, INVITATIONS)
    posting = time.monotonic() - posting
    db.session.remove()

    workers = Workers(worker_environment(app.config, tmp_path / "worker"), tmp_path)
    started = time.monotonic()
    try:
        workers.start("a")
        workers.start("b")
        last_sweep = 0.0
        kills = 0
        # A worker takes a few seconds to start: each kill falls while it is sending.
        next_kill = time.monotonic() + chance.uniform(*KILL_AFTER)
        while time.monotonic() - started < FINISH_WITHIN:
            now = time.monotonic()
            if kills < KILLS and now >= next_kill:
                victim = chance.choice(sorted(workers.running))
                workers.kill(victim)
                kills += 1
                workers.start(victim)
                next_kill = time.monotonic() + chance.uniform(*KILL_AFTER)
            if now - last_sweep >= SWEEP_EVERY:
                _sweep()
                last_sweep = now
                states = _states()
                if kills == KILLS and not states.keys() - FINAL:
                    break
            time.sleep(0.1)  # poll the processes; no business time is waited for
    finally:
        workers.stop_all()
    elapsed = time.monotonic() - started

    states = _states()
    sms = Counter(LINK.search(m["body"]).group(1) for m in twilio_api.messages)
    mails = Counter(
        LINK.search(m.get_body(("plain",)).get_content()).group(1)
        for m in twilio_api.smtp.handler.messages()
    )
    invitations = db.session.execute(
        sa.select(Invitation.id, Invitation.token).where(Invitation.id.in_(invitation_ids))
    ).all()
    unknown = Counter(
        db.session.scalars(sa.select(Delivery.channel).where(Delivery.state == "unknown"))
    )
    in_doubt = set(
        db.session.scalars(sa.select(Delivery.invitation_id).where(Delivery.state == "unknown"))
    )
    said = " ".join(log.read_text(errors="replace") for log in tmp_path.glob("*.log"))
    reconciled = said.count("reconciled as sent")
    resent = said.count("never reached its provider")
    unsettled = [
        (i.id, i.state, i.lease_until, [(d.provider, d.state, d.provider_id) for d in i.deliveries])
        for i in db.session.scalars(sa.select(Invitation).where(Invitation.state.not_in(FINAL)))
    ]
    received = {row.id: sms[row.token] + mails[row.token] for row in invitations}
    doubled = [i for i, n in received.items() if n > 1]
    lost = [i for i, n in received.items() if n == 0 and i not in in_doubt]
    print(
        f"\ncrash test (seed {seed}): {INVITATIONS} invitations, {KILLS} kills, "
        f"posted in {posting:.0f} s, settled in {elapsed:.0f} s; states {dict(states)}; received {sum(sms.values())} SMS and "
        f"{sum(mails.values())} e-mails; interrupted sends found at the provider {reconciled}, "
        f"provably never sent and sent now {resent}; lost {len(lost)}, doubled {len(doubled)}, "
        f"unknown {dict(unknown) or 0}"
    )
    assert kills == KILLS
    assert not unsettled, f"not final after {elapsed:.0f} s: {unsettled}"
    assert doubled == [] and lost == []
    assert unknown["sms"] == 0
