"""Fresh invitations for a load to answer: made by copying the demo's, with form keys precomputed.

The survey page bench (``survey_page.py``) and the mixed load (``load.py``) both need
many sent, unopened invitations with tokens of their own, and for each the first
step's form as the page would post it, with its form key (an HMAC under the app's
secret, which wrk's Lua cannot compute).
"""

from __future__ import annotations

import random
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from survey import clock
from survey.channels import scripts
from survey.extensions import db
from survey.funnel import stages
from survey.models import Delivery, Interaction, Invitation, Question
from survey.models.funnel import COUNTERS
from survey.respond import formkey, service

ANSWERS = {"rating_5": "4", "nps_0_10": "8", "ces_7": "5", "yes_no": "yes", "text": "bench"}


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) or 0


def multiply(target: int) -> None:
    """Copy invitations (and their interactions) until there are ``target``: doubling each round.

    Copies keep every column but their ids (shifted past the largest), the interaction's
    external id (suffixed), the complaint case (none: a case is surveyed once) and the
    tokens (new, random).
    """
    interaction, invitation = Interaction.__table__, Invitation.__table__
    round_ = 0
    while (have := _count()) < target:
        round_ += 1
        shift_v = db.session.scalar(sa.select(sa.func.max(invitation.c.id)))
        shift_i = db.session.scalar(sa.select(sa.func.max(interaction.c.id)))
        originals = (
            sa.select(invitation.c.id, invitation.c.interaction_id)
            .order_by(invitation.c.id)
            .limit(min(have, target - have))
            .subquery()
        )
        copied = [c for c in interaction.c if c.name != "id"]
        db.session.execute(
            sa.insert(interaction).from_select(
                ["id", *(c.name for c in copied)],
                sa.select(
                    interaction.c.id + shift_i,
                    *(
                        (c + f"~{round_}").label(c.name) if c.name == "external_id" else c
                        for c in copied
                    ),
                ).where(interaction.c.id.in_(sa.select(originals.c.interaction_id))),
            )
        )
        values: dict[str, Any] = {
            "id": invitation.c.id + shift_v,
            "interaction_id": invitation.c.interaction_id + shift_i,
            "complaint_case_id": sa.null(),
            "token": _random_token(),
            "unsubscribe_token": _random_token(),
        }
        columns = [c.name for c in invitation.c]
        db.session.execute(
            sa.insert(invitation).from_select(
                columns,
                sa.select(*(values.get(name, invitation.c[name]) for name in columns)).where(
                    invitation.c.id.in_(sa.select(originals.c.id))
                ),
            )
        )
        db.session.commit()
        print(f"  round {round_}: {_count():,} invitations", flush=True)
    if db.engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
        for table in ("interaction", "invitation"):
            db.session.execute(
                sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
            )
        db.session.commit()


def _random_token() -> sa.ColumnElement[str]:
    """A new random token per row: 128 random bits in hex (the bench's; the app's are longer)."""
    if db.engine.dialect.name == "postgresql":
        salt = sa.cast(sa.func.random(), sa.Text) + sa.cast(sa.func.clock_timestamp(), sa.Text)
        return sa.func.md5(salt + sa.cast(Invitation.__table__.c.id, sa.Text))
    return sa.func.lower(sa.func.hex(sa.func.randomblob(16)))


def fresh_pool(size: int) -> list[tuple[int, str]]:
    """Make the newest ``size`` invitations fresh, sent and unopened; return (id, token).

    Their funnel records lose the steps from "opened" on (copies of answered invitations
    had them), so a first visit and a first answer count as on a link just sent: the
    survey page's fast ways, not the slow one for a record that says "started" already.
    The rollup's counters are not corrected for it (no bench reads them).
    """
    now = clock.now()
    fresh_steps = sum(stages.BIT[name] for name in COUNTERS[: COUNTERS.index("opened")])
    newest = sa.select(Invitation.id).order_by(Invitation.id.desc()).limit(size).subquery()
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id.in_(sa.select(newest.c.id)))
        .values(
            state="sent",
            sent_at=now,
            opened_at=None,
            completed_at=None,
            reminder_due_at=None,
            expires_at=now + timedelta(hours=72),
            funnel_stages=Invitation.funnel_stages.op("&")(fresh_steps),
        )
    )
    db.session.commit()
    rows = db.session.execute(
        sa.select(Invitation.id, Invitation.token)
        .where(Invitation.id.in_(sa.select(newest.c.id)))
        .order_by(Invitation.id)
    )
    return [(i, t) for i, t in rows]


def pool_lines(app: Any, pool: list[tuple[int, str]]) -> list[str]:
    """Return "token body" lines: the body is the first step's form, form key included."""
    first_steps: dict[int, tuple[str, str]] = {}
    lines = []
    with app.test_request_context():
        for invitation_id, token in pool:
            version_id = db.session.scalar(
                sa.select(Invitation.survey_version_id).where(Invitation.id == invitation_id)
            )
            if version_id not in first_steps:
                invitation = db.session.get_one(Invitation, invitation_id)
                question = service.web_questions(invitation.version)[0]
                first_steps[version_id] = (question.key, answer_for(question))
            key, value = first_steps[version_id]
            body = urlencode(
                {
                    "step": key,
                    f"q_{key}": value,
                    "go": "next",
                    formkey.FIELD: formkey.form_key(token, formkey.ANSWER),
                }
            )
            lines.append(f"{token} {body}")
    return lines


def answer_for(question: Question) -> str:
    if question.kind == "single_choice":
        return question.choices[0].value
    return ANSWERS[question.kind]


def awaiting_sms(
    invitations: list[tuple[int, str]], hook_url: str, auth_token: str, account: str, to: str
) -> list[str]:
    """Make invitations sent by two-way SMS await their first question; sign each one's reply.

    Each gets a delivery to a number of its own (so a reply finds exactly it) and a line
    "signature form" for the Lua script: the inbound SMS Twilio would post to ``hook_url``
    (SURVEY_PUBLIC_URL + path), signed as Twilio signs, over the URL and the parameters.
    """
    validator = RequestValidator(auth_token)
    first_questions: dict[int, Any] = {}
    lines = []
    for n, (invitation_id, _token) in enumerate(invitations):
        invitation = db.session.get_one(Invitation, invitation_id)
        version_id = invitation.survey_version_id
        if version_id not in first_questions:
            asked = scripts.sms_questions(invitation.version)
            first_questions[version_id] = asked[0] if asked else None
        question = first_questions[version_id]
        if question is None:
            continue
        number = f"+86139{n:08d}"
        invitation.channel = "sms"
        invitation.sms_question_key = question.key
        invitation.sms_misses = 0
        db.session.add(
            Delivery(
                invitation_id=invitation_id, channel="sms", address=number, provider="twilio",
                provider_id="SM" + secrets.token_hex(16), state="delivered",
            )
        )  # fmt: skip
        reply = "1" if question.kind == "single_choice" else answer_for(question)
        params = {
            "AccountSid": account, "From": number, "To": to,
            "Body": reply, "MessageSid": "SM" + secrets.token_hex(16), "NumMedia": "0",
        }  # fmt: skip
        signature = validator.compute_signature(hook_url, params)
        lines.append(f"{signature} {urlencode(params)}")
        if n % 1000 == 999:
            db.session.commit()
    db.session.commit()
    random.Random(2026).shuffle(lines)
    return lines
