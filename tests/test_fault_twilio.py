"""Twilio answering 429 and 500 while two real workers send: backed off, looked up, nothing
lost, nothing sent twice.

Two ``survey worker`` processes send 300 SMS invitations through the recording proxy in
front of Twilio's contract mock (Prism), on PostgreSQL with the queue in Redis (a key
prefix of this run's own) and on SQLite with the SQLite queue. The proxy answers a random
share of the Message creates with 429 (some with Retry-After) and a share with 500, half of
those after Twilio took the message (it went out, and Twilio lists it) and half before (it
did not). Workers get a retry base of one second (production: a minute) and a lease of two;
the test runs the real sweep every second. Counted at the proxy and in the database: every
invitation final; exactly one message Twilio took per sent invitation; every retry after a
429 no sooner than the schedule (and the Retry-After) allows; every 500 looked up before
anything else, and sent again only when Twilio's list proved it had nothing (and then only
after the pause a 429 gets).
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings, tasks
from survey.dispatch import retries
from survey.extensions import db
from survey.models import Delivery, Invitation
from tests.conftest import REDIS_URL
from tests.fixtures.dispatch import interaction_body
from tests.fixtures.twilio_proxy import Exchange
from tests.fixtures.workers import Workers, worker_environment

pytestmark = pytest.mark.slow

INVITATIONS = 300
MESSAGES = "/Messages.json"
RETRY_BASE = 1.0  # seconds; production waits a minute
RETRY_AFTER = 4  # seconds, more than the first two pauses: the header must win there
LEASE_SECONDS = 2
SWEEP_EVERY = 1.0
FINISH_WITHIN = 480.0
FINAL = {"sent", "failed"}
LINK = re.compile(r"/s/([A-Za-z0-9_-]{20,})")
ALWAYS = 10**6


@pytest.fixture
def queue_url(database_url, tmp_path, run_id):
    """Redis with a prefix of this run's own beside PostgreSQL; the SQLite queue beside SQLite."""
    if not database_url.startswith("postgresql"):
        yield "sqlite:///" + str(tmp_path / "queue.sqlite3")
        return
    import redis

    prefix = f"survey_{run_id}_twilio_faults"
    server = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        server.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is needed beside PostgreSQL at {REDIS_URL}: {error}")
    yield f"{REDIS_URL}?prefix={prefix}"
    for stale in server.scan_iter(f"*{prefix}*"):
        server.delete(stale)


@pytest.fixture
def app_config(twilio_api, queue_url):
    config = dict(twilio_api.app_config)
    config.update(
        SURVEY_QUEUE_URL=queue_url,
        TWILIO_TIMEOUT_SECONDS=5,
        SURVEY_SEND_LEASE_SECONDS=LEASE_SECONDS,
        SURVEY_RETRY_BASE_SECONDS=RETRY_BASE,
    )
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


def _post_sms_invitations(post_interaction, count: int) -> list[int]:
    ids = []
    for n in range(count):
        customer = {"external_id": f"C-{n:04d}", "phone": f"+86139{n:08d}"}
        body = interaction_body(external_id=f"CALL-{n:04d}", customer=customer)
        ids.append(post_interaction(body).get_json()["invitation"]["id"])
    return ids


def _schedule_floor(refused: int, retry_after: str | None) -> float:
    """The least wait after the ``refused``-th refused try: the schedule, or the header."""
    least = RETRY_BASE * 2 ** (refused - 1)  # pause() with no jitter
    return max(least, float(retry_after or 0))


