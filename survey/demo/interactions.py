"""Days of demo interactions, one day at a time, with the complaint facts the dashboards report on.

A small demo covers 90 days; a bigger one covers more days (up to three years),
with more agents and more customers, rather than more of the same days.
Complaint shares (category, cause, resolved at first handling) are dealt out
from shuffled decks of exact quotas, so every demo shows the bank's stated mix
rather than a random wobble around it; everything else is drawn at random.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from survey.demo.actions import Timeline
from survey.demo.draws import Weights
from survey.demo.org import Organisation
from survey.demo.people import Customers, DemoCustomer
from survey.workcal import WorkCalendar

DAYS = 90  # the history of a demo up to BASE_SIZE interactions
BASE_SIZE = 20_000
MAX_DAYS = 3 * 365
DECK = 100  # complaint quotas are exact within every hundred complaints
COMPLAINT_CATEGORIES = {"account": 0.40, "credit_card": 0.25, "e_banking": 0.20, "loan": 0.15}
COMPLAINT_CAUSES = {"attitude": 0.40, "process": 0.30, "system": 0.20, "other": 0.10}
RESOLVED_AT_FIRST_HANDLING = 0.90

TYPES = {"inquiry": 0.68, "complaint": 0.17, "outbound": 0.15}
CHANNELS = {
    "inquiry": {"phone": 55, "chat": 18, "app": 10, "email": 8, "branch": 9},
    "complaint": {"phone": 60, "email": 12, "branch": 12, "chat": 10, "app": 6},
    "outbound": {"phone": 100},
}
CATEGORIES = {
    "inquiry": {"account": 35, "credit_card": 25, "e_banking": 20, "loan": 10, "other": 10},
    "outbound": {"credit_card": 40, "loan": 30, "account": 20, "other": 10},
}
LINES = {
    "credit_card": {"credit_card": 100},
    "account": {"personal": 80, "corporate": 20},
    "e_banking": {"personal": 80, "corporate": 20},
    "loan": {"personal": 60, "corporate": 40},
    "other": {"personal": 70, "corporate": 20, "credit_card": 10},
}
TEAM_SUFFIX = {"inquiry": "inquiries", "complaint": "complaints", "outbound": "outbound"}
EXTERNAL_PREFIX = {"phone": "CALL", "chat": "CHAT", "email": "MAIL", "branch": "BRCH", "app": "APP"}
# Contacts per opening hour (08:00–19:59), peaking mid-morning and mid-afternoon.
HOURS = {8: 4, 9: 8, 10: 10, 11: 9, 12: 6, 13: 5, 14: 8, 15: 9, 16: 8, 17: 6, 18: 4, 19: 2}
WEEKDAY_VOLUME = (1.15, 1.0, 1.0, 1.0, 1.05, 0.55, 0.45)
# (median seconds, spread) of the queue wait, before the busy-hour and staffing factors.
# Queue waits once the extra staff are on every shift (survey.demo.actions).
STAFFED = 0.6
WAITS = {"phone": (45, 1.0), "chat": (25, 0.9), "app": (20, 0.8), "branch": (420, 0.6)}


@dataclass(slots=True)
class DemoInteraction:
    external_id: str
    occurred_at: datetime
    channel: str
    type: str
    line: str
    team: str
    agent_id: int
    category: str
    wait_seconds: int | None
    customer: DemoCustomer
    opened_at: datetime | None = None
    first_reply_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_first_contact: bool | None = None
    cause: str | None = None
    resolved_in_working_days: int | None = None
    suppression_reason: str | None = None
    id: int = 0
    case_id: int | None = None  # the complaint case's row, for a complaint
    number: int = 0  # place in time order, from 1


def scale(size: int) -> float:
    """How many times bigger than the 90-day demo a bank of ``size`` interactions is.

    The days and the staff each grow with the cube root of the size (the rest goes
    into more contacts a day): 1,000,000 interactions cover a year with about 3.7
    times the agents, 10,000,000 nearly two years with about 8 times (capped at three years).
    """
    return max(1.0, size / BASE_SIZE) ** (1 / 3)


def history_days(size: int) -> int:
    """Return how many days of history a demo of ``size`` interactions covers."""
    return min(round(DAYS * scale(size)), MAX_DAYS)


def quota(rng: random.Random, shares: dict[str, float], n: int) -> list[str]:
    """Deal out ``n`` labels in exactly the given shares (largest remainder), shuffled."""
    exact = {label: share * n for label, share in shares.items()}
    counts = {label: math.floor(value) for label, value in exact.items()}
    by_remainder = sorted(exact, key=lambda label: exact[label] - counts[label], reverse=True)
    for label in by_remainder[: n - sum(counts.values())]:
        counts[label] += 1
    labels = [label for label, count in counts.items() for _ in range(count)]
    rng.shuffle(labels)
    return labels


class Deck:
    """Deal labels in exact shares: each block of ``DECK`` is a shuffled quota (largest remainder)."""

    def __init__(self, rng: random.Random, shares: dict[str, float]) -> None:
        self._rng, self._shares = rng, shares
        self._cards: list[str] = []

    def deal(self) -> str:
        if not self._cards:
            self._cards = quota(self._rng, self._shares, DECK)
            self._cards.reverse()
        return self._cards.pop()


_TYPES = Weights(TYPES)
_CHANNELS = {kind: Weights(weights) for kind, weights in CHANNELS.items()}
_CATEGORIES = {kind: Weights(weights) for kind, weights in CATEGORIES.items()}
_LINES = {category: Weights(weights) for category, weights in LINES.items()}


def _day_counts(days: list[date], size: int, last_day_share: float) -> list[int]:
    """Spread ``size`` interactions over the days by weekday volume (largest remainder)."""
    weights = [WEEKDAY_VOLUME[d.weekday()] for d in days]
    weights[-1] *= last_day_share
    total = sum(weights)
    exact = [size * w / total for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(days)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    return counts


def _wait(
    rng: random.Random, channel: str, at: datetime, progress: float, staffed: bool = False
) -> int | None:
    """Queue wait: a long tail, longer in busy hours and on Mondays, shorter as staffing improves.

    :param staffed: every shift has its extra agents (survey.demo.actions): waits are shorter.
    """
    if channel not in WAITS:
        return None
    median, spread = WAITS[channel]
    busy = 1.35 if at.hour in (10, 11, 14, 15) else 0.8 if at.hour in (8, 19) else 1.0
    if staffed:
        busy *= STAFFED
    monday = 1.25 if at.weekday() == 0 else 1.0
    staffing = 1.25 - 0.4 * progress  # the bank hired in the period: waits fall over time
    seconds = median * math.exp(rng.gauss(0, spread)) * busy * monday * staffing
    return min(int(seconds), 3600)


def _local(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), zone)


class InteractionStream:
    """Generate the interactions of each day in turn, in time order, numbered and given ids.

    :param first_id: the id of the first interaction; the others follow in time order.
    """

    def __init__(
        self,
        rng: random.Random,
        size: int,
        last_day: date,
        as_of: datetime,
        zone: ZoneInfo,
        org: Organisation,
        customers: Customers,
        calendar: WorkCalendar,
        first_id: int,
        timeline: Timeline | None = None,
    ) -> None:
        self.rng, self.as_of, self.zone, self.org = rng, as_of, zone, org
        self.timeline = timeline
        self.customers, self.calendar = customers, calendar
        self.first_id = first_id
        count = history_days(size)
        self.days = [last_day - timedelta(days=count - 1 - i) for i in range(count)]
        local_now = as_of.astimezone(zone)
        # Today only has the hours that are over, with an hour to spare for the work they started.
        self.open_hours = [
            h for h in HOURS if local_now.date() > last_day or h + 1 < local_now.hour
        ]
        last_day_share = sum(HOURS[h] for h in self.open_hours) / sum(HOURS.values())
        self.counts = _day_counts(self.days, size, last_day_share)
        self.categories = Deck(rng, COMPLAINT_CATEGORIES)
        self.causes = Deck(rng, COMPLAINT_CAUSES)
        first_contact = {"yes": RESOLVED_AT_FIRST_HANDLING, "no": 1 - RESOLVED_AT_FIRST_HANDLING}
        self.resolved_first = Deck(rng, first_contact)
        self.numbered = 0

    def day(self, day_number: int) -> list[DemoInteraction]:
        """Return the interactions of the ``day_number``-th day (from 0), in time order."""
        rng, org, zone = self.rng, self.org, self.zone
        day, count = self.days[day_number], self.counts[day_number]
        hours = self.open_hours if day == self.days[-1] else list(HOURS)
        if not hours:
            return []  # today, before the bank's first hour is over (its share is nothing)
        hour_of_day = Weights((h, HOURS[h]) for h in hours)
        types = [_TYPES.draw(rng) for _ in range(count)]
        who = self.customers.pick(rng, count)
        staffing_progress = day_number / max(len(self.days) - 1, 1)
        found: list[DemoInteraction] = []
        for kind, customer in zip(types, who, strict=True):
            channel = _CHANNELS[kind].draw(rng)
            if channel == "branch" and day.weekday() == 6:
                channel = "phone"  # branches close on Sundays
            hour = hour_of_day.draw(rng)
            at = _local(day, hour, rng.randrange(60), zone) + timedelta(seconds=rng.randrange(60))
            category = (
                self.categories.deal() if kind == "complaint" else _CATEGORIES[kind].draw(rng)
            )
            line = _LINES[category].draw(rng)
            team, agent_id = rng.choice(org.pools[(line, TEAM_SUFFIX[kind])])
            interaction = DemoInteraction(
                external_id="",
                occurred_at=at.astimezone(UTC),
                channel=channel,
                type=kind,
                line=line,
                team=team,
                agent_id=agent_id,
                category=category,
                wait_seconds=_wait(
                    rng,
                    channel,
                    at,
                    staffing_progress,
                    self.timeline is not None and self.timeline.staffed(at),
                ),  # fmt: skip
                customer=customer,
            )
            if kind == "complaint":
                _complaint_facts(
                    rng, interaction, self.causes.deal(), self.resolved_first.deal() == "yes",
                    self.as_of, zone, self.calendar,
                )  # fmt: skip
            found.append(interaction)

        found.sort(key=lambda i: i.occurred_at)
        year = day.year
        for interaction in found:
            self.numbered += 1
            interaction.number = self.numbered
            interaction.id = self.first_id + self.numbered - 1
            prefix = EXTERNAL_PREFIX[interaction.channel]
            interaction.external_id = f"{prefix}-{year}-{self.numbered:06d}"
        return found


def _complaint_facts(
    rng: random.Random,
    interaction: DemoInteraction,
    cause: str,
    resolved_first: bool,
    as_of: datetime,
    zone: ZoneInfo,
    calendar: WorkCalendar,
) -> None:
    """Fill in when a complaint was opened, first answered and finally resolved."""
    opened = interaction.occurred_at
    interaction.opened_at = opened
    interaction.cause = cause
    interaction.resolved_first_contact = resolved_first
    if resolved_first:
        handled = opened + timedelta(minutes=rng.uniform(3, 25))
        interaction.first_reply_at = handled
        interaction.resolved_at = handled
        interaction.resolved_in_working_days = 0
        return
    # Escalated: a first reply mostly within hours, a final result mostly within 5 working days.
    interaction.first_reply_at = opened + timedelta(hours=5 * math.exp(rng.gauss(0, 1.0)))
    if interaction.first_reply_at > as_of:
        interaction.first_reply_at = None
    working_days = rng.choices(
        [1, 2, 3, 4, 5, rng.randint(6, 10), rng.randint(11, 20)],
        [20, 20, 18, 12, 10, 15, 5],
    )[0]
    day = calendar.add_working_days(opened.astimezone(zone).date(), working_days)
    resolved = _local(day, rng.randint(9, 17), rng.randrange(60), zone).astimezone(UTC)
    if interaction.first_reply_at and resolved < interaction.first_reply_at:
        resolved = interaction.first_reply_at + timedelta(hours=1)
    stuck = rng.random() < 0.03  # a few cases drag on with no end in sight
    if resolved <= as_of and not stuck:
        interaction.resolved_at = resolved
        interaction.resolved_in_working_days = working_days
