"""The web survey a step at a time: saved as the customer goes, resumed, changed, finished once."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from survey import clock
from survey.designer.service import create_from_starter, publish
from survey.models import Answer, Invitation, Response, Rollup
from tests.test_respond import CONDITIONAL

# The post-interaction starter, one answer a step (complaint_handling is optional).
STEPS = [
    ("attitude", "5"),
    ("wait_time", "4"),
    ("products", "3"),
    ("complaint_handling", ""),
    ("overall", "4"),
    ("nps", "9"),
    ("comment", "很好"),
]


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _stored(db, invitation: Invitation) -> dict[str, object]:
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(Answer).join(Response).where(Response.invitation_id == invitation.id)
    )
    return {
        a.question.key: a.choice.value if a.choice else a.value_int or a.value_text for a in rows
    }


def _response(db, invitation: Invitation) -> Response | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))


def step(client, invitation, key, value, go="next", **extra):
    """Post one step's form, as the page's Next (or Back) button does."""
    data = {"step": key, f"q_{key}": value, "go": go, **extra}
    return client.post(f"/s/{invitation.token}?lang=en", data=data)


def _asks(client, url: str) -> tuple[str, str]:
    """Open a page and return (the asked question's key, the page)."""
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="step" value="([^"]+)"', page)
    assert match, page
    return match.group(1), page


@pytest.fixture
def conditional_version(db):
    survey = create_from_starter(CONDITIONAL)
    db.session.flush()
    version = publish(survey.versions[0])
    db.session.commit()
    return version


def test_each_step_is_saved_as_a_partial_answer_and_leads_to_the_next(client, db, invite):
    invitation = invite(locale="zh")
    reply = step(client, invitation, "attitude", "5")
    assert reply.status_code == 303
    assert "q=wait_time" in reply.headers["Location"]
    response = _response(db, invitation)
    assert response.completed_at is None and response.survey_channel == "web"
    assert _stored(db, invitation) == {"attitude": 5}
    assert db.session.get(Invitation, invitation.id).state == "sent"
    assert _count(db, Rollup) == 0  # a partial response is not counted yet
    page = client.get(reply.headers["Location"].replace("lang=en", "lang=zh")).get_data(
        as_text=True
    )
    assert "您对本次等待时间满意吗？" in page and "第 2 题，共 7 题" in page


def test_the_last_step_completes_the_response_once_and_rolls_it_up(client, db, invite):
    invitation = invite(locale="en")
    for key, value in STEPS[:-1]:
        assert step(client, invitation, key, value).status_code == 303
    assert _response(db, invitation).completed_at is None
    _key, page = _asks(client, f"/s/{invitation.token}?lang=en")
    assert _key == "comment" and "7 / 7" in page and ">Send<" in page
    done = step(client, invitation, "comment", "很好")
    assert done.status_code == 200 and "We read every comment." in done.get_data(as_text=True)
    response = _response(db, invitation)
    assert response.completed_at is not None
    assert _stored(db, invitation) == {
        "attitude": 5,
        "wait_time": 4,
        "products": 3,
        "overall": 4,
        "nps": 9,
        "comment": "很好",
    }
    overall = db.session.scalar(
        sa.select(Rollup).where(Rollup.kind == "rating_5", Rollup.dimension == "overall")
    )
    assert (overall.n, overall.total) == (1, 4)


def test_a_required_step_left_empty_says_so_and_stores_nothing(client, db, invite):
    invitation = invite(locale="en")
    reply = step(client, invitation, "attitude", "")
    assert reply.status_code == 400
    page = reply.get_data(as_text=True)
    assert "Please answer this question." in page and "1 / 7" in page
    assert _count(db, Answer) == 0
    wrong = step(client, invitation, "nps", "11")
    assert wrong.status_code == 400
    assert "Please choose a number from 0 to 10." in wrong.get_data(as_text=True)
    assert _count(db, Answer) == 0


def test_leaving_and_coming_back_resumes_where_they_left_off_with_their_answers(app, db, invite):
    invitation = invite(locale="en")
    first_visit = app.test_client(use_cookies=False)
    for key, value in STEPS[:3]:
        step(first_visit, invitation, key, value)
    later = app.test_client(use_cookies=False)  # another day, another browser: only the link
    key, page = _asks(later, f"/s/{invitation.token}")
    assert key == "complaint_handling" and "4 / 7" in page
    answered = page[page.index("Your answers so far") :]
    assert "attitude of the staff" in answered and "how long you had to wait" in answered
    assert re.search(r'class="given">5<', answered) and re.search(r'class="given">3<', answered)
    assert f"/s/{invitation.token}?q=attitude" in answered  # each can be changed