def test_twilio_429_and_500_are_backed_off_and_looked_up_nothing_lost_nothing_twice(
    app, twilio_api, post_interaction, dispatch_ready, tmp_path
):
    clock.run_offset(timedelta(0))  # the workers run on the wall clock
    twilio_api.remember = True
    seed = random.randrange(10**6)
    twilio_api.chance.seed(seed)
    settings.put("allowed_hours_start", "00:00")
    settings.put("allowed_hours_end", "23:59")
    db.session.commit()
    invitation_ids = _post_sms_invitations(post_interaction, INVITATIONS)
    db.session.remove()
    # Tried in this order, each on its share of what the ones before let through.
    twilio_api.fail(MESSAGES, 429, 20429, "Too Many Requests", retry_after=RETRY_AFTER,
                    share=0.10, times=ALWAYS)  # fmt: skip
    twilio_api.fail(MESSAGES, 429, 20429, "Too Many Requests", share=0.15, times=ALWAYS)
    twilio_api.fail(MESSAGES, 500, 20500, "Internal Server Error", taken=True,
                    share=0.08, times=ALWAYS)  # fmt: skip
    twilio_api.fail(MESSAGES, 500, 20500, "Internal Server Error", share=0.08, times=ALWAYS)

    workers = Workers(worker_environment(app.config, tmp_path / "worker"), tmp_path)
    started = time.monotonic()
    try:
        workers.start("a")
        workers.start("b")
        while time.monotonic() - started < FINISH_WITHIN:
            _sweep()
            if not _states().keys() - FINAL:
                break
            time.sleep(SWEEP_EVERY)  # the sweep's period; no business time is waited for
    finally:
        workers.stop_all()
    elapsed = time.monotonic() - started

    states = _states()
    invitations = {
        row.token: row
        for row in db.session.execute(
            sa.select(Invitation.id, Invitation.token, Invitation.state).where(
                Invitation.id.in_(invitation_ids)
            )
        )
    }
    posts: dict[str, list[Exchange]] = defaultdict(list)
    for exchange in sorted(twilio_api.sent(MESSAGES), key=lambda e: e.at):
        posts[LINK.search(exchange.value("Body")).group(1)].append(exchange)
    look_ups: dict[str, list[float]] = defaultdict(list)
    for exchange in twilio_api.sent(MESSAGES, "GET"):
        look_ups[exchange.value("To")].append(exchange.at)
    taken = Counter(LINK.search(m["body"]).group(1) for m in twilio_api.messages)
    deliveries = db.session.execute(
        sa.select(Delivery.invitation_id, Delivery.state, Delivery.provider_id)
    ).all()
    sent_sids = defaultdict(list)
    for delivery in deliveries:
        if delivery.state == "sent":
            sent_sids[delivery.invitation_id].append(delivery.provider_id)

    answered = Counter()
    gaps: dict[int, list[float]] = defaultdict(list)  # after the k-th 429, no Retry-After
    too_soon, blind, unproven, unsettled = [], [], [], []
    for token, tries in posts.items():
        phone = tries[0].value("To")
        refused = 0
        for this, after in zip(tries, [*tries[1:], None], strict=True):
            kind = f"{this.status}{' taken' if this.status == 500 and this.sid else ''}"
            answered[kind + (" Retry-After" if this.retry_after else "")] += 1
            # A 429, and a 500 Twilio provably never acted on, are refused tries: each is
            # tried again after a pause that doubles with the tries refused so far.
            if this.status == 429 or (this.status == 500 and not this.sid):
                refused += 1
                if after is not None:
                    gap = after.at - this.at
                    if gap < _schedule_floor(refused, this.retry_after):
                        too_soon.append((token, refused, this.status, round(gap, 3)))
                    if this.status == 429 and not this.retry_after:
                        gaps[refused].append(gap)
            if this.status == 500:
                until = after.at if after else float("inf")
                asked = [at for at in look_ups[phone] if this.at < at < until]
                if not asked:
                    unproven.append((token, kind))  # settled, or sent again, without asking
                if this.sid and after is not None:
                    blind.append(token)  # Twilio had it, and it was sent again
                if this.sid and sent_sids[invitations[token].id] != [this.sid]:
                    unsettled.append((token, sent_sids[invitations[token].id]))

    doubled = [token for token, n in taken.items() if n > 1]
    lost = [t for t, row in invitations.items() if row.state == "sent" and taken[t] != 1]
    mismatched = [
        t
        for t, row in invitations.items()
        if row.state == "sent" and [m["sid"] for m in twilio_api.messages
                                    if t in m["body"]] != sent_sids[row.id]
    ]  # fmt: skip
    failed = [t for t, row in invitations.items() if row.state == "failed"]
    in_doubt = Counter(d.state for d in deliveries if d.state in ("unknown", "sending"))
    median = {k: round(statistics.median(v), 2) for k, v in sorted(gaps.items())}
    least = {k: round(min(v), 2) for k, v in sorted(gaps.items())}
    print(
        f"\ntwilio faults (seed {seed}): {INVITATIONS} invitations by 2 workers in "
        f"{elapsed:.0f} s; states {dict(states)}; creates answered {dict(answered)}; "
        f"look-ups {sum(map(len, look_ups.values()))}; messages Twilio took {len(twilio_api.messages)}; "
        f"gaps after the k-th 429 (no Retry-After) least {least} median {median}; "
        f"lost {len(lost)}, doubled {len(doubled)}, too soon {len(too_soon)}, "
        f"resent blind {len(blind)}, unknown or sending {dict(in_doubt) or 0}"
    )
    assert not states.keys() - FINAL, f"not final after {elapsed:.0f} s: {dict(states)}"
    assert sum(states.values()) == INVITATIONS
    # Every kind of fault happened, and some invitations were refused more than once.
    assert {"429", "429 Retry-After", "500", "500 taken"} <= answered.keys(), answered
    assert len(gaps[2]) >= 3, gaps
    assert doubled == [] and lost == [] and mismatched == []
    # Each wait at least the schedule's (base, then twice, four times it) or the Retry-After.
    # The medians are not compared: a first retry also waits for the first sends' backlog.
    assert too_soon == []
    assert blind == [] and unproven == [] and unsettled == []
    assert not in_doubt
    # Only a customer Twilio refused five times fails (they have no e-mail address).
    for token in failed:
        statuses = [e.status for e in posts[token]]
        assert len(statuses) == retries.MAX_ATTEMPTS and set(statuses) <= {429, 500}, statuses
        assert taken[token] == 0
