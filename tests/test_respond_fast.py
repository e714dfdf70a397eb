"""An unanswered link's first step answered in front of Flask: as Flask answers it, or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import request_started
from prometheus_client import REGISTRY

from survey import settings
from survey.extensions import db
from survey.funnel import rebuilding
from survey.models import Answer, Invitation, Response
from survey.respond import formkey, kept
from tests.opening import written
from tests.test_respond_steps import step

# Headers a request makes for itself; every other header of the two answers must agree.
OWN = {"X-Request-ID", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}


@contextmanager
def flask_requests(app) -> Iterator[list[str]]:
    """The paths Flask's request cycle began for (the layer in front of it sends no signal)."""
    seen: list[str] = []

    def started(_sender, **_extra) -> None:
        from flask import request

        seen.append(request.full_path)

    request_started.connect(started, app)
    try:
        yield seen
    finally:
        request_started.disconnect(started, app)


def _headers(reply) -> dict[str, str]:
    return {name: value for name, value in reply.headers.items() if name not in OWN}


@pytest.mark.parametrize("query", ["", "?lang=zh", "?lang=en"])
def test_a_second_unanswered_link_gets_what_flask_gives_it_without_flask(
    app, client, invite, query
):
    first, second = invite(locale="en"), invite(locale="en")
    assert client.get(f"/s/{first.token}{query}").status_code == 200  # Flask; kept
    with flask_requests(app) as through_flask:
        fast = client.get(f"/s/{second.token}{query}")
    assert fast.status_code == 200 and through_flask == []
    kept.forget()  # nothing kept: Flask renders the same link's page anew
    with flask_requests(app) as through_flask:
        rendered = client.get(f"/s/{second.token}{query}")
    assert through_flask != []
    assert fast.get_data(as_text=True) == rendered.get_data(as_text=True)
    assert _headers(fast) == _headers(rendered)
    page = fast.get_data(as_text=True)
    with app.test_request_context():
        key = formkey.form_key(second.token, formkey.ANSWER)
    assert second.token in page and second.unsubscribe_token in page and key in page
    assert first.token not in page and first.unsubscribe_token not in page


def test_the_answer_in_front_of_flask_carries_every_header_a_customer_page_must(
    app, client, invite
):
    first, second = invite(), invite()
    client.get(f"/s/{first.token}")
    with flask_requests(app) as through_flask:
        reply = client.get(f"/s/{second.token}", headers={"X-Request-ID": "abc-123"})
    assert through_flask == []
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in reply.headers["Cache-Control"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    policy = reply.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert reply.headers["X-Request-ID"] == "abc-123"
    assert "Set-Cookie" not in reply.headers
    other = client.get(f"/s/{invite().token}", headers={"X-Request-ID": "not <sane>"})
    assert other.headers["X-Request-ID"] not in ("", "not <sane>")


def test_the_first_visit_answered_in_front_of_flask_is_recorded_once(app, client, invite):
    first, second = invite(), invite()
    client.get(f"/s/{first.token}")
    with flask_requests(app) as through_flask:
        for _ in range(3):
            assert client.get(f"/s/{second.token}").status_code == 200
    assert through_flask == []
    assert written() == 2  # each link once, its three visits one
    db.session.expire_all()
    assert db.session.get(Invitation, second.id).opened_at is not None
    from tests.test_funnel import rollup_rows, totals

    assert totals()["opened"] == 2
    counted = rollup_rows()
    rebuilding.rebuild()
    assert rollup_rows() == counted


def test_answered_closed_unknown_and_other_queries_are_left_to_flask(app, client, invite):
    first, answered, later = invite(locale="en"), invite(locale="en"), invite(locale="en")
    client.get(f"/s/{first.token}")
    assert step(client, answered, "attitude", "4").status_code == 303
    closed = invite(locale="en")
    closed.state = "cancelled"
    db.session.commit()
    paths = [
        f"/s/{answered.token}",  # a response begun: the customer's own progress
        f"/s/{closed.token}",  # 410
        "/s/" + "x" * 30,  # 404
        f"/s/{later.token}?score=4",
        f"/s/{later.token}?lang=en&q=wait_time",
    ]
    with flask_requests(app) as through_flask:
        statuses = [client.get(path).status_code for path in paths]
    assert statuses == [200, 410, 404, 200, 200]
    assert len(through_flask) == len(paths)


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_answers_in_front_of_flask_count_in_the_links_limit_with_its_headers(app, client, invite):
    first, second = invite(locale="en"), invite(locale="en")
    client.get(f"/s/{first.token}")
    with flask_requests(app) as through_flask:
        replies = [client.get(f"/s/{second.token}") for _ in range(30)]
    assert {r.status_code for r in replies} == {200} and through_flask == []
    assert [r.headers["X-RateLimit-Remaining"] for r in replies[-2:]] == ["1", "0"]
    assert replies[-1].headers["X-RateLimit-Limit"] == "30"
    limited = client.get(f"/s/{second.token}", headers={"Accept-Language": "en"})
    assert limited.status_code == 429  # Flask's friendly page, counted by Flask-Limiter
    assert "Please wait a moment" in limited.get_data(as_text=True)


def test_answers_in_front_of_flask_are_counted_by_route(app, client, invite):
    first, second = invite(), invite()
    client.get(f"/s/{first.token}")
    labels = {"route": "/s/<token>", "method": "GET", "status": "200"}
    before = REGISTRY.get_sample_value("survey_http_requests_total", labels) or 0.0
    with flask_requests(app) as through_flask:
        client.get(f"/s/{second.token}")
    assert through_flask == []
    assert REGISTRY.get_sample_value("survey_http_requests_total", labels) == before + 1


@pytest.mark.app_config(SURVEY_FAST_FIRST_STEP=False)
def test_the_layer_can_be_turned_off(app, client, invite):
    first, second = invite(), invite()
    client.get(f"/s/{first.token}")
    with flask_requests(app) as through_flask:
        assert client.get(f"/s/{second.token}").status_code == 200
    assert len(through_flask) == 1


def _answers_of(invitation_id: int) -> list[tuple[int, int | None]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.value_int)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.invitation_id == invitation_id)
    )
    return list(rows)


