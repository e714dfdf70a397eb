"""The organisation settings form's rules: save all or nothing, say what each change does.

What each field accepts, and the checking of a whole form, are in ``settings_fields``.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from survey import audit, hints, pseudonyms, settings
from survey.admin.services.settings_fields import (
    COMPLAINT_OUTCOME_SETTINGS,
    FOLLOWUP_THRESHOLDS,
)
from survey.extensions import db
from survey.models import User


def current() -> dict[str, Any]:
    """Return the settings as they are, defaults filled in."""
    return settings.all_settings()


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
