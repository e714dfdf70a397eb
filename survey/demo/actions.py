"""What the demo bank changed during its history, and what that did to its customers' answers.

Three improvement actions, recorded by the quality lead on the day each started:

- **Coaching for the credit-card centre** (training, 45 days before the last day): from that
  day its agents are liked better (``COACHING_LIFT`` scale points on attitude, and on complaint
  handling as skill counts there): its CSAT rises against the rest of the bank's.
- **More agents on every shift** (process change, aimed at the wait-time dimension, the same
  day): every queue wait is 40% shorter from then on, so wait time improves against the
  other dimensions.
- **A new loan leaflet** (product change, aimed at the loan category, 20 days before the last
  day): it changes nothing in the answers, and its after window is still open when the demo
  ends, so its page says it is not judged yet.

The lifts add to numbers already drawn; they take nothing from the random streams, so every
other answer of a seed is the same with or without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from survey import clock
from survey.actions import service
from survey.extensions import db
from survey.models import User

COACHED_LINE = "credit_card"
COACHING_LIFT = 0.6
COACHING_DAYS_BEFORE_END = 45
LEAFLET_DAYS_BEFORE_END = 20


@dataclass(frozen=True)
class Timeline:
    """The days the demo's actions start (the bank's days) and the instant each begins."""

    coaching_on: date
    staffing_on: date
    leaflet_on: date
    coaching_from: datetime
    staffing_from: datetime

    @classmethod
    def ending(cls, today: date, zone: ZoneInfo) -> Timeline:
        coaching = today - timedelta(days=COACHING_DAYS_BEFORE_END)
        start = datetime.combine(coaching, time(0), zone).astimezone(UTC)
        return cls(
            coaching_on=coaching,
            staffing_on=coaching,
            leaflet_on=today - timedelta(days=LEAFLET_DAYS_BEFORE_END),
            coaching_from=start,
            staffing_from=start,
        )

    def skill_lift(self, line: str, occurred_at: datetime) -> float:
        """How much better an agent of ``line`` is liked at ``occurred_at`` than before coaching."""
        return COACHING_LIFT if line == COACHED_LINE and occurred_at >= self.coaching_from else 0.0

    def staffed(self, occurred_at: datetime) -> bool:
        """Whether every shift had its extra agents at ``occurred_at``."""
        return occurred_at >= self.staffing_from


STORIES = (
    # (attribute of the start day, kind, target kind, code, zh, en, description zh, en)
    (
        "coaching_on",
        "training",
        "business_line",
        COACHED_LINE,
        "信用卡中心服务态度辅导",
        "Service coaching for the credit-card centre",
        "每位坐席与质检主管逐一复听录音，练习倾听与安抚。",
        "Each agent reviewed recorded calls one to one with a quality lead, "
        "practising listening and calming.",
    ),
    (
        "staffing_on",
        "process_change",
        "dimension",
        "wait_time",
        "各班次增派坐席",
        "More agents on every shift",
        "新招聘的坐席完成培训后上岗，每个班次增加在线人数。",
        "The newly hired agents finished their training and joined every shift.",
    ),
    (
        "leaflet_on",
        "product_change",
        "category",
        "loan",
        "新版贷款产品说明",
        "New loan product leaflet",
        "",
        "",
    ),
)


def record(timeline: Timeline, quality_user_id: int, today: date, zone: ZoneInfo) -> int:
    """Record the demo's actions as the quality lead did, each on its day; return how many."""
    author = db.session.get(User, quality_user_id)
    for day_field, kind, target_kind, code, title_zh, title_en, text_zh, text_en in STORIES:
        day = getattr(timeline, day_field)
        with clock.backdated(datetime.combine(day, time(9, 30), zone)):
            service.create(
                author,
                service.Draft(
                    title_zh=title_zh,
                    title_en=title_en,
                    kind=kind,
                    started_on=day,
                    target_kind=target_kind,
                    target_code=code,
                    description_zh=text_zh,
                    description_en=text_en,
                ),
                today,
            )
    return len(STORIES)
