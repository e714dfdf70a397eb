"""Public pages behind a token: the survey (/s/<token>) and unsubscribe (/u/<token>)."""

from __future__ import annotations

from flask import current_app, render_template, request, session
from flask_babel import force_locale
from flask_babel import gettext as _

from survey import busy, settings
from survey.dispatch import contacts
from survey.extensions import csrf, limiter
from survey.i18n import LANGUAGES, current_language
from survey.models import Invitation
from survey.respond import bp, service
from survey.responses import optouts


@bp.context_processor
def _bank() -> dict[str, str]:
    return {"bank_name": settings.get(f"bank_name_{current_language()}")}


def _page_locale(invitation: Invitation | None) -> str:
    """Pick the page's language: ?lang=, then the customer's earlier switch, then the invitation's."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    if invitation is not None and invitation.locale in LANGUAGES:
        return invitation.locale
    return (
        request.accept_languages.best_match(LANGUAGES) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def _message(title: str, text: str, status: int, thanks: str = ""):
    return render_template("respond/message.html", title=title, text=text, thanks=thanks), status


def _not_found():
    with force_locale(_page_locale(None)):
        return _message(
            _("Survey not found"),
            _("This survey link is not valid. Please check that you opened the whole link."),
            404,
        )


def _state_page(invitation: Invitation, state: str, locale: str, status_if_done: int = 200):
    if state == "completed":
        return _message(
            _("Thank you"),
            _("You have already answered this survey. Thank you!"),
            status_if_done,
            thanks=invitation.version.thanks(locale),
        )
    return _message(
        _("This survey has closed"),
        _("Sorry, this survey is no longer open for answers. Thank you for your time."),
        410,
    )


def _survey_page(
    invitation: Invitation, locale: str, values, errors, preselected=False, status=200
):
    questions = service.web_questions(invitation.version)
    shown = service.visible_keys(questions, {f"q_{k}": v for k, v in values.items()})
    page = render_template(
        "respond/survey.html",
        invitation=invitation,
        version=invitation.version,
        questions=questions,
        shown=shown,
        values=values,
        errors=errors,
        preselected=preselected,
        locale=locale,
    )
    return page, status


# Generous for customers behind one carrier address, tight for anyone guessing tokens.
PUBLIC_LIMITS = "120 per minute;600 per hour"


@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.limit(PUBLIC_LIMITS)
def survey(token: str):
    """Show the survey a token opens; store the answers when the customer sends them."""
    invitation = service.find(token)
    if invitation is None:
        return _not_found()
    locale = _page_locale(invitation)
    with force_locale(locale):
        if request.method == "POST":
            outcome = busy.retry_when_busy(lambda: service.submit(invitation, request.form, locale))
            if outcome.state == "saved":
                return render_template(
                    "respond/message.html",
                    title=_("Thank you"),
                    text=invitation.version.thanks(locale) or _("Thank you for your feedback."),
                    thanks="",
                )
            if outcome.state == "invalid":
                posted = {
                    q.key: request.form.get(f"q_{q.key}", "") for q in invitation.version.questions
                }
                return _survey_page(invitation, locale, posted, outcome.errors, status=400)
            return _state_page(invitation, outcome.state, locale, status_if_done=409)
        state = service.open_page(invitation)
        if state != "open":
            return _state_page(invitation, state, locale)
        chosen = service.preselection(
            service.web_questions(invitation.version), request.args.get("score")
        )
        return _survey_page(invitation, locale, chosen, {}, preselected=bool(chosen))


@bp.route("/u/<token>", methods=["GET", "POST"])
@limiter.limit(PUBLIC_LIMITS)
@csrf.exempt  # the RFC 8058 one-click POST carries no token; other POSTs are checked below
def unsubscribe(token: str):
    """Confirm an unsubscribe on GET (scanners follow links); opt the customer out on POST."""
    invitation = service.find_by_unsubscribe_token(token)
    if invitation is None:
        return _not_found()
    with force_locale(_page_locale(invitation)):
        if request.method == "POST":
            one_click = request.form.get("List-Unsubscribe") == "One-Click"
            if not one_click and current_app.config.get("WTF_CSRF_ENABLED", True):
                csrf.protect()
            optouts.unsubscribe(invitation, method="one_click" if one_click else "link")
            return render_template("respond/unsubscribe.html", invitation=invitation, done=True)
        return render_template(
            "respond/unsubscribe.html",
            invitation=invitation,
            done=contacts.customer_opted_out(invitation.customer),
        )
