"""The organisation settings form's fields: what each accepts, and every value checked."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from survey import retention, settings
from survey.extensions import db
from survey.models import BusinessLine, User
from survey.zones import is_place_zone

HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
SIGNATURE_CHARS = (2, 16)  # what Chinese carriers accept between the brackets
RANGES = {
    "frequency_window_days": (1, 365),
    "min_n": (1, 1000),
    "link_lifetime_hours": (1, 720),
    "partial_close_hours": (1, 720),
    "sms_validity_hours": (1, 10),  # Twilio holds an SMS 10 hours at the most
    "complaint_first_reply_hours": (1, 720),
    "complaint_final_working_days": (1, 60),
    "complaint_regulator_days": (1, 90),
    "followup_due_hours": (1, 400),
}
FOLLOWUP_THRESHOLDS = {
    "followup_overall_max": 4,
    "followup_nps_max": 9,
    "followup_complaint_max": 4,
}
FOLLOWUP_ASSIGNMENTS = ("round_robin", "business_line")
KEYWORD_SPLIT = re.compile(r"[\n,，、;；]+")
MAX_KEYWORDS = 200
# What a resolved complaint case's stored outcomes depend on (survey.scoring.complaint_outcomes).
COMPLAINT_OUTCOME_SETTINGS = {
    "holidays",
    "makeup_workdays",
    "complaint_first_reply_hours",
    "complaint_final_working_days",
    "complaint_regulator_days",
}


def _int_in(raw: Any, low: int, high: int) -> int:
    text = str(raw if raw is not None else "").strip()
    if not re.fullmatch(r"\d+", text) or not low <= int(text) <= high:
        raise ValueError(
            str(_l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high))
        )
    return int(text)


def _dates(raw: Any) -> list[str]:
    days: set[str] = set()
    for number, line in enumerate(str(raw or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            days.add(date.fromisoformat(line).isoformat())
        except ValueError:
            raise ValueError(
                str(
                    _l(
                        "Line %(n)d: “%(text)s” is not a date like 2026-10-01.",
                        n=number,
                        text=line[:40],
                    )
                )
            ) from None
    return sorted(days)


def _signature(raw: Any) -> str:
    text = str(raw or "").strip()
    inner = text[1:-1]
    if len(text) < 2 or not text.startswith("【") or not text.endswith("】"):
        raise ValueError(str(_l("Write the signature between 【 and 】, e.g. 【示例银行】.")))
    if "【" in inner or "】" in inner:
        raise ValueError(str(_l("Use one pair of brackets only.")))
    low, high = SIGNATURE_CHARS
    if not low <= len(inner.strip()) <= high:
        raise ValueError(
            str(
                _l(
                    "Between the brackets, write %(low)d to %(high)d characters.",
                    low=low,
                    high=high,
                )
            )
        )
    return text


def _name(raw: Any) -> str:
    text = str(raw or "").strip()
    if not text:
        raise ValueError(str(_l("Enter the bank's name.")))
    if len(text) > 60:
        raise ValueError(str(_l("At most %(n)d characters.", n=60)))
    return text


def _zone(raw: Any) -> str:
    text = str(raw or "").strip()
    # The same rule as a customer's zone posted to the API: a real place, by its IANA name.
    if not is_place_zone(text):
        raise ValueError(str(_l("Enter a time zone such as Asia/Shanghai.")))
    return text


def _hh_mm(raw: Any) -> str:
    text = str(raw or "").strip()
    if not HH_MM.match(text):
        raise ValueError(str(_l("Enter a time like 08:00.")))
    return text


def _rate(raw: Any) -> float:
    """A send rate: units a second, from 0 (no limit) to 1,000, decimals allowed (0.5)."""
    text = str(raw if raw is not None else "").strip()
    if not re.fullmatch(r"\d{1,4}(\.\d{1,3})?", text) or float(text) > 1000:
        raise ValueError(str(_l("Enter a rate from 0 to 1000 a second, like 1 or 0.5.")))
    return float(text)


def _threshold(high: int):
    """A follow-up score threshold: blank turns the rule off (stored as -1)."""

    def parse(raw: Any) -> int:
        text = str(raw if raw is not None else "").strip()
        if text in ("", "-1"):
            return -1
        return _int_in(text, 0, high)

    return parse


def _keywords(raw: Any) -> list[str]:
    words: list[str] = []
    for word in KEYWORD_SPLIT.split(str(raw or "")):
        word = word.strip()
        if not word:
            continue
        if len(word) > 40:
            raise ValueError(str(_l("“%(text)s…” is too long for a keyword.", text=word[:20])))
        if word.casefold() not in {w.casefold() for w in words}:
            words.append(word)
    if len(words) > MAX_KEYWORDS:
        raise ValueError(str(_l("At most %(n)d keywords.", n=MAX_KEYWORDS)))
    return words


def _assignment(raw: Any) -> str:
    text = str(raw or "").strip()
    if text not in FOLLOWUP_ASSIGNMENTS:
        raise ValueError(str(_l("Choose how cases are assigned.")))
    return text


def _line_owners(raw: Any) -> list[str]:
    """Lines "business line code: e-mail, e-mail" naming the quality users of each line."""
    lines: list[str] = []
    codes = set(db.session.scalars(sa.select(BusinessLine.code)))
    for number, line in enumerate(str(raw or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        code, colon, people = line.partition(":")
        code, emails = code.strip(), [e.strip() for e in KEYWORD_SPLIT.split(people) if e.strip()]
        if not colon or not emails:
            raise ValueError(
                str(_l("Line %(n)d: write “personal: a@bank.cn, b@bank.cn”.", n=number))
            )
        if code not in codes:
            raise ValueError(
                str(
                    _l(
                        "Line %(n)d: there is no business line “%(code)s”.",
                        n=number,
                        code=code[:40],
                    )
                )
            )
        for email in emails:
            user = db.session.scalar(sa.select(User).where(User.email == email))
            if user is None or user.role != "quality" or not user.active:
                raise ValueError(
                    str(
                        _l(
                            "Line %(n)d: %(email)s is not an active quality user.",
                            n=number,
                            email=email[:60],
                        )
                    )
                )
        lines.append(f"{code}: {', '.join(emails)}")
    return lines


def _yes(raw: Any) -> bool:
    return raw in (True, "y", "on", "1", "true")


def _retention_days(raw: Any) -> int:
    """0 (keep everything) or a number of days; the floor is checked with the other fields.

    Left empty, it is 0: a form from before the setting existed keeps everything.
    """
    if raw is None or not str(raw).strip():
        return 0
    return _int_in(raw, 0, retention.MAX_DAYS)


PARSERS = {
    "bank_name_zh": _name,
    "bank_name_en": _name,
    "sms_signature": _signature,
    "default_timezone": _zone,
    "allowed_hours_start": _hh_mm,
    "allowed_hours_end": _hh_mm,
    "working_hours_start": _hh_mm,
    "working_hours_end": _hh_mm,
    "holidays": _dates,
    "makeup_workdays": _dates,
    "publish_needs_approval": _yes,
    "sms_two_way_mainland": _yes,
    "pii_retention_days": _retention_days,
    "sms_segments_per_second": _rate,
    "calls_per_second": _rate,
    "emails_per_second": _rate,
    **{key: _threshold(high) for key, high in FOLLOWUP_THRESHOLDS.items()},
    "followup_keywords": _keywords,
    "followup_assignment": _assignment,
    "followup_line_owners": _line_owners,
}


def validate(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the form's text into setting values; return them and an error per bad field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    # Only the settings this form knows, and that exist, so another area's new setting is kept.
    for key in [k for k in settings.DEFAULTS if k in PARSERS or k in RANGES]:
        try:
            if key in RANGES:
                values[key] = _int_in(raw.get(key), *RANGES[key])
            else:
                values[key] = PARSERS[key](raw.get(key))
        except ValueError as error:
            errors[key] = str(error)
    start, end = values.get("allowed_hours_start"), values.get("allowed_hours_end")
    if start and end and start >= end:
        errors["allowed_hours_end"] = str(_l("The end must be later than the start."))
    start, end = values.get("working_hours_start"), values.get("working_hours_end")
    if start and end and start >= end:
        errors["working_hours_end"] = str(_l("The end must be later than the start."))
    days = values.get("pii_retention_days")
    if days and "frequency_window_days" in values and "link_lifetime_hours" in values:
        floor = retention.floor_days(values["frequency_window_days"], values["link_lifetime_hours"])
        if days < floor:
            errors["pii_retention_days"] = str(
                _l(
                    "Keep personal data at least %(floor)d days: longer than the frequency "
                    "window and than any survey link lives, which both read recent deliveries. "
                    "Or enter 0 to keep it.",
                    floor=floor,
                )
            )
    for day in values.get("makeup_workdays", []):
        if date.fromisoformat(day).weekday() < 5:
            errors["makeup_workdays"] = str(
                _l("%(day)s is a weekday already; make-up working days fall on a weekend.", day=day)
            )
            break
        if day in values.get("holidays", []):
            errors["makeup_workdays"] = str(_l("%(day)s is also in the holiday list.", day=day))
            break
    return values, errors