def test_back_keeps_the_answer_given_and_shows_the_one_before(client, db, invite):
    invitation = invite(locale="en")
    step(client, invitation, "attitude", "2")
    reply = step(client, invitation, "wait_time", "3", go="back")
    assert reply.status_code == 303 and "q=attitude" in reply.headers["Location"]
    assert _stored(db, invitation) == {"attitude": 2, "wait_time": 3}
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert re.search(r'name="q_attitude" value="2" checked', page)


def test_changing_an_answer_before_finishing_replaces_it(client, db, invite):
    invitation = invite(locale="en")
    for key, value in STEPS[:3]:
        step(client, invitation, key, value)
    _key, page = _asks(client, f"/s/{invitation.token}?q=attitude&lang=en")
    assert _key == "attitude" and re.search(r'name="q_attitude" value="5" checked', page)
    reply = step(client, invitation, "attitude", "1")
    assert "q=wait_time" in reply.headers["Location"]
    assert _stored(db, invitation) == {"attitude": 1, "wait_time": 4, "products": 3}
    assert _count(db, Answer) == 3
    # Coming back after the change still resumes at the first unanswered question.
    assert _asks(client, f"/s/{invitation.token}")[0] == "complaint_handling"


def test_after_finishing_no_step_can_change_an_answer(client, db, invite):
    invitation = invite(locale="en")
    for key, value in STEPS:
        step(client, invitation, key, value)
    again = step(client, invitation, "attitude", "1")
    assert again.status_code == 409
    assert "You have already answered this survey" in again.get_data(as_text=True)
    assert _stored(db, invitation)["attitude"] == 5
    page = client.get(f"/s/{invitation.token}?q=attitude&lang=en")
    assert "already answered" in page.get_data(as_text=True)


def test_progress_counts_only_the_questions_that_apply(client, db, invite, conditional_version):
    invitation = invite(locale="en", version=conditional_version)
    _key, page = _asks(client, f"/s/{invitation.token}")
    assert "1 / 3" in page  # the follow-up is not asked until a low rating
    reply = step(client, invitation, "overall", "1")
    assert "q=why" in reply.headers["Location"]
    _key, page = _asks(client, reply.headers["Location"])
    assert _key == "why" and "2 / 4" in page


def test_a_condition_is_enforced_on_the_server_when_the_page_is_bypassed(
    client, db, invite, conditional_version
):
    invitation = invite(locale="en", version=conditional_version)
    step(client, invitation, "overall", "5")
    forged = step(client, invitation, "why", "nothing")  # never shown after a 5
    assert forged.status_code == 303 and "q=branch" in forged.headers["Location"]
    assert _stored(db, invitation) == {"overall": 5}
    assert _asks(client, f"/s/{invitation.token}?q=why")[0] == "branch"  # not shown either


def test_an_answer_to_a_question_that_no_longer_applies_is_dropped_at_the_end(
    client, db, invite, conditional_version
):
    invitation = invite(locale="en", version=conditional_version)
    step(client, invitation, "overall", "1")
    step(client, invitation, "why", "slow")
    assert _stored(db, invitation) == {"overall": 1, "why": "slow"}
    changed = step(client, invitation, "overall", "5")  # changed their mind
    assert "q=branch" in changed.headers["Location"]
    step(client, invitation, "branch", "south")
    done = step(client, invitation, "again", "yes")
    assert done.status_code == 200 and "Thanks a lot" in done.get_data(as_text=True)
    assert _stored(db, invitation) == {"overall": 5, "branch": "south", "again": 1}


def test_a_shown_follow_up_is_required(client, db, invite, conditional_version):
    invitation = invite(locale="en", version=conditional_version)
    step(client, invitation, "overall", "2")
    reply = step(client, invitation, "why", "")
    assert reply.status_code == 400 and "Please answer this question." in reply.get_data(
        as_text=True
    )


def test_the_email_rating_is_saved_by_one_tap_and_the_rest_is_offered(client, db, invite):
    invitation = invite(locale="en")
    for _ in range(3):  # a mail scanner opening the link, then the customer
        page = client.get(f"/s/{invitation.token}?score=4").get_data(as_text=True)
    assert _count(db, Response) == 0 and _count(db, Answer) == 0
    assert 'name="one_click" value="1"' in page
    saved = step(client, invitation, "attitude", "4", one_click="1")
    assert saved.status_code == 303
    assert "q=wait_time" in saved.headers["Location"] and "saved=1" in saved.headers["Location"]
    response = _response(db, invitation)
    assert response.completed_at is None and _stored(db, invitation) == {"attitude": 4}
    rest = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "your rating is saved" in rest and "2 / 7" in rest
    assert "how long you had to wait" in rest


