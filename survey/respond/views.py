"""Public pages behind a token: the survey (/s/<token>) and unsubscribe (/u/<token>).

No page here reads or sets the staff session: the language comes from ``?lang=`` (kept
in every link and form of the page), then the invitation, then the browser; forms carry
a value bound to the link (``formkey``) instead of a session's CSRF token.
"""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from survey import busy, settings
from survey.channels import trust
from survey.dispatch import contacts
from survey.extensions import csrf, db, limiter, login
from survey.i18n import LANGUAGES, current_language
from survey.models import Invitation
from survey.respond import bp, fast, formkey, kept, service, steps, versions
from survey.responses import optouts
from survey.security import public_page

# A carrier's NAT puts many customers behind one address: generous per address. A link is
# opened by one customer a few times: tight per token, which stops guessing and replay.
PER_ADDRESS = "600 per minute"
PER_TOKEN = "30 per minute"


def _token_of_request() -> str:
    return (request.view_args or {}).get("token", "")


def _bank_name() -> str:
    try:
        return settings.get(f"bank_name_{current_language()}")
    except SQLAlchemyError:  # an error page must not fail on the database that failed
        db.session.rollback()
        return ""


@bp.before_request
def _kept_settings() -> None:
    # The bank's name and the follow-up rules, without a statement on most requests.
    try:
        settings.use_kept_copy()
    except SQLAlchemyError:  # the page itself will meet the failed database and say so
        db.session.rollback()


@bp.before_request
def _nobody_signed_in() -> None:
    # A customer's page is nobody's sign-in (its session is always empty, survey.security):
    # said at once, Flask-Login's way, instead of it looking for a user for every template.
    g._login_user = login.anonymous_user()


@bp.context_processor
def _bank() -> dict[str, str]:
    return {"bank_name": _bank_name()}


# The designer's preview renders the customer's page too, outside this blueprint.
bp.add_app_template_global(formkey.form_key, "form_key")
bp.add_app_template_global(formkey.FIELD, "form_key_field")
# The same words the messages carry (survey/channels/trust.py), in the page's language.
bp.add_app_template_global(trust.trust_line, "trust_line")


def _page_locale(invitation: Invitation | None) -> str:
    """Pick the page's language: ?lang=, then the invitation's, then the browser's."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    if invitation is not None and invitation.locale in LANGUAGES:
        return invitation.locale
    return (
        request.accept_languages.best_match(LANGUAGES) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def _message(title: str, text: str, status: int, thanks: str = ""):
    return render_template("respond/message.html", title=title, text=text, thanks=thanks), status


def error_page(status: int, message: str) -> str:
    """Render an error on a customer's page, in their layout, in the request's language."""
    titles = {
        429: _("Please wait a moment"),
        503: _("Please try again in a moment"),
    }
    return render_template(
        "respond/message.html",
        title=titles.get(status, _("Sorry")),
        text=message,
        thanks="",
        bank_name=_bank_name(),
    )


def _not_found():
    with force_locale(_page_locale(None)):
        return _message(
            _("Survey not found"),
            _("This survey link is not valid. Please check that you opened the whole link."),
            404,
        )


def _refused():
    return _message(
        _("Please try once more"),
        _(
            "Your answers could not be accepted from this page. Nothing was saved. "
            "Please open the link in your message again and send them from there."
        ),
        400,
    )


def _state_page(invitation: Invitation, state: str, locale: str, status_if_done: int = 200):
    if state == "completed":
        return _message(
            _("Thank you"),
            _("You have already answered this survey. Thank you!"),
            status_if_done,
            thanks=service.version_of(invitation).thanks(locale),
        )
    if state == "cancelled":
        return _message(
            _("This survey is no longer needed"),
            _("We have withdrawn this survey, so there is nothing for you to do. Thank you."),
            410,
        )
    return _message(
        _("This survey has closed"),
        _("Sorry, this survey is no longer open for answers. Thank you for your time."),
        410,
    )


def _survey_page(invitation: Invitation, locale: str, values, errors, status=200):
    """The whole survey on one page: what a one-post submission that was refused shows again."""
    questions = service.asked_on_the_web(invitation)
    shown = service.visible_keys(questions, {f"q_{k}": v for k, v in values.items()})
    page = render_template(
        "respond/survey.html",
        invitation=invitation,
        version=service.version_of(invitation),
        questions=questions,
        shown=shown,
        values=values,
        errors=errors,
        locale=locale,
    )
    return page, status


def _step_page(invitation: Invitation, locale: str, step: steps.Step, status=200, **shown):
    errors = shown.pop("errors", {})
    one_click = shown.pop("one_click", False)
    saved = shown.pop("saved", False)
    version = service.version_of(invitation)
    bank_name = _bank_name()
    # Everything the page shows but the customer's own values (survey.respond.kept).
    key = None
    if not errors and version.published_at is not None:
        key = (
            versions.database_name(),
            version.id,
            locale,
            bank_name,
            request.script_root,
            tuple(request.args.items(multi=True)),  # the language links keep them
            one_click,
            saved,
            step.question.key,
            step.number,
            step.total,
            step.value,
            step.previous.key if step.previous else None,
            step.last,
            tuple((question.key, given) for question, given in step.answered),
        )
    values = (
        invitation.token,
        invitation.unsubscribe_token,
        formkey.form_key(invitation.token, formkey.ANSWER),
    )
    page = kept.get(key) if key is not None else None
    if page is not None:
        _offer_first_step(invitation, locale, bank_name, step, one_click or saved, page, status)
        return page.fill(values), status
    html = render_template(
        "respond/step.html",
        invitation=invitation,
        version=version,
        step=step,
        locale=locale,
        errors=errors,
        one_click=one_click,
        saved=saved,
        bank_name=bank_name,
    )
    if key is not None:
        cut = kept.cut(html, values)
        if cut is not None:
            kept.keep(key, cut)
            _offer_first_step(invitation, locale, bank_name, step, one_click or saved, cut, status)
    return html, status


def _offer_first_step(
    invitation: Invitation, locale: str, bank_name: str, step, flagged: bool, page, status: int
) -> None:
    """Let the layer in front of Flask (``fast``) keep this answer: an unanswered link's first step."""
    query = request.query_string.decode("latin-1")
    if (
        request.method != "GET"
        or status != 200
        or flagged
        or query not in fast.QUERIES
        or not isinstance(invitation, service.Visit)
        or invitation.response is not None
        or step.previous is not None
        or step.answered
    ):
        return
    key = fast.page_key(invitation.survey_version_id, locale, bank_name, request.script_root, query)
    fast.offer(request.environ, key, page)


