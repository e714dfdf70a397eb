"""Views: the ordered list of dispatch rules, and editing one."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from survey import settings
from survey.designer import bp, common, ruleset
from survey.designer.forms import (
    CATEGORY_LABELS,
    CHANNEL_CHOICES,
    INTERACTION_CHANNEL_LABELS,
    INTERACTION_TYPE_LABELS,
    RuleForm,
    options,
)
from survey.extensions import db
from survey.i18n import current_language
from survey.models import BusinessLine, DispatchRule, Survey, Team
from survey.models.interaction import CATEGORIES, CHANNELS, TYPES


def _get_rule(rule_id: int) -> DispatchRule:
    rule = db.session.get(DispatchRule, rule_id)
    if rule is None:
        abort(404)
    return rule


def _org_settings() -> dict:
    return {
        "frequency_window_days": settings.get("frequency_window_days"),
        "allowed_hours": f"{settings.get('allowed_hours_start')}–{settings.get('allowed_hours_end')}",
        "link_lifetime_hours": settings.get("link_lifetime_hours"),
    }


@bp.route("/rules")
@common.viewers_only
def rules():
    """List the dispatch rules in the order they are tried, with what each matched lately."""
    ordered = ruleset.ordered()
    return render_template(
        "designer/rules.html",
        rules=ordered,
        reach=ruleset.reach(ordered),
        by_id={r.id: r for r in ordered},
        org=_org_settings(),
        filters=ruleset.describe_filters(ordered, current_language()),
        channel_names=dict(CHANNEL_CHOICES),
    )


def _form(rule: DispatchRule | None) -> RuleForm:
    lang = current_language()
    form = RuleForm(obj=rule) if request.method == "GET" and rule else RuleForm()
    surveys = db.session.scalars(
        sa.select(Survey)
        .where(sa.or_(Survey.archived.is_(False), Survey.id == (rule.survey_id if rule else None)))
        .order_by(Survey.name)
    )
    form.survey_id.choices = options(
        (s.id, s.name if s.published() else f"{s.name} ({_('not published yet')})") for s in surveys
    )
    form.channel.choices = options((c, INTERACTION_CHANNEL_LABELS[c]) for c in CHANNELS)
    form.type.choices = options((t, INTERACTION_TYPE_LABELS[t]) for t in TYPES)
    form.category.choices = options((c, CATEGORY_LABELS[c]) for c in CATEGORIES)
    lines = db.session.scalars(sa.select(BusinessLine).order_by(BusinessLine.code))
    form.business_line.choices = options((b.code, b.name(lang)) for b in lines)
    teams = db.session.scalars(sa.select(Team).order_by(Team.code))
    form.team.choices = options((t.code, t.name(lang)) for t in teams)
    if request.method == "GET" and rule is None:
        # "Send it" from a survey's page arrives with the survey already chosen.
        form.survey_id.data = request.args.get("survey", type=int)
    if request.method == "GET" and rule:
        for key in ruleset.FILTER_KEYS:
            getattr(form, key).data = list((rule.filters or {}).get(key) or [])
        padded = list(rule.channels) + ["", "", ""]
        form.channel_1.data, form.channel_2.data, form.channel_3.data = padded[:3]
        form.sample_percent.data = round(rule.sample_rate * 100)
    return form


def _values(form: RuleForm) -> dict:
    return {
        "name": form.name.data.strip(),
        "survey_id": form.survey_id.data,
        "filters": {key: list(getattr(form, key).data or []) for key in ruleset.FILTER_KEYS},
        "delay_minutes": form.delay_minutes.data,
        "channels": form.ordered_channels(),
        "sms_mode": form.sms_mode.data,
        "sample_rate": form.sample_percent.data / 100,
        "reminder_hours": form.reminder_hours.data,
        "reminder_channel": form.reminder_channel.data or "same",
        "link_lifetime_hours": form.link_lifetime_hours.data,
        "active": bool(form.active.data),
    }


@bp.route("/rules/new", methods=["GET", "POST"])
@common.editors_only
def new_rule():
    """Add a dispatch rule at the end of the list."""
    return _edit(None)


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@common.editors_only
def edit_rule(rule_id: int):
    """Change a dispatch rule."""
    return _edit(_get_rule(rule_id))


def _edit(rule: DispatchRule | None):
    form = _form(rule)
    if form.validate_on_submit():
        ruleset.save(rule, _values(form))
        db.session.commit()
        flash(_("Rule saved."), "success")
        return redirect(url_for("designer.rules"))
    status = 400 if request.method == "POST" else 200
    return render_template("designer/rule.html", form=form, rule=rule, org=_org_settings()), status


@bp.route("/rules/<int:rule_id>/arrange", methods=["POST"])
@common.editors_only
def arrange_rule(rule_id: int):
    """Move a rule up or down, pause or resume it, or delete it."""
    rule = _get_rule(rule_id)
    action = request.form.get("action")
    if action in ("up", "down"):
        ruleset.move(rule, -1 if action == "up" else 1)
        message = _("Order saved.")
    elif action == "toggle":
        ruleset.set_active(rule, not rule.active)
        message = _("Rule resumed.") if rule.active else _("Rule paused.")
    elif action == "delete":
        ruleset.delete(rule)
        message = _("Rule deleted.")
    else:
        abort(400)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("designer.rules"))
