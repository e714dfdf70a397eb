"""The draft editor: validation beside the field, conditions, reordering, and concurrent edits."""

from __future__ import annotations

import json

import sqlalchemy as sa

from survey.designer import diff
from survey.extensions import db
from survey.models import Question, Survey, SurveyVersion


def _question(version: SurveyVersion, **fields) -> dict:
    data = {
        "lock_version": str(version.lock_version),
        "seen": json.dumps(diff.snapshot(version)),
        "kind": "rating_5",
        "dimension": "",
        "text_zh": "您满意吗？",
        "text_en": "Are you satisfied?",
        "required": "y",
        "ask_web": "y",
        "ask_sms": "y",
        "condition_op": "<=",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def _texts(survey_id: int) -> list[str]:
    db.session.expire_all()
    return [q.text_en for q in db.session.get(Survey, survey_id).versions[-1].questions]


def test_a_question_is_added_at_the_end(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/new", data=_question(survey.versions[0])
    )
    assert response.status_code == 302
    assert _texts(survey.id)[-1] == "Are you satisfied?"


def test_free_text_on_voice_is_refused_beside_the_field(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    before = _texts(survey.id)
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/new",
        data=_question(survey.versions[0], kind="text", ask_voice="y"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "A free-text answer cannot be given on a voice call." in page
    assert "Nothing was saved" in page
    assert _texts(survey.id) == before


def test_a_question_without_text_or_channel_is_refused(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/new",
        data=_question(survey.versions[0], text_zh="", text_en="", ask_web=None, ask_sms=None),
    )
    page = response.get_data(as_text=True)
    assert "Write the question in at least one language." in page
    assert "Choose at least one place to ask this question." in page


def test_single_choice_needs_two_choices(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/new",
        data=_question(survey.versions[0], kind="single_choice", choices="只有一个 | Only one"),
    )
    assert "Give at least two choices." in response.get_data(as_text=True)


def test_single_choice_choices_are_saved_in_both_languages(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    manager_client.post(
        f"/designer/surveys/{survey.id}/questions/new",
        data=_question(
            survey.versions[0], kind="single_choice", choices="电话 | Phone\n网点 | Branch"
        ),
    )
    db.session.expire_all()
    question = db.session.get(Survey, survey.id).versions[0].questions[-1]
    assert [(c.value, c.label_zh, c.label_en) for c in question.choices] == [
        ("1", "电话", "Phone"),
        ("2", "网点", "Branch"),
    ]


def test_a_condition_on_an_earlier_rating_is_saved(manager_client, make_survey):
    survey = make_survey()
    version = survey.versions[0]
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/new",
        data=_question(
            version,
            kind="text",
            text_en="What went wrong?",
            ask_sms=None,
            condition_question="attitude",
            condition_op="<=",
            condition_value="2",
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    added = db.session.get(Survey, survey.id).versions[0].questions[-1]
    assert added.condition == {"question": "attitude", "op": "<=", "value": 2}


def test_a_condition_on_an_answer_that_cannot_occur_is_refused(manager_client, make_survey):
    survey = make_survey()
    version = survey.versions[0]
    for op, value, message in [
        ("==", "7", "No answer can be 7"),
        ("<", "1", "No answer to that question can satisfy this condition."),
        ("<=", "bad", "Use a number from 1 to 5."),
    ]:
        response = manager_client.post(
            f"/designer/surveys/{survey.id}/questions/new",
            data=_question(
                version, condition_question="attitude", condition_op=op, condition_value=value
            ),
        )
        assert response.status_code == 400
        assert message in response.get_data(as_text=True), (op, value)


def test_a_condition_on_a_later_question_is_refused(manager_client, make_survey):
    survey = make_survey()
    first = survey.versions[0].questions[0]
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/{first.id}",
        data=_question(survey.versions[0], condition_question="overall", condition_value="2"),
    )
    assert response.status_code == 400
    assert "Choose an earlier question." in response.get_data(as_text=True)


def test_moving_a_condition_below_its_question_is_reported_before_publishing(
    manager_client, make_survey
):
    survey = make_survey("complaint_resolution")
    version = survey.versions[0]
    guarded = version.questions[3]  # "what went wrong", conditioned on "handling" (question 3)
    manager_client.post(
        f"/designer/surveys/{survey.id}/questions/arrange",
        data={"lock_version": str(version.lock_version), "action": f"up:{guarded.id}"},
    )
    page = manager_client.get(f"/designer/surveys/{survey.id}/publish").get_data(as_text=True)
    assert "The condition points at a later question" in page
    assert "Publish version 1" not in page


def test_up_and_down_buttons_reorder_without_javascript(manager_client, make_survey):
    survey = make_survey()
    version = survey.versions[0]
    second = version.questions[1]
    before = _texts(survey.id)
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/arrange",
        data={"lock_version": str(version.lock_version), "action": f"up:{second.id}"},
    )
    assert response.status_code == 302
    assert _texts(survey.id) == [before[1], before[0], *before[2:]]
    positions = db.session.scalars(
        sa.select(Question.position)
        .where(Question.version_id == version.id)
        .order_by(Question.position)
    ).all()
    assert positions == list(range(1, len(before) + 1))


def test_a_dragged_order_is_saved_whole(manager_client, make_survey):
    survey = make_survey()
    version = survey.versions[0]
    ids = [q.id for q in version.questions]
    before = _texts(survey.id)
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/order",
        data={
            "lock_version": str(version.lock_version),
            "order": ",".join(map(str, [ids[2], ids[0], ids[1], *ids[3:]])),
        },
    )
    assert response.status_code == 302
    assert _texts(survey.id) == [before[2], before[0], before[1], *before[3:]]


def test_a_dragged_order_from_an_older_page_is_refused_and_says_what_changed(
    manager_client, make_survey
):
    survey = make_survey()
    version = survey.versions[0]
    ids = [q.id for q in version.questions]
    page_lock = str(version.lock_version)
    seen = json.dumps(diff.snapshot(version))
    manager_client.post(
        f"/designer/surveys/{survey.id}/questions/arrange",
        data={"lock_version": page_lock, "action": f"delete:{ids[-1]}"},
    )
    before = _texts(survey.id)
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/order",
        data={"lock_version": page_lock, "seen": seen, "order": ",".join(map(str, ids[::-1]))},
    )
    assert response.status_code == 409
    assert "Someone else saved this draft" in response.get_data(as_text=True)
    assert "Question removed" in response.get_data(as_text=True)
    assert _texts(survey.id) == before


def test_an_order_that_leaves_out_a_question_changes_nothing(manager_client, make_survey):
    survey = make_survey()
    version = survey.versions[0]
    ids = [q.id for q in version.questions]
    before = _texts(survey.id)
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/questions/order",
        data={"lock_version": str(version.lock_version), "order": ",".join(map(str, ids[1:]))},
        follow_redirects=True,
    )
    assert "nothing was changed" in response.get_data(as_text=True)
    assert _texts(survey.id) == before


