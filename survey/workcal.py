"""The bank's working calendar: working days, working hours, and deadlines counted on them.

DESIGN.md: working days are Monday–Friday minus the holidays the admin keeps, plus the
make-up working days (weekend days worked in exchange for a holiday). Complaint
commitments ("finally handled within 5 working days") count working days; follow-up
cases ("due within 24 working hours") count working hours inside the working day
(``working_hours_start``–``working_hours_end``, default 09:00–18:00). Every day here is
a day in the bank's zone; instants go in and come out time-zone aware.

The calendar is a plain value: build it from the settings once (``from_settings``) and
ask it as often as needed; nothing here reads the database or the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A deadline search never walks further than this many days (a calendar of nothing but
# holidays is a mistake in the settings, not a reason to loop for ever).
MAX_DAYS = 3660


@dataclass(frozen=True)
class WorkCalendar:
    zone: ZoneInfo
    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup: frozenset[date] = field(default_factory=frozenset)
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)

    @classmethod
    def build(
        cls,
        zone: str,
        holidays: Iterable[str | date] = (),
        makeup: Iterable[str | date] = (),
        day_start: str | time = "09:00",
        day_end: str | time = "18:00",
    ) -> WorkCalendar:
        """Return a calendar from settings-shaped values (ISO dates, "HH:MM" times)."""
        return cls(
            zone=ZoneInfo(zone),
            holidays=frozenset(_day(d) for d in holidays),
            makeup=frozenset(_day(d) for d in makeup),
            day_start=_clock(day_start),
            day_end=_clock(day_end),
        )

    # -- days --------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """A weekday that is no holiday, or a make-up working day."""
        if day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.makeup

    def local_day(self, instant: datetime) -> date:
        """The day in the bank's zone on which ``instant`` falls."""
        return _aware(instant).astimezone(self.zone).date()

    def add_working_days(self, day: date, count: int) -> date:
        """The working day ``count`` working days after ``day`` (``day`` itself not counted)."""
        for _ in range(MAX_DAYS):
            if count <= 0:
                return day
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        raise ValueError("no working days in the calendar")

    def working_days_deadline(self, start: datetime, count: int) -> datetime:
        """The end (midnight after, bank's zone) of the ``count``-th working day after ``start``'s day.

        "Handled within 5 working days" of a complaint opened on Friday means by the end
        of the following Friday when no holiday intervenes; the day it was opened is day 0.
        """
        last = self.add_working_days(self.local_day(start), count)
        return datetime.combine(last + timedelta(days=1), time(0), self.zone).astimezone(UTC)

    # -- hours -------------------------------------------------------------------------

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(day, self.day_start, self.zone),
            datetime.combine(day, self.day_end, self.zone),
        )

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The instant ``hours`` working hours after ``start`` (time outside working hours skipped).

        A case opened on Saturday at 22:00 with 24 working hours and a 9-hour working day
        is due on Wednesday at 15:00 (Mon 9 h, Tue 9 h, Wed 6 h).
        """
        if self.day_end <= self.day_start:
            raise ValueError("the working day ends before it starts")
        remaining = timedelta(hours=hours)
        moment = _aware(start).astimezone(self.zone)
        day = moment.date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(moment, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
            moment = datetime.combine(day, time(0), self.zone)
        raise ValueError("no working hours in the calendar")

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """How many working hours lie between two instants (0 when ``end`` is not after ``start``)."""
        begin, finish = _aware(start).astimezone(self.zone), _aware(end).astimezone(self.zone)
        if finish <= begin:
            return 0.0
        total = timedelta(0)
        day = begin.date()
        for _ in range(MAX_DAYS):
            if day > finish.date():
                break
            if self.is_working_day(day):
                opens, closes = self._window(day)
                lo, hi = max(begin, opens), min(finish, closes)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 3600


def from_settings() -> WorkCalendar:
    """The calendar the admin keeps (holidays, make-up days, working hours) in the bank's zone."""
    from survey import settings

    return WorkCalendar.build(
        settings.bank_zone(),
        settings.get("holidays"),
        settings.get("makeup_workdays"),
        settings.get("working_hours_start"),
        settings.get("working_hours_end"),
    )


def _day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _clock(value: str | time) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("the working calendar only takes time-zone-aware instants")
    return instant
