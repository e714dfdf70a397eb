"""The working calendar: complaint deadlines in working days, follow-up due times in working hours."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from survey.workcal import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")


def cal(**kw) -> WorkCalendar:
    return WorkCalendar.build("Asia/Shanghai", **kw)


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_weekends_and_holidays_are_not_working_days_make_up_days_are():
    c = cal(holidays=["2026-10-01", "2026-10-02"], makeup=["2026-10-10"])
    assert c.is_working_day(date(2026, 9, 30))  # Wednesday
    assert not c.is_working_day(date(2026, 10, 1))  # holiday Thursday
    assert not c.is_working_day(date(2026, 10, 3))  # Saturday
    assert c.is_working_day(date(2026, 10, 10))  # make-up Saturday


def test_five_working_days_from_a_friday_end_the_next_friday_at_midnight():
    c = cal()
    deadline = c.working_days_deadline(at(2026, 12, 4, 16), 5)  # Friday afternoon
    assert deadline == at(2026, 12, 12).astimezone(UTC)  # end of Friday 11 December


def test_a_holiday_inside_the_window_moves_the_deadline_a_working_day_later():
    c = cal(holidays=["2026-12-08"])
    assert c.working_days_deadline(at(2026, 12, 4, 16), 5) == at(2026, 12, 15).astimezone(UTC)


def test_the_day_is_the_bank_zone_day_not_the_utc_day():
    c = cal()
    # 17:00 UTC on Sunday is 01:00 Monday in Shanghai: day 0 is the Monday.
    opened = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
    assert c.local_day(opened) == date(2026, 12, 7)
    assert c.working_days_deadline(opened, 1) == at(2026, 12, 9).astimezone(UTC)


def test_24_working_hours_from_saturday_night_are_due_wednesday_afternoon():
    c = cal()
    due = c.add_working_hours(at(2026, 12, 5, 22), 24)
    assert due == at(2026, 12, 9, 15).astimezone(UTC)


def test_working_hours_start_counting_at_the_opening_of_the_day_and_stop_at_its_close():
    c = cal(day_start="09:00", day_end="18:00")
    assert c.add_working_hours(at(2026, 12, 7, 7, 30), 1) == at(2026, 12, 7, 10).astimezone(UTC)
    assert c.add_working_hours(at(2026, 12, 7, 17, 30), 1) == at(2026, 12, 8, 9, 30).astimezone(UTC)
    assert c.add_working_hours(at(2026, 12, 7, 12), 6) == at(2026, 12, 7, 18).astimezone(UTC)


def test_working_hours_between_is_the_inverse_of_adding_them():
    c = cal(holidays=["2026-12-08"], day_start="08:30", day_end="17:30")
    start = at(2026, 12, 4, 16, 15)
    for hours in (0.5, 1, 9, 24, 40.25):
        due = c.add_working_hours(start, hours)
        assert c.working_hours_between(start, due) == pytest.approx(hours)
    assert c.working_hours_between(at(2026, 12, 7, 12), at(2026, 12, 7, 11)) == 0


def test_a_calendar_without_working_time_is_refused_not_looped():
    with pytest.raises(ValueError):
        cal(day_start="18:00", day_end="09:00").add_working_hours(at(2026, 12, 7), 1)
    every_day = [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(4000)]
    with pytest.raises(ValueError):
        cal(holidays=every_day).add_working_days(date(2026, 1, 1), 1)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        cal().add_working_hours(datetime.combine(date(2026, 12, 7), time(9)), 1)
