"""Names people see for audit actions and API scopes; the codes stay English in the data."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from survey.admin import bp

ACTION_LABELS = {
    "user.invite": _l("invited a user"),
    "user.role": _l("changed a role"),
    "user.deactivate": _l("deactivated a user"),
    "user.reactivate": _l("reactivated a user"),
    "user.password_link": _l("made a password link"),
    "user.password_set": _l("set a password from a link"),
    "apikey.create": _l("created an API key"),
    "apikey.revoke": _l("revoked an API key"),
    "business_line.create": _l("added a business line"),
    "business_line.update": _l("changed a business line"),
    "team.create": _l("added a team"),
    "team.update": _l("changed a team"),
    "agent.create": _l("added an agent"),
    "agent.update": _l("changed an agent"),
    "agent.move": _l("moved an agent"),
    "agent.import": _l("imported agents"),
    "settings.update": _l("changed settings"),
    "invitation.send_again": _l("sent an invitation again"),
    "user.create": _l("created a user"),
    "user.password_change": _l("changed their password"),
    "auth.sign_in": _l("signed in"),
    "auth.sign_in_failed": _l("failed to sign in"),
    "survey.create": _l("created a survey"),
    "survey.duplicate": _l("duplicated a survey"),
    "survey.edit": _l("changed a survey's details"),
    "survey.draft": _l("started a draft version"),
    "survey.publish": _l("published a survey version"),
    "survey.publish_requested": _l("asked for a version to be approved"),
    "survey.archive": _l("archived a survey"),
    "survey.restore": _l("restored a survey"),
    "survey.test_send": _l("sent a test survey"),
    "question.add": _l("added a question"),
    "question.edit": _l("changed a question"),
    "question.remove": _l("removed a question"),
    "question.reorder": _l("reordered questions"),
    "rule.create": _l("added a dispatch rule"),
    "rule.edit": _l("changed a dispatch rule"),
    "rule.delete": _l("deleted a dispatch rule"),
    "rule.pause": _l("paused a dispatch rule"),
    "rule.resume": _l("resumed a dispatch rule"),
    "rule.reorder": _l("reordered dispatch rules"),
    "export.scores": _l("exported a scores table"),
    "export.responses": _l("exported responses"),
    "export.prepare": _l("asked for an export to be prepared"),
    "export.download": _l("downloaded a prepared export"),
    "action.create": _l("recorded an improvement action"),
    "action.update": _l("changed an improvement action"),
    "followup.open": _l("opened a follow-up case"),
    "followup.note": _l("added a note to a follow-up case"),
    "followup.reassign": _l("reassigned a follow-up case"),
    "followup.close": _l("closed a follow-up case"),
    "followup.view_contact": _l("viewed a customer's phone and e-mail"),
    "followup.notify_new": _l("e-mailed a case's owner about it"),
    "followup.notify_overdue": _l("e-mailed a case's owner that it is overdue"),
}
# What each kind of thing changed is called (AuditEvent.entity_type).
ENTITY_LABELS = {
    "user": _l("User"),
    "api_key": _l("API key"),
    "business_line": _l("Business line"),
    "team": _l("Team"),
    "agent": _l("Agent"),
    "settings": _l("Settings"),
    "survey": _l("Survey"),
    "survey_version": _l("Survey version"),
    "question": _l("Question"),
    "rule": _l("Dispatch rule"),
    "invitation": _l("Invitation"),
    "export": _l("Export"),
    "export_job": _l("Prepared export"),
    "action": _l("Improvement action"),
    "followup_case": _l("Follow-up case"),
}
# The fields an event's before and after name; a key not here is shown as it is stored.
DETAIL_LABELS = {
    "active": _l("Active"),
    "archived": _l("Archived"),
    "channel": _l("Channel"),
    "code": _l("Code"),
    "delivery": _l("Delivery"),
    "email": _l("E-mail address"),
    "filters": _l("Filters"),
    "format": _l("Format"),
    "from": _l("From"),
    "from_survey_id": _l("Copied from survey"),
    "from_version": _l("Copied from version"),
    "function": _l("Function"),
    "group_by": _l("Grouped by"),
    "key": _l("Key"),
    "kind": _l("Kind"),
    "name": _l("Name or title"),
    "name_en": _l("Name in English"),
    "name_zh": _l("Name in Chinese"),
    "number": _l("Version"),
    "order": _l("Order"),
    "position": _l("Position"),
    "prefix": _l("Prefix"),
    "purpose": _l("Purpose"),
    "question": _l("Question"),
    "questions": _l("Questions"),
    "reason": _l("Reason"),
    "rows": _l("Rows"),
    "reset": _l("Reset"),
    "revoked": _l("Revoked"),
    "role": _l("Role"),
    "scopes": _l("What it may do"),
    "state": _l("State"),
    "survey_id": _l("Survey"),
    "team": _l("Team"),
    "to": _l("To"),
    "title_zh": _l("Title in Chinese"),
    "title_en": _l("Title in English"),
    "started_on": _l("Started on"),
    "target_kind": _l("Aimed at"),
    "target_code": _l("Target"),
    "window_days": _l("Days compared before and after"),
    "description_zh": _l("What was done, in Chinese"),
    "description_en": _l("What was done, in English"),
}
# Stored values that are words: states, roles, reasons.
VALUE_LABELS = {
    "draft": _l("draft"),
    "published": _l("published"),
    "retired": _l("retired"),
    "admin": _l("admin"),
    "manager": _l("manager"),
    "quality": _l("quality"),
    "unknown": _l("no such account"),
    "inactive": _l("deactivated account"),
    "password": _l("wrong password"),
}
SCOPE_LABELS = {"interactions": _l("Send interactions"), "scores": _l("Read scores")}


@bp.app_template_global()
def audit_action_label(action: str) -> str:
    """Return what an audit action means in the viewer's language (the code when unknown)."""
    return str(ACTION_LABELS.get(action, action))


@bp.app_template_global()
def audit_entity_label(entity: str) -> str:
    """Return what a kind of audited thing is called in the viewer's language."""
    return str(ENTITY_LABELS.get(entity, entity))


@bp.app_template_global()
def audit_detail_label(key: str) -> str:
    """Return a before/after field's name in the viewer's language (the key when unknown)."""
    return str(DETAIL_LABELS.get(key, key))


@bp.app_template_global()
def audit_value(value: object) -> str:
    """Return a before/after value as the viewer reads it: words translated, lists joined."""
    if isinstance(value, list | tuple):
        return ", ".join(audit_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{audit_detail_label(k)}: {audit_value(v)}" for k, v in value.items())
    if isinstance(value, str):
        return str(VALUE_LABELS.get(value, value))
    return "" if value is None else str(value)


@bp.app_template_global()
def scope_label(scope: str) -> str:
    """Return what an API scope allows, in the viewer's language."""
    return str(SCOPE_LABELS.get(scope, scope))