def _with_token(text: str, token: str) -> str:
    return text.replace(token, "<token>")


def test_a_first_answer_on_an_unanswered_link_is_stored_in_front_of_flask_as_flask_stores_it(
    app, client, invite
):
    first, second, third = invite(locale="en"), invite(locale="en"), invite(locale="en")
    assert step(client, first, "attitude", "5").status_code == 303  # Flask; kept
    labels = {"survey_channel": "web"}
    before = REGISTRY.get_sample_value("survey_answers_total", labels) or 0.0
    with flask_requests(app) as through_flask:
        fast = step(client, second, "attitude", "4")
    assert fast.status_code == 303 and through_flask == []
    assert REGISTRY.get_sample_value("survey_answers_total", labels) == before + 1
    kept.forget()
    with flask_requests(app) as through_flask:
        flask_answer = step(client, third, "attitude", "4")
    assert len(through_flask) == 1
    assert _with_token(fast.headers["Location"], second.token) == _with_token(
        flask_answer.headers["Location"], third.token
    )
    assert fast.headers["Location"].startswith(f"/s/{second.token}?")
    assert _with_token(fast.get_data(as_text=True), second.token) == _with_token(
        flask_answer.get_data(as_text=True), third.token
    )
    assert {k: v for k, v in _headers(fast).items() if k != "Location"} == {
        k: v for k, v in _headers(flask_answer).items() if k != "Location"
    }
    for invitation in (second, third):
        assert [value for _question, value in _answers_of(invitation.id)] == [4]
        response = db.session.scalar(
            sa.select(Response).where(Response.invitation_id == invitation.id)
        )
        assert (response.state, response.survey_channel, response.locale) == (
            "partial",
            "web",
            "en",
        )
        assert db.session.get(Invitation, invitation.id).opened_at is not None
    from tests.test_funnel import rollup_rows, totals

    assert totals()["started"] == 3 and totals()["opened"] == 3
    counted = rollup_rows()
    rebuilding.rebuild()
    assert rollup_rows() == counted
    # The next page is the second question, and the page says what was answered.
    page = client.get(fast.headers["Location"]).get_data(as_text=True)
    assert 'name="step" value="wait_time"' in page


