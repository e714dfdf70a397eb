"""Generated hostile input from outside: Twilio's webhooks, the customer's pages, a staff form.

Every input here comes from people or systems we do not control (DESIGN.md rule 6). For each,
hypothesis generates text in every script, control characters, huge values and wrong types,
and the test holds the contract: no 5xx; the answer is what the contract says (TwiML, 204,
403, a page); what is stored stays valid; and a refused input changes nothing. The example
count is SURVEY_FUZZ_EXAMPLES (default 40 a test; bench/RESULTS.md has a run of thousands).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey import settings as org_settings
from survey.extensions import db
from survey.models import Answer, Delivery, InboundEvent, Invitation, OptOut, Response, Setting
from survey.models.invitation import DELIVERY_STATES
from tests.fixtures.twilio import ACCOUNT_SID, twilio_sid
from tests.fixtures.webhooks import HK_PHONE

EXAMPLES = int(os.environ.get("SURVEY_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the shared working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "5\x00",
        "\ud7ff",
        "ＳＴＯＰ",
        "退订",
        "TD",
        "５",
        "五分",
        "0" * 5000,
        "<Response><Say>hi</Say></Response>",
        "'; DROP TABLE answer; --",
        "%s%s%n",
        "\u202e\u2066",
        "🙂" * 200,
        "-1",
        "1e9",
        "NaN",
        "9" * 40,
    ]
)
TEXT = st.one_of(NASTY, st.text(max_size=400), st.text(alphabet="0123456789*# ", max_size=30))
RANGES = {"rating_5": (1, 5), "nps_0_10": (0, 10), "ces_7": (1, 7), "yes_no": (0, 1)}


def _snapshot() -> tuple:
    """What a refused input must not change: answers, responses' states, opt-outs, settings."""
    db.session.expire_all()
    answers = db.session.execute(
        sa.select(Answer.id, Answer.value_int, Answer.value_text, Answer.choice_id).order_by(
            Answer.id
        )
    ).all()
    responses = db.session.execute(sa.select(Response.id, Response.state)).all()
    invitations = db.session.execute(sa.select(Invitation.id, Invitation.state)).all()
    opt_outs = db.session.execute(sa.select(OptOut.id, OptOut.revoked_at)).all()
    stored = db.session.execute(sa.select(Setting.key, Setting.value)).all()
    return (
        tuple(answers),
        tuple(responses),
        tuple(invitations),
        tuple(opt_outs),
        tuple(map(tuple, stored)),
    )


def _assert_answers_valid() -> None:
    """Every stored answer is one its question allows."""
    db.session.expire_all()
    for answer in db.session.scalars(sa.select(Answer)):
        kind = answer.question.kind
        if kind in RANGES:
            low, high = RANGES[kind]
            assert answer.value_int is not None and low <= answer.value_int <= high, (kind, answer)
        elif kind == "single_choice":
            assert answer.choice is not None and answer.choice.question_id == answer.question_id
        else:
            assert answer.value_text is not None and "\x00" not in answer.value_text


def _twiml(reply) -> ET.Element:
    assert reply.status_code == 200, reply.get_data(as_text=True)[:500]
    assert reply.mimetype == "text/xml"
    root = ET.fromstring(reply.get_data())
    assert root.tag == "Response"
    return root


