"""The settings form: every value checked, errors beside the field, all saved or none, effects said."""

from __future__ import annotations

from survey import settings
from tests.fixtures.admin import settings_form

EN = {"Accept-Language": "en"}
# Every field as the form posts it (the defaults), with these changed.
GOOD = settings_form(
    **{
        "bank_name_zh": "满意银行",
        "bank_name_en": "Content Bank",
        "sms_signature": "【满意银行】",
        "default_timezone": "Asia/Hong_Kong",
        "allowed_hours_start": "09:00",
        "allowed_hours_end": "20:30",
        "frequency_window_days": "14",
        "min_n": "10",
        "link_lifetime_hours": "48",
        "holidays": "2026-10-01\n2026-10-02\n",
        "makeup_workdays": "2026-10-10",
        "sms_segments_per_second": "1",
        "calls_per_second": "1",
        "emails_per_second": "10",
        "sms_validity_hours": "4",
        "partial_close_hours": "24",
        "working_hours_start": "08:30",
        "working_hours_end": "17:30",
        "complaint_first_reply_hours": "48",
        "complaint_final_working_days": "5",
        "complaint_regulator_days": "15",
    }
)


def test_the_form_shows_the_current_settings(admin_client):
    page = admin_client.get("/admin/settings", headers=EN).get_data(as_text=True)
    assert 'value="【示例银行】"' in page and 'value="08:00"' in page


