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
}
SCOPE_LABELS = {"interactions": _l("Send interactions"), "scores": _l("Read scores")}


@bp.app_template_global()
def audit_action_label(action: str) -> str:
    """Return what an audit action means in the viewer's language (the code when unknown)."""
    return str(ACTION_LABELS.get(action, action))


@bp.app_template_global()
def scope_label(scope: str) -> str:
    """Return what an API scope allows, in the viewer's language."""
    return str(SCOPE_LABELS.get(scope, scope))