def test_removing_a_question(manager_client, make_survey):
    survey = make_survey()
    version = survey.versions[0]
    last = version.questions[-1]
    manager_client.post(
        f"/designer/surveys/{survey.id}/questions/arrange",
        data={"lock_version": str(version.lock_version), "action": f"delete:{last.id}"},
    )
    assert "Is there anything else you would like to tell us?" not in _texts(survey.id)


def test_a_second_save_from_an_older_page_is_told_what_changed_and_saves_nothing(
    make_survey, make_user, signed_in, manager
):
    survey = make_survey()
    version = survey.versions[0]
    seen_by_both = _question(version, text_en="Mine")
    first = version.questions[0]
    alice, bob = signed_in(manager), signed_in(make_user("manager", email="bob@bank.example"))
    alice_form = {**seen_by_both, "text_en": "How polite were our staff?"}
    assert (
        alice.post(
            f"/designer/surveys/{survey.id}/questions/{first.id}", data=alice_form
        ).status_code
        == 302
    )
    bob_form = {**seen_by_both, "text_en": "Bob's wording"}
    response = bob.post(f"/designer/surveys/{survey.id}/questions/{first.id}", data=bob_form)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this draft since you opened it" in page
    assert "How polite were our staff?" in page  # what changed meanwhile
    assert "Bob&#39;s wording" in page  # his text is kept in the form, not lost
    assert _texts(survey.id)[0] == "How polite were our staff?"
    # Saving again from the refreshed form is a deliberate overwrite, and works.
    db.session.expire_all()
    fresh = db.session.get(SurveyVersion, version.id)
    again = {**bob_form, "lock_version": str(fresh.lock_version)}
    assert (
        bob.post(f"/designer/surveys/{survey.id}/questions/{first.id}", data=again).status_code
        == 302
    )
    assert _texts(survey.id)[0] == "Bob's wording"


def test_details_need_a_name_and_keep_the_error_beside_it(manager_client, make_survey):
    survey = make_survey()
    version = survey.versions[0]
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/details",
        data={"lock_version": str(version.lock_version), "name": "", "title_zh": "新标题"},
    )
    assert response.status_code == 400
    assert 'id="name-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SurveyVersion, version.id).title_zh == "服务满意度回访"


def test_create_duplicate_and_archive_surveys(manager_client, make_survey):
    response = manager_client.post(
        "/designer/surveys/new", data={"name": "Branch CSAT", "starter": "post_interaction"}
    )
    assert response.status_code == 302
    created = db.session.scalar(sa.select(Survey).where(Survey.name == "Branch CSAT"))
    assert len(created.versions[0].questions) == 7
    blank = manager_client.post("/designer/surveys/new", data={"name": "Empty", "starter": "blank"})
    assert blank.status_code == 302
    manager_client.post(f"/designer/surveys/{created.id}/duplicate", data={"name": "Branch CSAT 2"})
    copy = db.session.scalar(sa.select(Survey).where(Survey.name == "Branch CSAT 2"))
    assert [q.key for q in copy.versions[0].questions] == [
        q.key for q in created.versions[0].questions
    ]
    manager_client.post(f"/designer/surveys/{created.id}/archive")
    listing = manager_client.get("/designer/surveys").get_data(as_text=True)
    assert "Branch CSAT 2" in listing and ">Branch CSAT<" not in listing
    assert ">Branch CSAT<" in manager_client.get("/designer/surveys?archived=1").get_data(
        as_text=True
    )
