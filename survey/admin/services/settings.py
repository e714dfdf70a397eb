"""The organisation settings form's rules: check every value, save all or nothing, say what changed."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from survey import audit, hints, pseudonyms, retention, settings
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


def current() -> dict[str, Any]:
    """Return the settings as they are, defaults filled in."""
    return settings.all_settings()


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


def save(actor: User, values: dict[str, Any]) -> list[str]:
    """Store the changed settings with one audit record and commit; return what each change does.

    A change of what complaint cases' outcomes depend on leaves the cases to be stamped
    again by a worker (``survey.scoring.complaint_outcomes.restamp``; minutes at a bank's
    size): until then the complaints figures work those cases out one by one, right but
    slower. The sweep finds them too, should the queue not take the hint.
    """
    before = current()
    old, new = audit.changes(before, values)
    for key, value in new.items():
        settings.put(key, value, actor.id)
    if new:
        audit.record(actor, "settings.update", "settings", None, old, new)
    db.session.commit()
    if COMPLAINT_OUTCOME_SETTINGS & new.keys():
        hints.restamp_soon()
    return effects(new, values)


def effects(changed: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Say, in the admin's language, where each change will be seen."""
    said: list[str] = []
    if "sms_signature" in changed:
        said.append(
            str(
                _l(
                    "SMS previews will now start with %(signature)s.",
                    signature=values["sms_signature"],
                )
            )
        )
    if {"bank_name_zh", "bank_name_en"} & changed.keys():
        said.append(
            str(
                _l(
                    "Pages and messages now name the bank “%(zh)s” / “%(en)s”.",
                    zh=values["bank_name_zh"],
                    en=values["bank_name_en"],
                )
            )
        )
    if "default_timezone" in changed:
        said.append(
            str(
                _l(
                    "Customers without a time zone of their own are now taken to be in %(zone)s.",
                    zone=values["default_timezone"],
                )
            )
        )
    if {"allowed_hours_start", "allowed_hours_end"} & changed.keys():
        said.append(
            str(
                _l(
                    "Surveys are now sent only between %(start)s and %(end)s in the customer's time "
                    "zone; the rest wait until then.",
                    start=values["allowed_hours_start"],
                    end=values["allowed_hours_end"],
                )
            )
        )
    if "frequency_window_days" in changed:
        said.append(
            str(
                _l(
                    "A customer is now asked at most once every %(n)d days.",
                    n=values["frequency_window_days"],
                )
            )
        )
    if "min_n" in changed:
        said.append(str(_l("Scores are now shown only from %(n)d answers up.", n=values["min_n"])))
    if {"holidays", "makeup_workdays"} & changed.keys():
        said.append(
            str(
                _l(
                    "Working days now leave out %(h)d holidays and add %(m)d make-up days.",
                    h=len(values["holidays"]),
                    m=len(values["makeup_workdays"]),
                )
            )
        )
    if COMPLAINT_OUTCOME_SETTINGS & changed.keys():
        said.append(
            str(
                _l(
                    "Complaint cases are being worked out again under the new settings, in the "
                    "background; the complaints figures are right meanwhile, and load faster "
                    "once it is done."
                )
            )
        )
    if {"working_hours_start", "working_hours_end"} & changed.keys():
        said.append(
            str(
                _l(
                    "Follow-up cases now count working hours from %(start)s to %(end)s.",
                    start=values["working_hours_start"],
                    end=values["working_hours_end"],
                )
            )
        )
    if {
        "complaint_first_reply_hours",
        "complaint_final_working_days",
        "complaint_regulator_days",
    } & changed.keys():
        said.append(
            str(
                _l(
                    "Complaints are now measured against a first reply within %(reply)d hours, "
                    "a final result within %(final)d working days and the regulator's "
                    "%(limit)d days.",
                    reply=values["complaint_first_reply_hours"],
                    final=values["complaint_final_working_days"],
                    limit=values["complaint_regulator_days"],
                )
            )
        )
    if set(FOLLOWUP_THRESHOLDS) & changed.keys() or "followup_keywords" in changed:
        said.append(
            str(
                _l(
                    "A follow-up case now opens, when the customer agrees to be called, for "
                    "%(rules)s.",
                    rules=followup_rules_text(values),
                )
            )
        )
    if "followup_due_hours" in changed:
        said.append(
            str(
                _l(
                    "New follow-up cases are now due %(n)d working hours after they open.",
                    n=values["followup_due_hours"],
                )
            )
        )
    if {"followup_assignment", "followup_line_owners"} & changed.keys():
        said.append(
            str(_l("New follow-up cases now go to the quality users of their business line."))
            if values["followup_assignment"] == "business_line"
            else str(_l("New follow-up cases now go to each quality user in turn."))
        )
    if "publish_needs_approval" in changed:
        said.append(
            str(_l("Publishing a survey now needs a second manager's approval."))
            if values["publish_needs_approval"]
            else str(_l("Managers now publish surveys without a second approval."))
        )
    if "sms_two_way_mainland" in changed:
        said.append(
            str(_l("Mainland China numbers now get two-way SMS where a rule asks for it."))
            if values["sms_two_way_mainland"]
            else str(_l("Mainland China numbers now get the link SMS, with an unsubscribe link."))
        )
    for key, unit in (
        ("sms_segments_per_second", _l("SMS segments")),
        ("calls_per_second", _l("calls")),
        ("emails_per_second", _l("e-mails")),
    ):
        if key in changed:
            said.append(_pace_effect(values[key], str(unit)))
    if "sms_validity_hours" in changed:
        said.append(
            str(
                _l(
                    "An SMS now waits at most %(n)d hours in the provider's queue.",
                    n=values["sms_validity_hours"],
                )
            )
        )
    if "link_lifetime_hours" in changed:
        said.append(
            str(_l("New survey links now work for %(n)d hours.", n=values["link_lifetime_hours"]))
        )
    if "pii_retention_days" in changed:
        days = values["pii_retention_days"]
        if not days:
            said.append(str(_l("Personal data is now kept with no time limit.")))
        elif retention_key_missing():
            said.append(
                str(
                    _l(
                        "Personal data older than %(n)d days will be removed every night once "
                        "SURVEY_RETENTION_KEY is set on the server; until then nothing is removed.",
                        n=days,
                    )
                )
            )
        else:
            said.append(
                str(
                    _l(
                        "Every night, names, phone numbers, e-mail addresses and comments older "
                        "than %(n)d days are now removed; opt-outs still hold.",
                        n=days,
                    )
                )
            )
    if "partial_close_hours" in changed:
        said.append(
            str(
                _l(
                    "A survey left unfinished is now counted, with the questions answered, "
                    "%(n)d hours after its last answer (or when its link expires, if sooner).",
                    n=values["partial_close_hours"],
                )
            )
        )
    return said


