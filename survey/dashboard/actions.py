"""Improvement action pages: the list with verdicts, the form, and each action judged."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import audit, settings
from survey.actions import effect, service, words
from survey.actions.forms import ActionForm
from survey.auth.service import role_required
from survey.dashboard import bp, charts
from survey.extensions import db
from survey.i18n import current_language
from survey.models import ImprovementAction
from survey.scoring import formulas, queries
from survey.scoring.did import Share

# Who records and edits actions; every role that reads the dashboards (DESIGN.md's role table).
EDITORS = ("admin", "manager", "quality")


def _draft(form: ActionForm) -> service.Draft:
    kind, _sep, code = (form.target.data or "").partition(":")
    return service.Draft(
        title_zh=form.title_zh.data or "",
        title_en=form.title_en.data or "",
        kind=form.kind.data or "",
        started_on=form.started_on.data,
        target_kind=kind,
        target_code=code,
        window_days=form.window_days.data,
        description_zh=form.description_zh.data or "",
        description_en=form.description_en.data or "",
    )


def _show_errors(form: ActionForm, error: service.ActionError) -> None:
    """Put each of the service's complaints beside its field."""
    for name, message in error.errors.items():
        field = getattr(form, name, None)
        if field is not None and message not in field.errors:
            field.errors = [*field.errors, message]


def _form_page(form: ActionForm, action: ImprovementAction | None, status: int = 200):
    return render_template("dashboard/action_form.html", form=form, action=action), status


def _save(form: ActionForm, action: ImprovementAction | None):
    """Check and save the posted form; the page again with every error beside its field."""
    form.offer_targets(current_language())
    if not form.validate_on_submit():
        return _form_page(form, action, 400)
    actor = current_user._get_current_object()
    try:
        if action is None:
            action = service.create(actor, _draft(form), queries.today())
        else:
            service.update(actor, action, _draft(form), queries.today())
    except service.ActionError as error:
        _show_errors(form, error)
        return _form_page(form, action, 400)
    db.session.commit()
    flash(_("Action saved. Its page shows how the scores moved."), "success")
    return redirect(url_for("dashboard.action", action_id=action.id))


@bp.route("/actions")
@role_required(*EDITORS)
def actions():
    """List the improvement actions, the most recent first, each with its verdict."""
    min_n, today, lang = int(settings.get("min_n")), queries.today(), current_language()
    rows = []
    for action in service.all_actions():
        windows, judged = effect.judge(action, today, min_n)
        rows.append(
            {
                "action": action,
                "target": service.target_name(action, lang),
                "windows": windows,
                "effect": judged,
            }
        )
    return render_template("dashboard/actions.html", rows=rows, labels=_labels(), min_n=min_n)


@bp.route("/actions/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def new_action():
    """Record an action: what was done, where, and from which day."""
    form = ActionForm()
    if request.method == "GET":
        form.started_on.data = form.started_on.data or queries.today()
        form.target.data = request.args.get("target", "")
        form.offer_targets(current_language())
        return _form_page(form, None)
    return _save(form, None)


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_action(action_id: int):
    """Change an action's titles, kind, day, target, windows or description."""
    action = db.session.get(ImprovementAction, action_id) or abort(404)
    if request.method == "GET":
        form = ActionForm(obj=action)
        form.target.data = f"{action.target_kind}:{action.target_code}"
        form.offer_targets(current_language())
        return _form_page(form, action)
    return _save(ActionForm(), action)


@bp.route("/actions/<int:action_id>")
@role_required(*EDITORS)
def action(action_id: int):
    """Show an action judged: the four windows, the change against the rest, and a chart."""
    action = db.session.get(ImprovementAction, action_id) or abort(404)
    min_n, lang = int(settings.get("min_n")), current_language()
    windows, judged = effect.judge(action, queries.today(), min_n)
    target = service.target_name(action, lang)
    rest = words.rest_name(action)
    cells = {
        name: _cell(getattr(judged, name), min_n)
        for name in ("target_before", "target_after", "rest_before", "rest_after")
    }
    expected = None
    if judged.judged:
        before = judged.target_before.p or 0.0
        expected = (_("%(target)s had it moved as the rest did", target=target), before,
                    before + (judged.rest_change or 0.0))  # fmt: skip
    chart = charts.did_chart(
        [
            (target, [cells["target_before"], cells["target_after"]]),
            (_initial(rest), [cells["rest_before"], cells["rest_after"]]),
        ],
        (_("Before it started"), _("After it started")),
        _("CSAT"),
        expected,
    )
    return render_template(
        "dashboard/action.html",
        action=action,
        target=target,
        rest=rest,
        windows=windows,
        effect=judged,
        cells=cells,
        chart=chart,
        sentence=words.sentence(judged, target, rest, windows, min_n),
        labels=_labels(),
        min_n=min_n,
        bank_zone=settings.bank_zone(),
        history=audit.events_for("action", action.id),
        trend_args=_trend_args(action, windows),
    )


def _labels() -> dict[str, Any]:
    return {"kinds": service.KIND_LABELS, "targets": service.TARGET_KIND_LABELS}


def _initial(text: str) -> str:
    """The phrase as a label starts, with a capital (Chinese has none)."""
    return text[:1].upper() + text[1:]


def _cell(share: Share, min_n: int) -> dict[str, Any] | None:
    """A window's CSAT with its Wilson interval and n, or None under min n (rule 5)."""
    interval = formulas.wilson_interval(share.top, share.n, min_n=min_n)
    if interval is None:
        return None
    return {"csat": share.top / share.n, "csat_low": interval[0], "csat_high": interval[1],
            "n": share.n}  # fmt: skip


def _trend_args(action: ImprovementAction, windows: effect.Windows) -> dict[str, str]:
    """The overview's (or dimensions page's) address showing both windows and this target."""
    args = {"from": windows.before[0].isoformat(), "to": windows.after[1].isoformat()}
    if action.target_kind != "dimension":
        args[action.target_kind] = action.target_code
    return args