def test_an_email_rating_link_after_finishing_shows_already_answered(client, db, invite):
    invitation = invite(locale="en")
    for key, value in STEPS:
        step(client, invitation, key, value)
    page = client.get(f"/s/{invitation.token}?score=1").get_data(as_text=True)
    assert "You have already answered this survey" in page
    assert _stored(db, invitation)["attitude"] == 5


def test_double_submit_from_two_tabs_makes_one_response(app, db, invite):
    invitation = invite(locale="en")
    first_tab, second_tab = app.test_client(), app.test_client()
    for key, value in STEPS[:-1]:
        step(first_tab, invitation, key, value)
    # Both tabs show the last question; each sends it.
    assert _asks(first_tab, f"/s/{invitation.token}")[0] == "comment"
    assert _asks(second_tab, f"/s/{invitation.token}")[0] == "comment"
    assert step(first_tab, invitation, "comment", "first").status_code == 200
    late = step(second_tab, invitation, "comment", "second")
    assert late.status_code == 409
    assert "You have already answered this survey" in late.get_data(as_text=True)
    assert _count(db, Response) == 1
    assert _stored(db, invitation)["comment"] == "first"
    overall = db.session.scalar(
        sa.select(Rollup).where(Rollup.kind == "rating_5", Rollup.dimension == "overall")
    )
    assert overall.n == 1


def test_two_tabs_sending_the_last_answer_at_the_same_moment_make_one_response(
    db, invite, live_server
):
    invitation = invite(locale="en")
    url = f"{live_server}/s/{invitation.token}?lang=en"
    opener = urllib.request.build_opener(_NoRedirect)
    for key, value in STEPS[:-1]:
        body = urllib.parse.urlencode({"step": key, f"q_{key}": value, "go": "next"}).encode()
        assert _status(opener, url, body) == 303
    start = threading.Barrier(4)
    statuses: list[int] = []

    def send(text: str) -> None:
        body = urllib.parse.urlencode({"step": "comment", "q_comment": text}).encode()
        start.wait()
        statuses.append(_status(opener, url, body))

    tabs = [threading.Thread(target=send, args=(f"tab {n}",)) for n in range(4)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(timeout=60)
    assert sorted(statuses) == [200, 409, 409, 409]
    assert _count(db, Response) == 1
    overall = db.session.scalar(
        sa.select(Rollup).where(Rollup.kind == "rating_5", Rollup.dimension == "overall")
    )
    assert (overall.n, overall.total) == (1, 4)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _status(opener, url: str, body: bytes) -> int:
    try:
        with opener.open(url, data=body, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_a_step_without_the_links_form_key_is_refused_and_stores_nothing(app, db, invite):
    invitation = invite(locale="en")
    browser = app.test_client(use_cookies=False)
    forged = step(browser, invitation, "attitude", "1")
    assert forged.status_code == 400 and _count(db, Answer) == 0
    one_tap = browser.get(f"/s/{invitation.token}?score=4").get_data(as_text=True)
    key = re.search(r'name="form_key" value="([^"]+)"', one_tap).group(1)
    saved = step(browser, invitation, "attitude", "4", one_click="1", form_key=key)
    assert saved.status_code == 303 and _stored(db, invitation) == {"attitude": 4}


def test_a_step_posted_without_opening_the_page_first_notes_when_it_was_opened(client, db, invite):
    clock.freeze(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    invitation = invite(locale="en")
    step(client, invitation, "attitude", "3")
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).opened_at == clock.now()


def test_a_survey_that_asks_nothing_on_the_web_still_opens_and_sends(client, db, invite):
    survey = create_from_starter(
        {
            "name": "SMS only",
            "title_zh": "短信回访",
            "title_en": "By text",
            "questions": [
                {
                    "key": "speed",
                    "kind": "rating_5",
                    "dimension": "wait_time",
                    "ask_web": False,
                    "text_zh": "速度满意吗？",
                    "text_en": "Happy with the speed?",
                }
            ],
        }
    )
    db.session.flush()
    version = publish(survey.versions[0])
    db.session.commit()
    invitation = invite(locale="en", version=version)
    page = client.get(f"/s/{invitation.token}?score=3")
    assert page.status_code == 200 and "By text" in page.get_data(as_text=True)
    assert client.post(f"/s/{invitation.token}", data={"step": "speed"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).state == "completed"
