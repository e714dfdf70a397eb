"""Admin pages for the organisation: business lines, teams and agents."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from survey.admin import bp, forms
from survey.admin.services import org as service
from survey.auth.service import role_required
from survey.extensions import db
from survey.models import Agent, BusinessLine, Team, User


def _actor() -> User:
    return current_user._get_current_object()


def _show_error(form: FlaskForm, error: service.OrgError) -> None:
    """Put a service's complaint beside the field it is about (or on top when there is none)."""
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors.append(str(error.message))
    else:
        flash(str(error.message), "error")


def _team_form() -> forms.TeamForm:
    form = forms.TeamForm(prefix="team")
    form.business_line.choices = [
        SelectChoice(line.id, f"{line.code} · {line.name(_lang())}")
        for line in service.business_lines()
        if line.active
    ]
    return form


def _lang() -> str:
    from survey.i18n import current_language

    return current_language()


def _overview(
    line_form: FlaskForm | None = None, team_form: FlaskForm | None = None, status: int = 200
):
    return (
        render_template(
            "admin/org/overview.html",
            lines=service.business_lines(),
            counts=service.agent_counts(),
            line_form=line_form or forms.BusinessLineForm(prefix="line"),
            team_form=team_form or _team_form(),
            functions=service.FUNCTION_LABELS,
        ),
        status,
    )


@bp.route("/org")
@role_required("admin")
def organisation():
    """Show the business lines, their teams and how many agents each has; add lines and teams."""
    return _overview()


@bp.route("/org/lines", methods=["POST"])
@role_required("admin")
def create_business_line():
    """Add a business line."""
    form = forms.BusinessLineForm(prefix="line")
    if form.validate_on_submit():
        try:
            line = service.create_business_line(
                _actor(), form.code.data, form.name_zh.data, form.name_en.data
            )
        except service.OrgError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(
                _("Business line %(code)s added. Next, add its teams.", code=line.code), "success"
            )
            return redirect(url_for("admin.organisation"))
    return _overview(line_form=form, status=400)


@bp.route("/org/lines/<int:line_id>", methods=["GET", "POST"])
@role_required("admin")
def edit_business_line(line_id: int):
    """Rename a business line or (de)activate it."""
    line = db.session.get(BusinessLine, line_id) or abort(404)
    form = forms.BusinessLineEditForm(obj=line)
    if form.validate_on_submit():
        try:
            service.update_business_line(
                _actor(), line, form.name_zh.data, form.name_en.data, form.active.data
            )
        except service.OrgError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Business line %(code)s saved.", code=line.code), "success")
            return redirect(url_for("admin.organisation"))
    return render_template("admin/org/line.html", line=line, form=form)


@bp.route("/org/teams", methods=["POST"])
@role_required("admin")
def create_team():
    """Add a team under a business line."""
    form = _team_form()
    if form.validate_on_submit():
        line = db.session.get(BusinessLine, form.business_line.data)
        try:
            team = service.create_team(
                _actor(),
                form.code.data,
                line,
                form.function.data,
                form.name_zh.data,
                form.name_en.data,
            )
        except service.OrgError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(
                _("Team %(code)s added. Next, add its agents or import them.", code=team.code),
                "success",
            )
            return redirect(url_for("admin.team", team_id=team.id))
    return _overview(team_form=form, status=400)


def _team_page(
    team: Team,
    edit_form: FlaskForm | None = None,
    agent_form: FlaskForm | None = None,
    status: int = 200,
):
    return (
        render_template(
            "admin/org/team.html",
            team=team,
            agents=service.agents_of(team),
            edit_form=edit_form or forms.TeamEditForm(obj=team, prefix="team"),
            agent_form=agent_form or forms.AgentForm(prefix="agent"),
            functions=service.FUNCTION_LABELS,
        ),
        status,
    )


@bp.route("/org/teams/<int:team_id>", methods=["GET", "POST"])
@role_required("admin")
def team(team_id: int):
    """Show a team and its agents; rename it, change what it does, or (de)activate it."""
    team = db.session.get(Team, team_id) or abort(404)
    if request.method == "GET":
        return _team_page(team)
    form = forms.TeamEditForm(prefix="team")
    if form.validate_on_submit():
        try:
            service.update_team(
                _actor(),
                team,
                form.function.data,
                form.name_zh.data,
                form.name_en.data,
                form.active.data,
            )
        except service.OrgError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Team %(code)s saved.", code=team.code), "success")
            return redirect(url_for("admin.team", team_id=team.id))
    return _team_page(team, edit_form=form, status=400)


@bp.route("/org/teams/<int:team_id>/agents", methods=["POST"])
@role_required("admin")
def create_agent(team_id: int):
    """Add an agent to this team."""
    team = db.session.get(Team, team_id) or abort(404)
    form = forms.AgentForm(prefix="agent")
    if form.validate_on_submit():
        try:
            agent = service.create_agent(
                _actor(), form.code.data, form.name_zh.data, form.name_en.data, team
            )
        except service.OrgError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Agent %(code)s added.", code=agent.code), "success")
            return redirect(url_for("admin.team", team_id=team.id))
    return _team_page(team, agent_form=form, status=400)


@bp.route("/org/agents/<int:agent_id>", methods=["GET", "POST"])
@role_required("admin")
def agent(agent_id: int):
    """Rename an agent, move them to another team, or (de)activate them."""
    agent = db.session.get(Agent, agent_id) or abort(404)
    form = forms.AgentEditForm(
        data={
            "name_zh": agent.name_zh,
            "name_en": agent.name_en,
            "team": agent.team_id,
            "active": agent.active,
        }
    )
    form.team.choices = [
        SelectChoice(t.id, f"{t.code} · {t.name(_lang())}")
        for t in service.teams()
        if t.active or t.id == agent.team_id
    ]
    if form.validate_on_submit():
        team = db.session.get(Team, form.team.data)
        try:
            service.update_agent(
                _actor(), agent, form.name_zh.data, form.name_en.data, team, form.active.data
            )
        except service.OrgError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Agent %(code)s saved.", code=agent.code), "success")
            return redirect(url_for("admin.team", team_id=agent.team_id))
    return render_template("admin/org/agent.html", agent=agent, form=form)
