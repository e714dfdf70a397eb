"""Every change a manager makes to surveys and dispatch rules leaves an entry in the audit trail."""

from __future__ import annotations

import json

import sqlalchemy as sa

from survey import settings
from survey.designer import diff
from survey.extensions import db
from survey.models import AuditEvent, DispatchRule, Survey, SurveyVersion

# The changes made; sign-ins (auth.*) are in the trail too, whenever a client signs in.
NOT_SIGN_IN = AuditEvent.action.not_like("auth.%")
CHANGES = sa.select(AuditEvent).where(NOT_SIGN_IN)


def _draft(survey_id: int) -> SurveyVersion:
    db.session.expire_all()
    survey = db.session.get(Survey, survey_id)
    return next(v for v in survey.versions if v.state == "draft")


def _stamp(survey_id: int) -> dict:
    draft = _draft(survey_id)
    return {"lock_version": str(draft.lock_version), "seen": json.dumps(diff.snapshot(draft))}


def _question(survey_id: int, text_en: str) -> dict:
    return {
        **_stamp(survey_id),
        "kind": "yes_no",
        "dimension": "",
        "text_zh": "问题解决了吗？",
        "text_en": text_en,
        "required": "y",
        "ask_web": "y",
        "condition_op": "<=",
    }


def _rule(survey_id: int, name: str) -> dict:
    return {
        "name": name,
        "survey_id": str(survey_id),
        "delay_minutes": "30",
        "channel_1": "sms",
        "channel_2": "",
        "channel_3": "",
        "sms_mode": "link",
        "sample_percent": "100",
        "active": "y",
    }


def _designer_post_endpoints(app) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("designer.") and "POST" in rule.methods
    }


def test_every_successful_designer_post_records_who_changed_what(app, manager_client, manager):
    client = manager_client
    walked: set[str] = set()
    seen_events = 0

    def post(endpoint: str, path: str, data: dict, *actions: str) -> None:
        nonlocal seen_events
        response = client.post(path, data=data)
        assert response.status_code == 302, (path, response.get_data(as_text=True)[:400])
        db.session.expire_all()
        events = list(db.session.scalars(CHANGES.order_by(AuditEvent.id).offset(seen_events)))
        seen_events += len(events)
        assert [e.action for e in events] == list(actions), path
        assert all(e.actor_label == manager.email for e in events), path
        walked.add(endpoint)

    post(
        "designer.new_survey",
        "/designer/surveys/new",
        {"name": "After calls", "starter": "post_interaction"},
        "survey.create",
    )
    s = db.session.scalar(sa.select(Survey.id).where(Survey.name == "After calls"))
    base = f"/designer/surveys/{s}"
    post(
        "designer.duplicate",
        f"{base}/duplicate",
        {"name": "Copy"},
        "survey.duplicate",
    )
    details = {**_stamp(s), "name": "After calls", "title_zh": "回访", "title_en": "How did we do"}
    post("designer.save_details", f"{base}/details", details, "survey.edit")
    post(
        "designer.new_question",
        f"{base}/questions/new",
        _question(s, "Was it solved?"),
        "question.add",
    )
    added = _draft(s).questions[-1].id
    post(
        "designer.edit_question",
        f"{base}/questions/{added}",
        _question(s, "Was your problem solved?"),
        "question.edit",
    )
    post(
        "designer.arrange_questions",
        f"{base}/questions/arrange",
        {**_stamp(s), "action": f"up:{added}"},
        "question.reorder",
    )
    order = [q.id for q in _draft(s).questions]
    post(
        "designer.order_questions",
        f"{base}/questions/order",
        {**_stamp(s), "order": ",".join(map(str, [order[-1], *order[:-1]]))},
        "question.reorder",
    )
    post(
        "designer.arrange_questions",
        f"{base}/questions/arrange",
        {**_stamp(s), "action": f"delete:{added}"},
        "question.remove",
    )
    post(
        "designer.send_test",
        f"{base}/test-send",
        {"email": manager.email, "phone": "+8613800138000", "lang": "zh"},
        "survey.test_send",
    )
    lock = {"lock_version": str(_draft(s).lock_version)}
    post("designer.publish", f"{base}/publish", lock, "survey.publish")
    post("designer.start_draft", f"{base}/draft", {}, "survey.draft")
    settings.put("publish_needs_approval", True)
    db.session.commit()
    seen_events = db.session.scalar(sa.select(sa.func.count()).select_from(CHANGES.subquery()))
    lock = {"lock_version": str(_draft(s).lock_version)}
    post("designer.publish", f"{base}/publish", lock, "survey.publish_requested")
    post("designer.archive", f"{base}/archive", {}, "survey.archive")
    post("designer.archive", f"{base}/archive", {}, "survey.restore")

    post("designer.new_rule", "/designer/rules/new", _rule(s, "First"), "rule.create")
    post("designer.new_rule", "/designer/rules/new", _rule(s, "Second"), "rule.create")
    first, second = db.session.scalars(
        sa.select(DispatchRule.id).order_by(DispatchRule.position)
    ).all()
    post("designer.edit_rule", f"/designer/rules/{first}", _rule(s, "Renamed"), "rule.edit")
    arrange = f"/designer/rules/{second}/arrange"
    post("designer.arrange_rule", arrange, {"action": "up"}, "rule.reorder")
    post("designer.arrange_rule", arrange, {"action": "toggle"}, "rule.pause")
    post("designer.arrange_rule", arrange, {"action": "toggle"}, "rule.resume")
    post("designer.arrange_rule", arrange, {"action": "delete"}, "rule.delete")

    assert walked == _designer_post_endpoints(app)


def test_audit_entries_say_what_changed(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    draft = survey.versions[0]
    first = draft.questions[0]
    old_text = first.text_en
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/{first.id}",
        data={**_question(survey.id, "Would you recommend us?"), "kind": "nps_0_10"},
    )
    assert response.status_code == 302
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "question.edit"))
    assert event.entity_type == "survey_version" and event.entity_id == str(draft.id)
    assert event.after["question"] == first.key
    assert event.after["text_en"] == "Would you recommend us?"
    assert event.before["text_en"] == old_text
    assert "kind" not in event.after  # unchanged fields are left out


def test_a_refused_change_records_nothing(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    stale = {**_question(survey.id, "Stale?"), "lock_version": "-5"}
    response = manager_client.post(f"/designer/surveys/{survey.id}/questions/new", data=stale)
    assert response.status_code == 409
    db.session.expire_all()
    actions = db.session.scalars(sa.select(AuditEvent.action).where(NOT_SIGN_IN)).all()
    assert actions == ["survey.create"]  # the fixture's, made outside any request