class TestWebhooks:
    @pytest.fixture
    def app_config(self, webhook_config):
        return webhook_config

    def test_any_sms_reply_gets_twiml_and_stores_only_valid_answers(self, sent_invitation, reply):
        sent_invitation()

        @FUZZ
        @given(body=TEXT, sender=st.one_of(st.just(HK_PHONE), TEXT), replay=st.booleans())
        def check(body: str, sender: str, replay: bool) -> None:
            sid = "SM" + "0" * 32 if replay else twilio_sid("SM")
            _twiml(reply(body, sender=sender, sid=sid))
            _assert_answers_valid()

        check()

    def test_a_request_not_signed_by_twilio_is_refused_and_changes_nothing(
        self, sent_invitation, client
    ):
        sent_invitation()
        paths = st.sampled_from(
            ["/webhooks/twilio/sms", "/webhooks/twilio/status", "/webhooks/twilio/voice/1"]
        )

        # A header cannot carry a line break (HTTP itself refuses it): any other text goes.
        headers_text = TEXT.filter(lambda t: "\n" not in t and "\r" not in t)

        @FUZZ
        @given(path=paths, body=TEXT, signature=st.one_of(st.none(), headers_text))
        def check(path: str, body: str, signature: str | None) -> None:
            before = _snapshot(), db.session.scalar(sa.select(sa.func.count(InboundEvent.id)))
            headers = {} if signature is None else {"X-Twilio-Signature": signature}
            form = {"AccountSid": ACCOUNT_SID, "From": HK_PHONE, "Body": body, "MessageSid": "SM1"}
            answer = client.post(path, data=form, headers=headers)
            assert answer.status_code == 403
            after = _snapshot(), db.session.scalar(sa.select(sa.func.count(InboundEvent.id)))
            assert after == before

        check()

    def test_any_status_callback_is_acknowledged_and_leaves_a_known_state(
        self, sent_invitation, twilio_post
    ):
        invitation = sent_invitation()
        sid = invitation.deliveries[0].provider_id

        @FUZZ
        @given(
            status=st.one_of(st.sampled_from(["delivered", "failed", "undelivered"]), TEXT),
            error=st.one_of(st.none(), TEXT),
            ours=st.booleans(),
        )
        def check(status: str, error: str | None, ours: bool) -> None:
            form = {"MessageSid": sid if ours else twilio_sid("SM"), "MessageStatus": status}
            if error is not None:
                form["ErrorCode"] = error
            answer = twilio_post("/webhooks/twilio/status", **form)
            assert answer.status_code == 204
            db.session.expire_all()
            for delivery in db.session.scalars(sa.select(Delivery)):
                assert delivery.state in DELIVERY_STATES

        check()

    def test_any_keypad_input_gets_twiml_and_stores_only_valid_answers(
        self, sent_invitation, twilio_post
    ):
        invitation = sent_invitation(channels=("voice",), phone=HK_PHONE)
        call_sid = invitation.deliveries[-1].provider_id
        _twiml(
            twilio_post(
                f"/webhooks/twilio/voice/{invitation.id}", CallSid=call_sid, AnsweredBy="human"
            )
        )
        # What Twilio requests is the action URL we gave it; a changed one is signed as asked.
        value = st.one_of(st.integers(-5, 50).map(str), TEXT.map(lambda text: text[:40]))
        queries = st.dictionaries(st.sampled_from(["q", "attempt"]), value).map(
            lambda args: "?" + urlencode(args) if args else ""
        )

        @FUZZ
        @given(query=queries, digits=st.one_of(st.none(), TEXT), key=st.one_of(st.none(), TEXT))
        def check(query: str, digits: str | None, key: str | None) -> None:
            form = {"CallSid": call_sid}
            if digits is not None:
                form["Digits"] = digits
            if key is not None:
                form["FinishedOnKey"] = key
            _twiml(twilio_post(f"/webhooks/twilio/voice/{invitation.id}/gather{query}", **form))
            _assert_answers_valid()

        check()


def test_the_survey_page_refuses_any_bad_step_with_a_page_and_changes_nothing(client, invite):
    invitation = invite(locale="en")
    token = invitation.token
    keys = [q.key for q in invitation.version.questions]
    field_names = st.one_of(st.sampled_from([f"q_{k}" for k in keys]), TEXT)

    @FUZZ
    @given(
        step=st.one_of(st.sampled_from(keys), TEXT),
        fields=st.dictionaries(field_names, TEXT, max_size=4),
        go=st.one_of(st.none(), st.sampled_from(["back", "next"]), TEXT),
    )
    def check(step: str, fields: dict[str, str], go: str | None) -> None:
        before = _snapshot()
        form = {"step": step, **fields}
        if go is not None:
            form["go"] = go
        answer = client.post(f"/s/{token}", data=form)
        assert answer.status_code in (200, 303, 400, 409), answer.status_code
        if answer.status_code == 400:
            assert _snapshot() == before
        _assert_answers_valid()

    check()


def test_an_unknown_link_is_a_page_not_an_error_and_changes_nothing(client, invite):
    invite()

    @FUZZ
    @given(
        page=st.sampled_from(["s", "u"]),
        token=TEXT.filter(lambda t: "/" not in t and "?" not in t and "#" not in t),
        post=st.booleans(),
    )
    def check(page: str, token: str, post: bool) -> None:
        before = _snapshot()
        path = f"/{page}/{token}"
        answer = client.post(path, data={"step": "overall"}) if post else client.get(path)
        assert answer.status_code < 500, (path, answer.status_code)
        assert _snapshot() == before

    check()


def test_the_settings_form_refuses_bad_values_beside_their_field_and_saves_nothing(admin_client):
    from tests.fixtures.admin import settings_form

    text_fields = [k for k, v in org_settings.DEFAULTS.items() if not isinstance(v, bool)]

    @FUZZ
    @given(changes=st.dictionaries(st.sampled_from(text_fields), TEXT, min_size=1, max_size=3))
    def check(changes: dict[str, str]) -> None:
        before = _snapshot()
        answer = admin_client.post(
            "/admin/settings", data=settings_form(**changes), headers={"Accept-Language": "en"}
        )
        page = answer.get_data(as_text=True)
        if any("\x00" in value for value in changes.values()):
            # NUL is refused before any form reads it (survey/errors.py): a 400 page.
            assert answer.status_code == 400 and "could not be understood" in page
        else:
            assert answer.status_code in (200, 302), answer.status_code
        if answer.status_code != 302:  # the form again, or the 400 page: something refused
            assert answer.status_code == 400 or 'class="error' in page, page[:300]
            assert _snapshot() == before

    check()
