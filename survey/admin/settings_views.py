"""The admin page for the organisation settings."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import retention
from survey.admin import bp, forms
from survey.admin.services import settings as service
from survey.admin.services import settings_fields as fields
from survey.auth.service import role_required
from survey.channels import messages


def _as_form_data(values: dict) -> dict:
    data = dict(values)
    for key in ("holidays", "makeup_workdays", "followup_keywords", "followup_line_owners"):
        data[key] = "\n".join(values[key])
    for key in fields.FOLLOWUP_THRESHOLDS:
        data[key] = "" if int(values[key]) < 0 else str(values[key])
    return data


@bp.route("/settings", methods=["GET", "POST"])
@role_required("admin")
def settings():
    """Show the organisation settings and save them all, or none when one is wrong."""
    if request.method == "GET":
        form = forms.SettingsForm(data=_as_form_data(service.current()))
    else:
        form = forms.SettingsForm()
    if form.validate_on_submit():
        values, errors = fields.validate(form.data)
        for key, message in errors.items():
            getattr(form, key).errors.append(message)
        if not errors:
            effects = service.save(current_user._get_current_object(), values)
            if not effects:
                flash(_("Nothing was changed."), "info")
            for effect in effects:
                flash(effect, "success")
            return redirect(url_for("admin.settings"))
        flash(_("Nothing was saved: please correct the fields marked below."), "error")
    return render_template(
        "admin/settings.html",
        form=form,
        current=service.current(),
        mainland={lang: messages.mainland_template(lang) for lang in ("zh", "en")},
        per_hour=service.per_hour,
        retention_floor=retention.floor_days(),
        retention_key_missing=service.retention_key_missing(),
    )
