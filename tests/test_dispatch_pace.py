"""The provider's pace: each sender's rate holds across every worker thread and process."""

from __future__ import annotations

import multiprocessing
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.dispatch import pace, sending
from survey.extensions import db
from survey.models import Delivery, Invitation
from tests.conftest import REDIS_URL, _fail_or_skip
from tests.fixtures.dispatch import interaction_body


def _redis_store() -> pace.RedisStore:
    from redis.exceptions import ConnectionError as RedisDown

    store = pace.RedisStore(REDIS_URL, f"survey-test-{secrets.token_hex(4)}")
    try:
        store.redis.ping()
    except RedisDown:
        _fail_or_skip(f"Redis is not reachable at {REDIS_URL}")
    return store


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "memory":
        yield pace.MemoryStore()
    elif request.param == "sqlite":
        yield pace.SqliteStore(str(tmp_path / "queue.sqlite3"))
    else:
        store = _redis_store()
        yield store
        for key in store.redis.scan_iter(f"{store.prefix}:*"):
            store.redis.delete(key)


def test_reservations_follow_one_another_at_the_senders_rate(store):
    first = store.reserve("twilio:sms:+15005550006", 1.0, 10)
    second = store.reserve("twilio:sms:+15005550006", 2.0, 10)  # a two-segment SMS
    third = store.reserve("twilio:sms:+15005550006", 1.0, 10)
    assert first.granted and second.granted and third.granted
    # Each waits for the ones before it: 1 s, then 1 + 2 s, less the moments between the calls
    # (generous: a loaded machine can take a while between two lines).
    assert first.wait == pytest.approx(0, abs=0.25)
    assert second.wait == pytest.approx(1.0, abs=0.25) and second.wait <= 1.0
    assert third.wait == pytest.approx(3.0, abs=0.25) and third.wait <= 3.0


def test_another_sender_has_a_schedule_of_its_own(store):
    store.reserve("twilio:sms:A", 5.0, 10)
    assert store.reserve("twilio:sms:B", 1.0, 10).wait == pytest.approx(0, abs=0.25)


def test_a_turn_further_off_than_a_worker_waits_is_not_taken(store):
    store.reserve("smtp:mail:25:", 8.0, 10)
    slot = store.reserve("smtp:mail:25:", 1.0, 5)
    assert not slot.granted and slot.wait == pytest.approx(8.0, abs=0.25)
    # Refused, it reserved nothing: the next one still waits only for the first.
    assert store.reserve("smtp:mail:25:", 1.0, 10).wait == pytest.approx(8.0, abs=0.25)


def test_a_turn_waits_for_the_send_before_it_really_began(store):
    # Another process woke late and began its send just now, though its turn was earlier:
    # the next send is held back until that one has left the second, whatever was reserved.
    # Timed from before the other's grant: a loaded machine may pause between the two.
    before = time.monotonic()
    assert pace.grant(store, "twilio:sms:late:begun", 5, 5.0, 0.0).granted  # R units at once
    slot = pace.take_turn(store, "twilio:sms:late", 1, 5.0, 10)
    assert slot.granted and time.monotonic() - before >= 1.0


# A mix of one-, two- and three-segment SMS, the same every run.
_COSTS = [3, 1, 2, 3, 3, 2, 1, 3, 2, 2, 3, 1, 1, 3, 3, 3, 2, 1, 3, 3] * 12
_T0 = 1_800_000_000.0  # an injected instant: the grants do not depend on the machine's speed


def _busiest_window(grants: list[tuple[float, int]]) -> int:
    """The most units begun in any sliding one-second window [s, s + 1 s), to the microsecond."""
    micros = sorted((round(at * 1_000_000), cost) for at, cost in grants)
    busiest = 0
    for i, (start, _) in enumerate(micros):
        units = sum(c for at, c in micros[i:] if at < start + 1_000_000)
        busiest = max(busiest, units)
    return busiest


def test_granted_turns_never_hold_more_than_r_units_in_any_one_second_window(store):
    """Each turn asked for as the last was granted, and taken whenever it comes (a queue)."""
    grants = []
    for i, cost in enumerate(_COSTS):
        slot = pace.grant(store, "twilio:sms:exact", cost, 50, 3600, now=_T0 + i * 0.001)
        assert slot.granted
        grants.append((slot.at, cost))
    assert _busiest_window(grants) <= 50
    # Close to R all the same: only the packing of whole SMS is lost.
    span = max(at for at, _ in grants) - _T0
    assert sum(_COSTS[:-1]) / span >= 0.95 * 50