def retention_key_missing() -> bool:
    """Whether the server lacks the key retention needs (the settings page warns)."""
    try:
        pseudonyms.require_key()
    except pseudonyms.KeyMissing:
        return True
    return False


def followup_rules_text(values: dict[str, Any]) -> str:
    """Say the follow-up rules in words: "overall ≤ 2, NPS ≤ 3 or a keyword"."""
    parts = []
    for key, label in (
        ("followup_overall_max", _l("overall")),
        ("followup_nps_max", _l("NPS")),
        ("followup_complaint_max", _l("complaint handling")),
    ):
        if int(values[key]) >= 0:
            parts.append(f"{label} ≤ {values[key]}")
    if values["followup_keywords"]:
        parts.append(str(_l("a comment with a keyword")))
    if not parts:
        return str(_l("no response (every rule is off)"))
    return ", ".join(parts)


def per_hour(rate: float) -> int:
    """What a rate a second means in an hour, as the settings page says it."""
    return round(rate * 3600)


def _pace_effect(rate: float, unit: str) -> str:
    if rate <= 0:
        return str(
            _l(
                "No limit now on %(unit)s: they go out as fast as the provider takes them.",
                unit=unit,
            )
        )
    shown = format(rate, "g")  # 0.5, 1, 100: as the admin typed it
    return str(
        _l(
            "At most %(rate)s %(unit)s a second now go out per sender: %(hour)d an hour.",
            rate=shown,
            unit=unit,
            hour=per_hour(rate),
        )
    )