def _thanks(invitation: Invitation, locale: str):
    return render_template(
        "respond/message.html",
        title=_("Thank you"),
        text=service.version_of(invitation).thanks(locale) or _("Thank you for your feedback."),
        thanks="",
    )


def _consent_page(invitation: Invitation, locale: str, consent, status=200, errors=None):
    page = render_template(
        "respond/consent.html",
        invitation=invitation,
        version=service.version_of(invitation),
        consent=consent,
        locale=locale,
        errors=errors or {},
        consent_step=steps.CONSENT_STEP,
    )
    return page, status


def _offer_first_answer(
    invitation: Invitation, locale: str, key: str, next_key: str, target: str, response
) -> None:
    """Let the layer in front of Flask (``fast``) keep this redirect: a first answer's, to the next step."""
    query = request.query_string.decode("latin-1")
    token = _token_of_request()
    if query not in fast.QUERIES or versions.cached(invitation.survey_version_id) is None:
        return
    asked = steps.applicable(service.asked_on_the_web(invitation), {})
    if not asked or asked[0].key != key:
        return
    page = kept.cut(response.get_data(as_text=True), (token,))
    location = kept.cut(target, (token,))
    if page is None or location is None:
        return
    found = fast.answer_key(
        invitation.survey_version_id, locale, request.script_root, query, key, next_key
    )
    fast.offer(request.environ, found, page, location)


def _post_step(invitation: Invitation, locale: str):
    key = request.form.get("step", "")
    go = "back" if request.form.get("go") == "back" else "next"
    unanswered = False
    if key == steps.CONSENT_STEP:
        outcome = busy.retry_when_busy(
            lambda: steps.save_consent(invitation, request.form, go, locale)
        )
        if outcome.state == "invalid":
            consent = steps.consent_step(invitation)
            if consent is not None:
                return _consent_page(invitation, locale, consent, 400, outcome.errors)
    else:
        unanswered = invitation.response is None  # read with the invitation (service.find)
        outcome = busy.retry_when_busy(
            lambda: steps.save(invitation, key, request.form, go, locale)
        )
    if outcome.state == "saved":
        after_one_click = request.form.get("one_click") == "1"
        target = url_for(
            "respond.survey",
            token=_token_of_request(),  # the link's (the saved invitation's would be read again)
            q=outcome.next_key,
            lang=locale,
            **({"saved": "1"} if after_one_click else {}),
        )
        response = redirect(target, 303)
        if key != steps.CONSENT_STEP and unanswered and go == "next" and not after_one_click:
            _offer_first_answer(invitation, locale, key, outcome.next_key, target, response)
        return response
    if outcome.state == "finished":
        return _thanks(invitation, locale)
    if outcome.state == "invalid":
        posted = request.form.get(f"q_{key}", "")
        step = steps.step_at(invitation, key, locale, posted=posted)
        return _step_page(invitation, locale, step, status=400, errors=outcome.errors)
    return _state_page(invitation, service.link_state(invitation), locale, status_if_done=409)