def test_turns_begun_right_away_or_not_never_exceed_r_in_any_window(store):
    """Three senders' threads asking to begin now (no wait granted), and again when told."""
    grants = []
    asks = [(_T0 + i * 0.004, cost) for i, cost in enumerate(_COSTS)]
    while asks:
        asks.sort()
        now, cost = asks.pop(0)
        slot = pace.grant(store, "twilio:sms:begun", cost, 50, 0.0, now=now)
        if slot.granted:
            assert slot.at == pytest.approx(now, abs=1e-6)
            grants.append((slot.at, cost))
        else:
            assert slot.wait > 0
            asks.append((now + slot.wait, cost))
    assert len(grants) == len(_COSTS)
    assert _busiest_window(grants) <= 50
    span = max(at for at, _ in grants) - _T0
    assert sum(_COSTS[:-1]) / span >= 0.95 * 50


def test_a_turn_costing_more_than_r_goes_alone_in_its_own_second(store):
    """A four-segment SMS at R = 3 never blocks forever: it has a second to itself."""
    grants = []
    for i, cost in enumerate([1, 4, 2, 4, 1, 1]):
        slot = pace.grant(store, "twilio:sms:long", cost, 3, 3600, now=_T0 + i * 0.001)
        assert slot.granted
        grants.append((slot.at, cost))
    for at, cost in grants:
        if cost > 3:
            others = [a for a, _ in grants if a != at and abs(a - at) < 1.0]
            assert others == [], (at, grants)
    assert _busiest_window([g for g in grants if g[1] <= 3]) <= 3


def test_turns_of_a_three_segment_sms_are_spread_evenly_with_room_for_arrival_jitter(store):
    """At R = 50, 16 three-segment SMS fit in a second: each turn is 1/16 s and a margin apart.

    Packed at 3/R s (and held back by the sliding second only every 17th), the 17th send
    would start a hair over a second after the 1st, so any lateness of the 1st on its way to
    the provider (or earliness of the 17th) puts 51 segments into one second there.
    """
    key = "twilio:sms:even"
    starts = [
        store.reserve(key, pace.spacing(3, 50), 3600, now=_T0 + i * 0.001).at for i in range(48)
    ]
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert max(gaps) - min(gaps) < 1e-4  # even: no bursts, no long pauses
    # Any 17 turns in a row span more than a second by a margin that absorbs arrival jitter.
    assert min(starts[i + 16] - starts[i] for i in range(len(starts) - 16)) >= 1.0075
    # And the rate stays within the goal: at least 95 % of R.
    assert 3 * (len(starts) - 1) / (starts[-1] - starts[0]) >= 0.95 * 50


def test_a_send_dearer_than_the_rate_keeps_the_average_at_the_rate(store):
    """A two-segment SMS on a long code (R = 1): its turns are two seconds apart, not one.

    It goes alone in a second of its own (the sliding log lets a send above R through when
    nothing else is in its second), so only the queue's spacing keeps the long-run rate at R.
    """
    key = "twilio:sms:dear"
    starts = [
        store.reserve(key, pace.spacing(2, 1), 3600, now=_T0 + i * 0.001).at for i in range(6)
    ]
    assert (starts[-1] - starts[0]) >= 2 * (len(starts) - 1)  # 2 segments every 2 s: R = 1
    assert pace.spacing(1, 1) < 1.1  # one segment at R = 1: one a second (and the guard)


def test_a_send_waits_for_its_turn_after_its_delivery_is_marked(
    post_interaction, make_org, make_default_rule, twilio_api, monkeypatch
):
    """The marking's commit happens while the turn is awaited, never between turn and request."""
    settings.put("sms_segments_per_second", 1)
    db.session.commit()
    pace.store().reserve("twilio:sms:+15005550006", 3.0, 60)  # someone else's next 3 s
    invitation = _mainland_invitation(post_interaction, make_org, make_default_rule)
    states_while_waiting: list[list[str]] = []

    def note_and_skip(seconds: float) -> None:
        with db.engine.connect() as other:
            states_while_waiting.append(
                list(
                    other.scalars(
                        sa.select(Delivery.state).where(Delivery.invitation_id == invitation.id)
                    )
                )
            )

    monkeypatch.setattr(pace.time, "sleep", note_and_skip)
    assert sending.send_invitation(invitation.id) == "sent"
    # The first wait is for the turn: the delivery is marked 'sending' by then.
    assert states_while_waiting and states_while_waiting[0] == ["sending"]
    assert len(twilio_api.sent("/Messages.json")) == 1


def _mainland_invitation(post_interaction, make_org, make_default_rule, body: str | None = None):
    make_org()
    make_default_rule(channels=["sms"])
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    answer = post_interaction(interaction_body()).get_json()
    return db.session.get_one(Invitation, answer["invitation"]["id"])


@pytest.fixture
def app_config(twilio_api):
    return {**twilio_api.app_config, "SURVEY_PACE_SENDS": True}


