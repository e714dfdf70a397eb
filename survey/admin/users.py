"""Admin pages for staff accounts: list, invite, role, deactivate, password links."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import audit
from survey.admin import bp, forms
from survey.admin.services import users as service
from survey.auth.service import role_label, role_required
from survey.extensions import db
from survey.models import User


def _actor() -> User:
    return current_user._get_current_object()


def _user_or_404(user_id: int) -> User:
    user = service.get_user(user_id)
    if user is None:
        abort(404)
    return user


def _link_page(user: User, token: str, purpose: str):
    lifetime = service.INVITE_LIFETIME if purpose == "invite" else service.RESET_LIFETIME
    return render_template(
        "admin/users/link.html",
        user=user,
        link=service.link_url(token),
        mail=service.email_link(user, token, purpose),
        purpose=purpose,
        hours=int(lifetime.total_seconds() // 3600),
    )


@bp.route("/users")
@role_required("admin")
def users():
    """List every staff account, with its role and whether it can sign in."""
    return render_template(
        "admin/users/list.html", users=service.list_users(), form=forms.ActionForm()
    )


@bp.route("/users/invite", methods=["GET", "POST"])
@role_required("admin")
def invite_user():
    """Invite a staff member: create their account and e-mail or show a one-time password link."""
    form = forms.InviteForm()
    if form.validate_on_submit():
        try:
            user, token = service.invite(
                _actor(), form.email.data, form.role.data, form.name.data or "", form.locale.data
            )
        except service.UserError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            return _link_page(user, token, "invite")
    return render_template("admin/users/invite.html", form=form, mailed=service.links_are_emailed())


@bp.route("/users/<int:user_id>")
@role_required("admin")
def user_detail(user_id: int):
    """Show one account: its role, its state, what can be done with it, and its history."""
    user = _user_or_404(user_id)
    return render_template(
        "admin/users/detail.html",
        user=user,
        role_form=forms.RoleForm(role=user.role),
        form=forms.ActionForm(),
        history=audit.events_for("user", user.id),
        has_password=service.has_password(user),
    )


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required("admin")
def change_role(user_id: int):
    """Give a user another role."""
    user = _user_or_404(user_id)
    form = forms.RoleForm()
    if form.validate_on_submit():
        try:
            service.change_role(_actor(), user, form.role.data)
        except service.UserError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(
                _("%(email)s is now %(role)s.", email=user.email, role=role_label(user.role)),
                "success",
            )
    else:
        flash(_("Choose one of the roles."), "error")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@role_required("admin")
def deactivate_user(user_id: int):
    """Stop a user signing in; their open sessions end at once."""
    user = _user_or_404(user_id)
    if forms.ActionForm().validate_on_submit():
        try:
            service.deactivate(_actor(), user)
        except service.UserError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(
                _("%(email)s can no longer sign in; their sessions have ended.", email=user.email),
                "success",
            )
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@role_required("admin")
def reactivate_user(user_id: int):
    """Let a deactivated user sign in again."""
    user = _user_or_404(user_id)
    if forms.ActionForm().validate_on_submit():
        service.reactivate(_actor(), user)
        db.session.commit()
        flash(_("%(email)s can sign in again.", email=user.email), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/password-link", methods=["POST"])
@role_required("admin")
def password_link(user_id: int):
    """Make a new one-time set-password link for a user, shown once."""
    user = _user_or_404(user_id)
    if not forms.ActionForm().validate_on_submit():
        return redirect(url_for("admin.user_detail", user_id=user.id))
    try:
        token = service.reset_password(_actor(), user)
    except service.UserError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    db.session.commit()
    purpose = "reset" if service.has_password(user) else "invite"
    return _link_page(user, token, purpose)
