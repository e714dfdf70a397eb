"""The customer's survey page and unsubscribe link, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.designer.service import create_from_starter, publish
from survey.models import Answer, Invitation, OptOut, Response, Rollup
from survey.respond import service
from tests.opening import written

FULL = {
    "q_attitude": "5",
    "q_wait_time": "4",
    "q_products": "3",
    "q_overall": "4",
    "q_nps": "9",
    "q_comment": "很好",
}

CONDITIONAL = {
    "name": "Conditional",
    "title_zh": "回访",
    "title_en": "Follow-up",
    "thanks_zh": "谢谢",
    "thanks_en": "Thanks a lot",
    "questions": [
        {
            "key": "overall",
            "kind": "rating_5",
            "dimension": "overall",
            "text_zh": "总体满意吗？",
            "text_en": "Overall satisfied?",
        },
        {
            "key": "why",
            "kind": "text",
            "required": True,
            "condition": {"question": "overall", "op": "<=", "value": 2},
            "text_zh": "哪里不好？",
            "text_en": "What went wrong?",
        },
        {
            "key": "branch",
            "kind": "single_choice",
            "required": False,
            "text_zh": "哪个网点？",
            "text_en": "Which branch?",
            "choices": [
                {"value": "north", "label_zh": "北区", "label_en": "North"},
                {"value": "south", "label_zh": "南区", "label_en": "South"},
            ],
        },
        {
            "key": "again",
            "kind": "yes_no",
            "required": False,
            "text_zh": "还会再来吗？",
            "text_en": "Would you come again?",
        },
    ],
}


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _fresh(db, invitation: Invitation) -> Invitation:
    db.session.expire_all()
    return db.session.get(Invitation, invitation.id)


@pytest.fixture
def conditional_version(db):
    survey = create_from_starter(CONDITIONAL)
    db.session.flush()
    version = publish(survey.versions[0])
    db.session.commit()
    return version


def test_survey_page_asks_the_first_web_question_in_the_invitations_language(client, invite):
    zh = client.get(f"/s/{invite(locale='zh').token}")
    assert zh.status_code == 200
    page = zh.get_data(as_text=True)
    assert "服务满意度回访" in page and "您对客服人员的服务态度满意吗？" in page
    assert "第 1 题，共 7 题" in page  # the free-text question is asked on the web too
    assert page.count('type="radio"') == 5  # one question a screen
    en = client.get(f"/s/{invite(locale='en').token}").get_data(as_text=True)
    assert "How did we do?" in en and "attitude of the staff" in en and "1 / 7" in en


def test_language_switch_shows_the_survey_in_english(client, invite):
    page = client.get(f"/s/{invite(locale='zh').token}?lang=en").get_data(as_text=True)
    assert "How did we do?" in page
    assert 'hreflang="zh"' in page  # and a way back


def test_public_page_shows_the_bank_and_no_staff_navigation(client, invite):
    page = client.get(f"/s/{invite().token}").get_data(as_text=True)
    assert "示例银行" in page
    assert "/auth/logout" not in page and 'class="mainnav"' not in page
    english = client.get(f"/s/{invite().token}?lang=en").get_data(as_text=True)
    assert "Example Bank" in english


def test_score_link_shows_the_rating_with_one_button_and_stores_nothing(client, db, invite):
    clock.freeze(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    invitation = invite(locale="en")
    page = client.get(f"/s/{invitation.token}?score=4").get_data(as_text=True)
    assert re.search(r'name="q_attitude" value="4" checked', page)
    assert "You chose 4." in page and "Save my rating" in page  # one more tap stores it
    assert _count(db, Response) == 0 and _count(db, Answer) == 0
    written()
    opened = _fresh(db, invitation)
    assert opened.state == "sent" and opened.completed_at is None
    assert opened.opened_at == clock.now()  # looked at, which is not an answer


def test_opening_twice_keeps_the_first_opened_time(client, db, invite):
    clock.freeze(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    invitation = invite()
    client.get(f"/s/{invitation.token}")
    written()
    first = _fresh(db, invitation).opened_at
    assert first == clock.now()
    clock.advance(timedelta(minutes=5))
    client.get(f"/s/{invitation.token}")
    written()
    assert _fresh(db, invitation).opened_at == first


@pytest.mark.parametrize("score", ["9", "²", "٣", "-1", "four", ""])
def test_out_of_range_or_odd_digit_score_link_shows_the_normal_page(client, invite, score):
    reply = client.get(f"/s/{invite(locale='en').token}?score={score}")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "checked" not in page
    assert "Save my rating" not in page and "Next" in page


def test_sending_the_answers_stores_them_completes_the_invitation_and_rolls_up(client, db, invite):
    invitation = invite(locale="en")
    reply = client.post(f"/s/{invitation.token}", data=FULL)
    assert reply.status_code == 200
    assert "We read every comment." in reply.get_data(as_text=True)
    response = db.session.scalar(sa.select(Response))
    assert response.survey_channel == "web" and response.completed_at is not None
    stored = {a.question.key: (a.value_int, a.value_text) for a in response.answers}
    assert stored["overall"] == (4, None) and stored["nps"] == (9, None)
    assert stored["comment"] == (None, "很好")
    assert "complaint_handling" not in stored  # optional and left empty
    done = _fresh(db, invitation)
    assert done.state == "completed" and done.completed_at == response.completed_at
    overall = db.session.scalar(
        sa.select(Rollup).where(Rollup.kind == "rating_5", Rollup.dimension == "overall")
    )
    assert (overall.n, overall.total, overall.top, overall.survey_channel) == (1, 4, 1, "web")


def test_a_missing_answer_is_shown_beside_its_question_and_nothing_is_stored(client, db, invite):
    invitation = invite(locale="en")
    data = {**FULL, "q_overall": ""}
    reply = client.post(f"/s/{invitation.token}", data=data)
    assert reply.status_code == 400
    page = reply.get_data(as_text=True)
    block = page[page.index('id="q_overall"') :]
    block = block[: block.index("</fieldset>")]
    assert "Please answer this question." in block
    assert 'name="q_attitude" value="5" checked' in page  # what was chosen stays chosen
    assert _count(db, Response) == 0 and _count(db, Rollup) == 0
    assert _fresh(db, invitation).state == "sent"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("q_overall", "6", "Please choose a number from 1 to 5."),
        ("q_nps", "11", "Please choose a number from 0 to 10."),
        ("q_attitude", "abc", "Please choose a number from 1 to 5."),
        # str.isdigit() accepts superscripts that int() refuses: a 400, never a 500.
        ("q_overall", "²", "Please choose a number from 1 to 5."),
    ],
)
def test_an_answer_out_of_range_is_refused(client, db, invite, field, value, message):
    reply = client.post(f"/s/{invite(locale='en').token}", data={**FULL, field: value})
    assert reply.status_code == 400 and message in reply.get_data(as_text=True)
    assert _count(db, Response) == 0


def test_a_choice_must_belong_to_its_question(client, db, invite, conditional_version):
    invitation = invite(locale="en", version=conditional_version)
    reply = client.post(f"/s/{invitation.token}", data={"q_overall": "4", "q_branch": "east"})
    assert reply.status_code == 400
    assert "Please choose one of the options." in reply.get_data(as_text=True)
    reply = client.post(
        f"/s/{invitation.token}", data={"q_overall": "4", "q_branch": "south", "q_again": "yes"}
    )
    assert reply.status_code == 200 and "Thanks a lot" in reply.get_data(as_text=True)
    answers = {a.question.key: a for a in db.session.scalar(sa.select(Response)).answers}
    assert answers["branch"].choice.value == "south" and answers["again"].value_int == 1


def test_a_hidden_question_is_not_required_and_its_answer_is_ignored(
    client, db, invite, conditional_version
):
    invitation = invite(locale="en", version=conditional_version)
    reply = client.post(f"/s/{invitation.token}", data={"q_overall": "5", "q_why": "nothing"})
    assert reply.status_code == 200
    keys = [a.question.key for a in db.session.scalar(sa.select(Response)).answers]
    assert keys == ["overall"]


def test_a_shown_conditional_question_is_required(client, db, invite, conditional_version):
    invitation = invite(locale="en", version=conditional_version)
    reply = client.post(f"/s/{invitation.token}", data={"q_overall": "1"})
    assert reply.status_code == 400 and "Please answer this question." in reply.get_data(
        as_text=True
    )
    reply = client.post(f"/s/{invitation.token}", data={"q_overall": "1", "q_why": "slow"})
    # Accepted; overall 1 meets a follow-up rule, so "may we call you?" is asked last.
    assert reply.status_code == 303 and "q=followup-consent" in reply.headers["Location"]
    keys = sorted(a.question.key for a in db.session.scalar(sa.select(Response)).answers)
    assert keys == ["overall", "why"]


def test_an_unknown_token_gets_a_not_found_page_in_the_customers_language(client):
    reply = client.get("/s/not-a-real-token", headers={"Accept-Language": "en"})
    assert reply.status_code == 404
    assert "This survey link is not valid" in reply.get_data(as_text=True)
    assert client.post("/s/not-a-real-token", data=FULL).status_code == 404


def test_an_expired_survey_says_it_has_closed_and_takes_no_answers(client, db, invite):
    clock.freeze(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    invitation = invite(locale="en", lifetime=timedelta(hours=72))
    clock.advance(timedelta(hours=72))  # expires_at itself is too late
    page = client.get(f"/s/{invitation.token}")
    assert page.status_code == 410 and "This survey has closed" in page.get_data(as_text=True)
    reply = client.post(f"/s/{invitation.token}", data=FULL)
    assert reply.status_code == 410
    assert _count(db, Response) == 0 and _fresh(db, invitation).state == "sent"


def test_a_completed_survey_cannot_be_answered_again(client, db, invite):
    invitation = invite(locale="en")
    assert client.post(f"/s/{invitation.token}", data=FULL).status_code == 200
    again = client.post(f"/s/{invitation.token}", data={**FULL, "q_overall": "1"})
    assert again.status_code == 409
    assert "You have already answered this survey" in again.get_data(as_text=True)
    page = client.get(f"/s/{invitation.token}")
    assert page.status_code == 200 and "already answered" in page.get_data(as_text=True)
    assert _count(db, Response) == 1
    overall = db.session.scalar(
        sa.select(Rollup).where(Rollup.kind == "rating_5", Rollup.dimension == "overall")
    )
    assert (overall.n, overall.total) == (1, 4)


def test_a_submission_racing_one_that_completed_first_stores_nothing(app, db, invite):
    invitation = invite(locale="en")
    # Another process completes it after this one has loaded the invitation.
    with db.engine.begin() as other:
        other.execute(
            sa.update(Invitation)
            .where(Invitation.id == invitation.id)
            .values(state="completed", completed_at=clock.now())
        )
    assert invitation.state == "sent"  # the stale view this request holds
    with app.test_request_context():
        outcome = service.submit(invitation, FULL, "en")
    assert outcome.state == "completed"
    assert _count(db, Response) == 0 and _count(db, Rollup) == 0


def test_a_partial_reply_from_another_channel_is_finished_on_the_web(
    client, db, invite, record_response
):
    invitation = invite(locale="en")
    partial = Response(
        invitation=invitation,
        survey_version_id=invitation.survey_version_id,
        survey_channel="sms",
        locale="en",
    )
    partial.answers.append(Answer(question=invitation.version.questions[0], value_int=1))
    db.session.add(partial)
    db.session.commit()
    assert client.post(f"/s/{invitation.token}", data=FULL).status_code == 200
    response = db.session.scalar(sa.select(Response))
    assert response.survey_channel == "web" and response.completed_at is not None
    assert {a.question.key: a.value_int for a in response.answers}["attitude"] == 5


def test_finishing_on_the_web_keeps_the_sms_answers_the_web_page_does_not_ask(client, db, invite):
    survey = create_from_starter(
        {
            "name": "SMS first",
            "title_zh": "回访",
            "title_en": "Follow-up",
            "questions": [
                {
                    "key": "sms_speed",
                    "kind": "rating_5",
                    "dimension": "wait_time",
                    "ask_web": False,
                    "text_zh": "速度满意吗？",
                    "text_en": "Happy with the speed?",
                },
                {
                    "key": "overall",
                    "kind": "rating_5",
                    "dimension": "overall",
                    "text_zh": "总体满意吗？",
                    "text_en": "Overall satisfied?",
                },
            ],
        }
    )
    db.session.flush()
    version = publish(survey.versions[0])
    db.session.commit()
    invitation = invite(locale="en", version=version)
    by_key = {q.key: q for q in version.questions}
    partial = Response(
        invitation=invitation, survey_version_id=version.id, survey_channel="sms", locale="en"
    )
    partial.answers.append(Answer(question=by_key["sms_speed"], value_int=2))
    partial.answers.append(Answer(question=by_key["overall"], value_int=1))
    db.session.add(partial)
    db.session.commit()
    assert client.post(f"/s/{invitation.token}", data={"q_overall": "5"}).status_code == 200
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response))
    stored = {a.question.key: a.value_int for a in response.answers}
    assert stored == {"sms_speed": 2, "overall": 5}  # the web re-asked overall only
    rolled = {
        r.dimension: (r.n, r.total)
        for r in db.session.scalars(sa.select(Rollup).where(Rollup.kind == "rating_5"))
    }
    assert rolled == {"wait_time": (1, 2), "overall": (1, 5)}


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_a_post_without_the_links_form_key_is_refused_and_stores_nothing(client, db, invite):
    invitation = invite(locale="en")
    reply = client.post(f"/s/{invitation.token}", data=FULL)
    assert reply.status_code == 400
    assert _count(db, Response) == 0 and _fresh(db, invitation).state == "sent"
    page = client.get(f"/s/{invitation.token}").get_data(as_text=True)
    key = re.search(r'name="form_key" value="([^"]+)"', page).group(1)
    assert client.post(f"/s/{invitation.token}", data={**FULL, "form_key": key}).status_code == 200


def test_nul_characters_in_an_answer_or_a_token_are_refused_and_store_nothing(client, db, invite):
    invitation = invite(locale="en")
    reply = client.post(f"/s/{invitation.token}", data={**FULL, "q_comment": "good\x00"})
    assert reply.status_code == 400
    assert _count(db, Response) == 0 and _fresh(db, invitation).state == "sent"
    assert client.get("/s/x%00y").status_code in (400, 404)
    assert client.post("/u/x%00y").status_code in (400, 404)


def _opt_outs(db) -> list[OptOut]:
    return list(db.session.scalars(sa.select(OptOut).order_by(OptOut.id)))


def test_unsubscribe_link_asks_first_and_a_get_opts_nobody_out(client, db, invite):
    invitation = invite(locale="en")
    page = client.get(f"/u/{invitation.unsubscribe_token}")
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)
    assert _opt_outs(db) == []


def test_unsubscribing_opts_out_the_customer_and_their_addresses(client, db, invite):
    invitation = invite(locale="en")
    reply = client.post(f"/u/{invitation.unsubscribe_token}")
    assert reply.status_code == 200 and "You are unsubscribed" in reply.get_data(as_text=True)
    rows = _opt_outs(db)
    assert {(r.customer_id, r.address_id) for r in rows} == {
        (invitation.customer_id, None),
        *((None, a.id) for a in invitation.customer.addresses),
    }
    assert {r.method for r in rows} == {"link"}
    client.post(f"/u/{invitation.unsubscribe_token}")
    assert len(_opt_outs(db)) == 3  # repeating it records nothing new


def test_unsubscribe_keeps_working_after_the_survey_is_answered(client, db, invite):
    invitation = invite(locale="en")
    client.post(f"/s/{invitation.token}", data=FULL)
    assert client.post(f"/u/{invitation.unsubscribe_token}").status_code == 200
    assert len(_opt_outs(db)) == 3


def test_the_survey_token_does_not_unsubscribe_and_vice_versa(client, db, invite):
    invitation = invite()
    assert client.post(f"/u/{invitation.token}").status_code == 404
    assert client.get(f"/s/{invitation.unsubscribe_token}").status_code == 404
    assert _opt_outs(db) == []


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_one_click_unsubscribe_works_without_a_csrf_token(client, db, invite):
    invitation = invite()
    refused = client.post(f"/u/{invitation.unsubscribe_token}", data={"other": "x"})
    assert refused.status_code == 400 and _opt_outs(db) == []
    reply = client.post(
        f"/u/{invitation.unsubscribe_token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert reply.status_code == 200
    assert len(_opt_outs(db)) == 3
    assert {r.method for r in _opt_outs(db)} == {"one_click"}  # recorded as how it was given


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_guessing_survey_tokens_is_slowed_down_past_what_a_carrier_nat_needs(client):
    # 600 a minute from one address: a carrier's NAT puts many customers behind it.
    for attempt in range(600):
        path = f"/s/guess{attempt}" if attempt % 2 else f"/u/guess{attempt}"
        assert client.get(path).status_code == 404
    assert client.get("/s/guess-more").status_code == 429