def test_saving_stores_every_setting_says_what_it_changes_and_records_before_and_after(
    admin_client, audit_log
):
    response = admin_client.post("/admin/settings", data=GOOD, headers=EN, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "SMS previews will now start with 【满意银行】." in page
    assert "between 09:00 and 20:30" in page
    assert "at most once every 14 days" in page
    assert "count working hours from 08:30 to 17:30" in page
    assert "a first reply within 48 hours, a final result within 5 working days" in page
    assert settings.get("working_hours_start") == "08:30"
    assert settings.get("complaint_first_reply_hours") == 48
    assert settings.get("holidays") == ["2026-10-01", "2026-10-02"]
    assert settings.get("min_n") == 10
    (event,) = audit_log("settings.update")
    assert event.before["sms_signature"] == "【示例银行】"
    assert event.after["sms_signature"] == "【满意银行】"
    assert event.after["makeup_workdays"] == ["2026-10-10"]


def test_saving_the_same_values_again_records_nothing(admin_client, audit_log):
    admin_client.post("/admin/settings", data=GOOD)
    response = admin_client.post("/admin/settings", data=GOOD, headers=EN, follow_redirects=True)
    assert "Nothing was changed." in response.get_data(as_text=True)
    assert len(audit_log("settings.update")) == 1


def _errors_for(client, **bad) -> str:
    response = client.post("/admin/settings", data={**GOOD, **bad}, headers=EN)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_bad_value_is_explained_beside_its_field_and_nothing_is_saved(admin_client, audit_log):
    cases = {
        "sms_signature": ("满意银行", "Write the signature between 【 and 】"),
        "default_timezone": ("Mars/Olympus", "Enter a time zone such as Asia/Shanghai."),
        "allowed_hours_start": ("8am", "Enter a time like 08:00."),
        "working_hours_end": ("6pm", "Enter a time like 08:00."),
        "complaint_final_working_days": ("61", "Enter a whole number from 1 to 60."),
        "frequency_window_days": ("0", "Enter a whole number from 1 to 365."),
        "min_n": ("1001", "Enter a whole number from 1 to 1000."),
        "link_lifetime_hours": ("x", "Enter a whole number from 1 to 720."),
        "holidays": ("2026-10-01\n2026-13-01", "Line 2: “2026-13-01” is not a date"),
        "makeup_workdays": ("2026-10-12", "is a weekday already"),
        "bank_name_en": ("", "Enter the bank&#39;s name."),
    }
    for key, (value, message) in cases.items():
        page = _errors_for(admin_client, **{key: value})
        assert message in page, key
        assert f'id="{key}-error"' in page, f"{key}: the error stands beside its field"
        assert "Nothing was saved" in page
    assert settings.get("sms_signature") == "【示例银行】"
    assert audit_log() == []


def test_the_contact_hours_must_end_after_they_start(admin_client):
    page = _errors_for(admin_client, allowed_hours_start="21:00", allowed_hours_end="08:00")
    assert "The end must be later than the start." in page


def test_a_signature_with_too_much_inside_its_brackets_is_refused(admin_client):
    page = _errors_for(admin_client, sms_signature="【" + "很" * 17 + "】")
    assert "Between the brackets, write 2 to 16 characters." in page


def test_one_bad_field_keeps_the_good_ones_from_being_saved_too(admin_client):
    _errors_for(admin_client, min_n="0", bank_name_en="Changed Bank")
    assert settings.get("bank_name_en") == "Example Bank"


def test_send_rates_are_saved_and_said_per_hour(admin_client):
    page = admin_client.post(
        "/admin/settings",
        data={**GOOD, "sms_segments_per_second": "0.5", "emails_per_second": "0"},
        headers=EN,
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "At most 0.5 SMS segments a second now go out per sender: 1800 an hour." in page
    assert "No limit now on e-mails: they go out as fast as the provider takes them." in page
    assert "Now 1800 segments an hour." in page
    assert settings.get("sms_segments_per_second") == 0.5


def test_a_send_rate_that_is_not_a_number_is_refused_beside_its_field(admin_client):
    for bad in ("fast", "-1", "1e9", "2000", ""):
        page = admin_client.post(
            "/admin/settings", data={**GOOD, "calls_per_second": bad}, headers=EN
        ).get_data(as_text=True)
        assert "Enter a rate from 0 to 1000 a second" in page, bad
    assert settings.get("calls_per_second") == 1.0


def test_the_hours_before_an_unfinished_survey_counts_are_checked_saved_and_explained(
    admin_client,
):
    for bad in ("0", "721", "a day", ""):
        page = _errors_for(admin_client, partial_close_hours=bad)
        assert "Enter a whole number from 1 to 720." in page, bad
        assert 'id="partial_close_hours-error"' in page, bad
    assert settings.get("partial_close_hours") == 24

    page = admin_client.post(
        "/admin/settings",
        data={**GOOD, "partial_close_hours": "6"},
        headers=EN,
        follow_redirects=True,
    ).get_data(as_text=True)
    assert settings.get("partial_close_hours") == 6
    assert (
        "A survey left unfinished is now counted, with the questions answered, 6 hours after "
        "its last answer (or when its link expires, if sooner)." in page
    )
    assert "Count an unfinished survey after (hours without an answer)" in page
    assert "Until then the answers count nowhere" in page


def test_the_unfinished_survey_setting_is_labelled_and_explained_in_chinese(admin_client):
    page = admin_client.get("/admin/settings", headers={"Accept-Language": "zh"}).get_data(
        as_text=True
    )
    assert "未答完的问卷计入前等待（无新作答的小时数）" in page
    assert "此前这些回答不计入任何分数" in page
    assert 'name="partial_close_hours"' in page and 'value="24"' in page


def test_the_follow_up_rules_are_checked_saved_and_explained(admin_client, audit_log):
    data = {
        **GOOD,
        "followup_overall_max": "1",
        "followup_nps_max": "",
        "followup_keywords": "投诉，销户\nFraud\nfraud",
        "followup_due_hours": "16",
    }
    response = admin_client.post("/admin/settings", data=data, headers=EN, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert (
        "A follow-up case now opens, when the customer agrees to be called, for overall ≤ 1, "
        "complaint handling ≤ 2, a comment with a keyword." in page
    )
    assert "New follow-up cases are now due 16 working hours after they open." in page
    assert settings.get("followup_nps_max") == -1  # blank: that rule is off
    assert settings.get("followup_keywords") == ["投诉", "销户", "Fraud"]
    page = admin_client.get("/admin/settings", headers=EN).get_data(as_text=True)
    assert 'id="followup_nps_max" name="followup_nps_max" type="text" value=""' in page


def test_bad_follow_up_settings_are_refused_beside_their_fields(admin_client, make_user):
    make_user("manager", "boss@bank.example")
    bad = {
        **GOOD,
        "followup_overall_max": "5",
        "followup_assignment": "by_mood",
        "followup_line_owners": "personal: boss@bank.example",
        "followup_due_hours": "0",
    }
    page = admin_client.post("/admin/settings", data=bad, headers=EN).get_data(as_text=True)
    assert "Enter a whole number from 0 to 4." in page
    assert "Choose how cases are assigned." in page
    assert "Enter a whole number from 1 to 400." in page
    # No business line "personal" exists in this bank, and boss is a manager anyway.
    assert "Line 1: there is no business line “personal”." in page
    assert settings.get("followup_overall_max") == 2