def test_an_sms_costs_its_segments_of_the_senders_rate(
    post_interaction, make_org, make_default_rule, twilio_api, monkeypatch
):
    reserved: list[tuple[str, str, int]] = []
    real = pace.reserve

    def spy(sender, channel, cost, max_wait):
        reserved.append((sender, channel, cost))
        return real(sender, channel, cost, max_wait)

    monkeypatch.setattr(pace, "reserve", spy)
    invitation = _mainland_invitation(post_interaction, make_org, make_default_rule)
    assert sending.send_invitation(invitation.id) == "sent"
    (body,) = [e.value("Body") for e in twilio_api.sent("/Messages.json")]
    # The mainland template in Chinese, anti-fraud line included: UCS-2, 67 units a segment
    # once split (141 units with the test's link: three).
    assert len(body) > 134 and "不会索取密码" in body
    assert reserved == [("twilio:sms:+15005550006", "sms", 3)]


def test_a_busy_sender_leaves_the_invitation_scheduled_for_its_turn(
    post_interaction, make_org, make_default_rule, twilio_api
):
    settings.put("sms_segments_per_second", 0.1)  # one segment every 10 s
    db.session.commit()
    pace.store().reserve("twilio:sms:+15005550006", 60.0, 60)  # someone else's minute
    invitation = _mainland_invitation(post_interaction, make_org, make_default_rule)
    before = clock.now()
    assert sending.send_invitation(invitation.id) == "paced"
    db.session.refresh(invitation)
    assert invitation.state == "scheduled" and invitation.deliveries == []
    assert (invitation.scheduled_at - before).total_seconds() == pytest.approx(60, abs=2)
    assert twilio_api.sent("/Messages.json") == []


@pytest.mark.parametrize(("link_minutes", "expected"), [(None, "7200"), (30, "1800")])
def test_an_sms_never_waits_at_twilio_past_its_links_life_or_the_setting(
    post_interaction, make_org, make_default_rule, twilio_api, link_minutes, expected
):
    settings.put("sms_segments_per_second", 0)  # pacing off: only the validity is looked at
    settings.put("sms_validity_hours", 2)
    db.session.commit()
    invitation = _mainland_invitation(post_interaction, make_org, make_default_rule)
    if link_minutes:
        invitation.expires_at = clock.now() + timedelta(minutes=link_minutes)
        db.session.commit()
    assert sending.send_invitation(invitation.id) == "sent"
    (sent,) = twilio_api.sent("/Messages.json")
    assert sent.value("ValidityPeriod") == expected


class _Noting:
    """A store that notes when each send was let begin: the instant the limiter answers for.

    The instant is the one the store granted, on its own clock, inside its atomic
    reservation: a time taken by the process afterwards moves with every pause of a
    loaded machine, which says nothing about the limiter.
    """

    def __init__(self, store: pace.Store) -> None:
        self.store, self.begun = store, []

    def reserve(
        self, key: str, seconds: float, max_wait: float, now: float | None = None
    ) -> pace.Slot:
        return self.store.reserve(key, seconds, max_wait, now)

    def grant(
        self,
        key: str,
        cost: int,
        limit: float,
        window: float,
        max_wait: float,
        now: float | None = None,
    ) -> pace.Slot:
        slot = self.store.grant(key, cost, limit, window, max_wait, now)
        if key.endswith(":begun") and slot.granted:
            self.begun.append(slot.at)
        return slot


def _worker(kind: str, target: str, key: str, rate: float, seconds: float, out) -> None:
    """One sending process: take each turn at the rate; report when each send began."""
    store = pace.RedisStore(REDIS_URL, target) if kind == "redis" else pace.SqliteStore(target)
    noting = _Noting(store)
    deadline = time.time() + seconds
    while time.time() < deadline:
        slot = pace.take_turn(noting, key, 1, rate, 5)
        if not slot.granted:
            time.sleep(min(slot.wait, 1))
    out.put((kind, noting.begun))


def _busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + 1) for start in times)


@pytest.mark.slow
def test_two_worker_processes_never_exceed_the_rate_in_any_second(tmp_path):
    """1 unit a second for 60 s, shared by two processes, on the local store and on Redis."""
    redis_prefix = f"survey-test-{secrets.token_hex(4)}"
    redis = _redis_store()  # fails (CI) or skips when Redis is not there
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    runs = [("sqlite", str(tmp_path / "queue.sqlite3")), ("redis", redis_prefix)]
    processes = [
        ctx.Process(target=_worker, args=(kind, target, "twilio:sms:+1", 1.0, 60, out))
        for kind, target in runs
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    try:
        results = [out.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        for key in redis.redis.scan_iter(f"{redis_prefix}:pace:*"):
            redis.redis.delete(key)
    for kind, _target in runs:
        times = [t for k, sent in results if k == kind for t in sent]
        assert _busiest_second(times) == 1, kind
        # Spread evenly between the two processes' turns, close to the rate itself.
        # Never more than the rate allows over the span the sends took (the processes start
        # a few seconds apart on a loaded machine, so the span can pass 60 s).
        span = max(times) - min(times)
        assert 55 <= len(times) <= span / (1 + pace.GUARD) + 1, (kind, len(times), span)