def test_a_second_press_and_the_steps_after_are_left_to_flask_and_store_nothing_twice(
    app, client, invite
):
    first, second = invite(locale="en"), invite(locale="en")
    step(client, first, "attitude", "5")
    assert step(client, second, "attitude", "4").status_code == 303  # in front of Flask
    with flask_requests(app) as through_flask:
        assert step(client, second, "attitude", "2").status_code == 303  # another tab
        assert step(client, second, "wait_time", "3").status_code == 303
    assert len(through_flask) == 2
    assert sorted(value for _question, value in _answers_of(second.id)) == [2, 3]
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Response)
            .where(Response.invitation_id == second.id)
        )
        == 1
    )


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_a_refused_post_is_left_to_flask_and_stores_nothing(app, client, invite):
    first, second = invite(locale="en"), invite(locale="en")
    with app.test_request_context():
        key = formkey.form_key(first.token, formkey.ANSWER)
        other_key = formkey.form_key(second.token, formkey.ANSWER)
    assert step(client, first, "attitude", "5", form_key=key).status_code == 303  # kept
    with flask_requests(app) as through_flask:
        forged = step(client, second, "attitude", "4", form_key=key)  # another link's key
        wrong = step(client, second, "attitude", "9", form_key=other_key)  # not on the scale
        later = step(client, second, "wait_time", "4", form_key=other_key)  # not the first
        one_tap = step(client, second, "attitude", "4", form_key=other_key, one_click="1")
    assert (forged.status_code, wrong.status_code) == (400, 400)
    assert later.status_code == 303 and one_tap.status_code == 303
    assert len(through_flask) == 4
    # Flask stored what it takes: the later question's answer and the one tap's, no more.
    assert [value for _question, value in _answers_of(second.id)] == [4, 4]


def test_a_closed_link_is_left_to_flask(app, client, invite):
    first, closed = invite(locale="en"), invite(locale="en")
    step(client, first, "attitude", "5")
    closed.state = "cancelled"
    db.session.commit()
    with flask_requests(app) as through_flask:
        assert step(client, closed, "attitude", "4").status_code == 410
    assert len(through_flask) == 1 and _answers_of(closed.id) == []


@pytest.fixture
def settings_kept_throughout(monkeypatch):
    """The customers' pages' kept copy of the settings does not age during the test.

    A test that counts what a request sends warms the copy, then counts: on a machine loaded
    enough that the two are more than ``settings.KEPT_SECONDS`` apart, the copy would be read
    again in the counted request, one statement more than the path it protects sends.
    """
    start = settings._monotonic()
    monkeypatch.setattr(settings, "_monotonic", lambda: start)


def test_a_first_visit_and_answer_in_front_of_flask_run_on_the_driver_alone(
    app, client, invite, settings_kept_throughout
):
    first, second = invite(locale="en"), invite(locale="en")
    client.get(f"/s/{first.token}")  # Flask; kept (the settings' copy too)
    assert step(client, first, "attitude", "5").status_code == 303
    token, invitation_id = second.token, second.id  # read now: the test's own statements
    through_sqlalchemy: list[str] = []

    def executed(_conn, _cursor, statement, *_rest) -> None:
        through_sqlalchemy.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", executed)
    try:
        with flask_requests(app) as through_flask:
            page = client.get(f"/s/{token}")
            answer = client.post(
                f"/s/{token}?lang=en", data={"step": "attitude", "q_attitude": "4", "go": "next"}
            )
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", executed)
    assert (page.status_code, answer.status_code, through_flask) == (200, 303, [])
    # Neither SQLAlchemy's execution nor a session: prepared statements on the driver's cursor.
    assert through_sqlalchemy == []
    db.session.expire_all()
    assert db.session.get(Invitation, invitation_id).opened_at is not None
    assert len(_answers_of(invitation_id)) == 1


def test_a_request_thread_that_ends_gives_back_the_connection_the_layer_kept_for_it(
    app, client, invite
):
    # A threaded server (the browser tests', a development server) answers each request on a
    # thread of its own: a connection kept per thread must not outlive its thread, or the
    # server runs out of connections (PostgreSQL: "too many clients already").
    import gc
    import threading

    warm = invite(locale="en")
    client.get(f"/s/{warm.token}")  # Flask; kept
    tokens = [invite(locale="en").token for _ in range(4)]
    db.session.commit()
    before = db.engine.pool.checkedout()
    served: list[int] = []

    def visit(token: str) -> None:
        with flask_requests(app) as through_flask:
            served.append(client.get(f"/s/{token}").status_code)
        assert through_flask == []  # answered in front of Flask, on the layer's connection

    for token in tokens:
        thread = threading.Thread(target=visit, args=(token,))
        thread.start()
        thread.join()
    gc.collect()
    assert served == [200] * len(tokens)
    assert db.engine.pool.checkedout() <= before
