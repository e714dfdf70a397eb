"""Views: the survey as each channel will present it, and a test send to yourself."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey.channels import scripts
from survey.designer import bp, checks, common, service, test_send
from survey.designer.forms import TestSendForm
from survey.extensions import db
from survey.models import Invitation, SurveyVersion
from survey.security import framed_by_own_pages


def _chosen_version(survey) -> SurveyVersion:
    number = request.args.get("version", type=int)
    if number is None:
        return service.draft_of(survey) or survey.published() or survey.versions[-1]
    version = next((v for v in survey.versions if v.number == number), None)
    if version is None:
        abort(404)
    return version


def _survey_lang() -> str:
    # ``in`` chooses the survey's language; ``lang`` stays the staff page's own.
    return "en" if request.args.get("in") == "en" else "zh"


@bp.route("/surveys/<int:survey_id>/preview")
@common.viewers_only
def preview(survey_id: int):
    """Show the web page at phone and desktop widths, both SMS modes with segments, and the voice script."""
    survey = common.get_survey(survey_id)
    version = _chosen_version(survey)
    lang = _survey_lang()
    form = TestSendForm(data={"email": current_user.email, "lang": lang})
    return render_template(
        "designer/preview.html",
        survey=survey,
        version=version,
        lang=lang,
        sms=checks.sms_previews(version, lang),
        voice=scripts.voice_script(version, lang),
        warnings=checks.warnings(version),
        form=form,
    )


@bp.route("/surveys/<int:survey_id>/preview/web")
@framed_by_own_pages  # shown in a frame of the preview page; no other site may frame it
@common.viewers_only
def preview_web(survey_id: int):
    """Render the customer's web page for this version, as the respond page does, inert."""
    from survey.respond import service as respond

    survey = common.get_survey(survey_id)
    version = _chosen_version(survey)
    lang = _survey_lang()
    # A stand-in invitation, never stored, so the customer's own template renders unchanged.
    invitation = Invitation(token="preview", unsubscribe_token="preview", locale=lang)
    invitation.version = version
    questions = respond.web_questions(version)
    from flask_babel import force_locale

    from survey import settings

    with force_locale(lang):
        return render_template(
            "respond/survey.html",
            invitation=invitation,
            version=version,
            questions=questions,
            shown=respond.visible_keys(questions, {}),
            values={},
            errors={},
            preselected=False,
            locale=lang,
            bank_name=settings.get(f"bank_name_{lang}"),
        )


@bp.route("/surveys/<int:survey_id>/test-send", methods=["POST"])
@common.editors_only
def send_test(survey_id: int):
    """Send this version to yourself through the outbox: the e-mail, and the SMS to a number you give."""
    survey = common.get_survey(survey_id)
    version = _chosen_version(survey)
    form = TestSendForm()
    if not form.validate_on_submit():
        lang = form.lang.data if form.lang.data in ("zh", "en") else "zh"
        return (
            render_template(
                "designer/preview.html",
                survey=survey,
                version=version,
                lang=lang,
                sms=checks.sms_previews(version, lang),
                voice=scripts.voice_script(version, lang),
                warnings=checks.warnings(version),
                form=form,
            ),
            400,
        )
    report = test_send.send(version, form.lang.data, form.email.data, form.phone.data or None)
    db.session.commit()
    if report.outbox:
        flash(_("%(n)d test messages are in the outbox.", n=report.outbox), "success")
    if report.sent:
        flash(_("%(n)d test messages were sent to you for real.", n=report.sent), "success")
    for failure in report.failed:
        flash(_("A test message could not be sent: %(why)s", why=failure), "error")
    return redirect(
        url_for(
            "designer.preview",
            survey_id=survey.id,
            version=version.number,
            **{"in": form.lang.data},
        )
    )