@bp.route("/s/<token>", methods=["GET", "POST"])
@public_page
@limiter.shared_limit(PER_ADDRESS, scope="public-address")
@limiter.limit(PER_TOKEN, key_func=_token_of_request)
@csrf.exempt  # the form carries a value bound to the token instead (formkey)
def survey(token: str):
    """Show the survey a step at a time, where the customer left off; save each step's answer."""
    # A GET reads plain columns (one Core statement); a POST loads the invitation to change it.
    if request.method == "GET":
        read, invitation = fast.seen(request.environ, token)  # read in front of Flask already?
        if not read:
            invitation = service.visit(token)
    else:
        invitation = service.find(token)
    if invitation is None:
        return _not_found()
    locale = _page_locale(invitation)
    with force_locale(locale):
        if request.method == "POST":
            if not formkey.accepts(token, formkey.ANSWER, request.form):
                return _refused()
            asks_on_the_web = bool(service.asked_on_the_web(invitation))
            if "step" in request.form and asks_on_the_web:
                return _post_step(invitation, locale)
            # Every answer in one post (the whole form, as other tools send it): complete.
            outcome = busy.retry_when_busy(lambda: service.submit(invitation, request.form, locale))
            if outcome.state == "saved":
                return _thanks(invitation, locale)
            if outcome.state == "consent":  # answers kept; "may we call you?" completes it
                target = url_for(
                    "respond.survey", token=invitation.token, q=steps.CONSENT_STEP, lang=locale
                )
                return redirect(target, 303)
            if outcome.state == "invalid":
                posted = {
                    q.key: request.form.get(f"q_{q.key}", "") for q in invitation.version.questions
                }
                return _survey_page(invitation, locale, posted, outcome.errors, status=400)
            state = service.link_state(invitation)
            return _state_page(invitation, state, locale, status_if_done=409)
        state = service.open_page(invitation)
        if state != "open":
            return _state_page(invitation, state, locale)
        if not service.asked_on_the_web(invitation):  # nothing asked here: just Send
            return _survey_page(invitation, locale, {}, {})
        chosen = steps.one_click(invitation, request.args.get("score"))
        if chosen is not None:  # shown, not stored: one tap (a POST) saves it
            key, value = chosen
            step = steps.step_at(invitation, key, locale, posted=value)
            return _step_page(invitation, locale, step, one_click=True)
        if request.args.get("q") == steps.CONSENT_STEP:
            consent = steps.consent_step(invitation)
            if consent is not None:
                return _consent_page(invitation, locale, consent)
        step = steps.step_at(invitation, request.args.get("q"), locale)
        return _step_page(invitation, locale, step, saved=request.args.get("saved") == "1")


@bp.route("/u/<token>", methods=["GET", "POST"])
@public_page
@limiter.shared_limit(PER_ADDRESS, scope="public-address")
@limiter.limit(PER_TOKEN, key_func=_token_of_request)
@csrf.exempt  # the RFC 8058 one-click POST carries nothing; the page's form carries a formkey
def unsubscribe(token: str):
    """Confirm an unsubscribe on GET (scanners follow links); opt the customer out on POST.

    The link keeps working whatever became of the survey: answered, closed or withdrawn.
    """
    invitation = service.find_by_unsubscribe_token(token)
    if invitation is None:
        return _not_found()
    locale = _page_locale(invitation)
    with force_locale(locale):
        if request.method == "POST":
            one_click = request.form.get("List-Unsubscribe") == "One-Click"
            if not one_click and not formkey.accepts(token, formkey.UNSUBSCRIBE, request.form):
                return _refused()
            optouts.unsubscribe(invitation, method="one_click" if one_click else "link")
            return render_template(
                "respond/unsubscribe.html", invitation=invitation, done=True, locale=locale
            )
        return render_template(
            "respond/unsubscribe.html",
            invitation=invitation,
            done=contacts.customer_opted_out(invitation.customer),
            locale=locale,
        )
