"""The development outbox: what the outbox channel "sent", shown as the customer would see it."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from survey.admin.services import outbox as service
from survey.auth.service import role_required
from survey.extensions import db
from survey.i18n import viewer_time
from survey.paging import requested_page

# DESIGN.md puts the outbox at /dev/outbox, outside the /admin prefix; admins only all the same.
dev_bp = Blueprint("dev", __name__)

PER_PAGE = 20
# A link ends at whitespace or at the CJK punctuation that often follows it in an SMS.
LINK = re.compile(r"https?://[^\s<>\"'，。；！？、）】]+")


def linkify(text: str) -> Markup:
    """Escape a message and make its links clickable (Jinja's urlize misses links glued to Chinese)."""
    parts: list[str] = []
    last = 0
    for match in LINK.finditer(text):
        url = match.group(0)
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<a href="{0}" target="_blank" rel="noopener">{0}</a>').format(url))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@dev_bp.route("/dev/outbox")
@role_required("admin")
def outbox():
    """Show what the outbox channel sent, a conversation per invitation, the newest first."""
    page = db.paginate(
        service.thread_keys(), page=requested_page(), per_page=PER_PAGE, error_out=False
    )
    threads = service.threads(list(page.items))
    return render_template(
        "admin/outbox.html", page=page, threads=threads, local_time=viewer_time, linkify=linkify
    )


MAX_REPLY = 2000


@dev_bp.route("/dev/outbox/<int:message_id>/reply", methods=["POST"])
@role_required("admin")
def reply(message_id: int):
    """Reply to an SMS as the customer would, through the same code as Twilio's webhook."""
    message = service.sent_message(message_id)
    if message is None or message.channel != "sms":
        abort(404)
    text = request.form.get("body", "")
    if not text.strip():
        flash(_("Type the customer's reply first."), "error")
    elif len(text) > MAX_REPLY:
        flash(_("A reply can be at most %(n)d characters.", n=MAX_REPLY), "error")
    else:
        service.reply_as_customer(message, text)
        flash(
            _("Reply sent; the answer follows it, in the conversation at the top of the outbox."),
            "success",
        )
    return redirect(url_for("dev.outbox"))


def _keys(raw: str) -> tuple[str, str]:
    """Split what the admin typed into Twilio's Digits and FinishedOnKey (a closing #)."""
    raw = "".join(raw.split())[:20]
    if raw.endswith("#"):
        return raw[:-1], "#"
    return raw, ""


@dev_bp.route("/dev/outbox/<int:message_id>/call", methods=["GET", "POST"])
@role_required("admin")
def call(message_id: int):
    """Answer a call the outbox placed, key by key, as the customer would on a phone."""
    message = service.sent_message(message_id)
    if message is None or message.channel != "voice":
        abort(404)
    step, ended = None, None
    if request.method == "POST":
        action = request.form.get("action", "")
        if action == "pick_up":
            step = service.pick_up(message)
        elif action == "press":
            question = request.form.get("question", type=int)
            attempt = request.form.get("attempt", type=int)
            if question is None or attempt is None:
                abort(400)
            digits, finished = _keys(request.form.get("digits", ""))
            step = service.press(message, question, attempt, digits, finished)
        elif action in service.CALL_OUTCOMES or action == "completed":
            service.hang_up(message, action)
            ended = action
        else:
            abort(400)
    return render_template(
        "admin/outbox_call.html", message=message, step=step, ended=ended, local_time=viewer_time
    )
