"""The intake layer in front of Flask (survey/api/fast.py): Flask's answers, Flask's rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from survey import clock
from survey.extensions import db
from survey.models import Address, Customer, Interaction, Invitation
from survey.models.customer import customer_address
from tests.fixtures.dispatch import interaction_body
from tests.test_respond_fast import flask_requests

URL = "/api/v1/interactions"
# 21:30 in Shanghai: outside the allowed hours, so an invitation waits and its answer says so.
NIGHT = datetime(2026, 11, 29, 13, 30, tzinfo=UTC)
DAY = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def _body(path: str, n: int = 1, call: int = 0, **overrides: Any) -> dict[str, Any]:
    """A post of its own for one path: ids, customer and addresses apart from the other path's.

    The two paths' customers share no address, so neither post counts the other's survey.
    """
    digit = {"flask": "1", "fast": "2", "prime": "3"}[path]
    customer = {
        "external_id": f"{path}-C-{n}",
        "name": "王芳",
        "phone": f"+86138{digit}{n:07d}",
        "email": f"{path}.{n}@example.cn",
        "locale": "zh",
        "timezone": "Asia/Shanghai",
    }
    customer.update(overrides.pop("customer", {}))
    external_id = f"{path}-CALL-{n}" + (f"-{call}" if call else "")
    return interaction_body(external_id=external_id, customer=customer, **overrides)


@pytest.fixture
def post(client, api_key) -> Callable[..., Any]:
    def send(body: Any, **headers: str) -> Any:
        return client.post(
            URL, json=body, headers={"Authorization": f"Bearer {api_key}", **headers}
        )

    return send


@pytest.fixture
def primed(app, post, dispatch_ready) -> None:
    """Flask has answered a post and its replay, so the layer has their status and headers."""
    clock.freeze(DAY)
    body = _body("prime")
    assert post(body).status_code == 201
    assert post(body).status_code == 200
    clock.unfreeze()


def _layer_off(app) -> Any:
    @contextmanager
    def off() -> Iterator[None]:
        app.config["SURVEY_FAST_INTAKE"] = False
        try:
            yield
        finally:
            app.config["SURVEY_FAST_INTAKE"] = True

    return off()


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id"}
    return value


def _stored(external_id: str) -> dict[str, Any]:
    """The rows a post left, without what is its own (ids, external ids, tokens, addresses)."""
    db.session.rollback()
    interaction = db.session.scalar(
        sa.select(Interaction).where(Interaction.external_id == external_id)
    )
    assert interaction is not None
    customer = db.session.get(Customer, interaction.customer_id)
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.interaction_id == interaction.id)
    )
    kinds = db.session.scalars(
        sa.select(Address.kind)
        .join(customer_address, customer_address.c.address_id == Address.id)
        .where(customer_address.c.customer_id == customer.id)
        .order_by(Address.kind)
    ).all()

    def columns(row: Any, own: set[str]) -> dict[str, Any]:
        return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in own}

    return {
        "interaction": columns(interaction, {"id", "external_id", "customer_id", "payload_digest"}),
        "customer": columns(customer, {"id", "external_id"}),
        "addresses": kinds,
        "invitation": None
        if invitation is None
        else columns(
            invitation, {"id", "interaction_id", "customer_id", "token", "unsubscribe_token"}
        ),
    }


# Each case: the posts (as overrides of a body), the hour, the Accept-Language header.
CASES = {
    "invited by SMS": ([{}], DAY, None),
    "invited, waiting for the allowed hours (zh)": ([{}], NIGHT, "zh-CN,zh;q=0.9"),
    "invited, waiting for the allowed hours (en)": ([{}], NIGHT, "en-GB,en;q=0.8"),
    "invited by e-mail only": ([{"customer": {"phone": None}}], DAY, None),
    "no contact point": ([{"customer": {"phone": None, "email": None}}], DAY, None),
    "a new customer with no name or zone": (
        [{"customer": {"name": None, "timezone": None, "locale": "en"}}],
        DAY,
        None,
    ),
    "the customer's second interaction (frequency)": ([{}, {"channel": "chat"}], DAY, None),
    "an outbound call of another team": (
        [{"type": "outbound", "team": "corporate-inquiries", "business_line": None}],
        DAY,
        None,
    ),
    "a team given by its agent": ([{"team": None, "business_line": None}], DAY, None),
}


@pytest.mark.parametrize("case", CASES)
def test_the_layer_answers_and_stores_what_flask_does(app, post, primed, case):
    posts, at, language = CASES[case]
    headers = {"Accept-Language": language} if language else {}
    clock.freeze(at)
    with _layer_off(app), flask_requests(app) as through_flask:
        flask = [post(_body("flask", 1, i, **o), **headers) for i, o in enumerate(posts)]
    assert len(through_flask) == len(posts)  # the layer off: Flask answered each
    with flask_requests(app) as through_flask:
        fast = [post(_body("fast", 1, i, **o), **headers) for i, o in enumerate(posts)]
    assert through_flask == []  # the layer answered each
    for slow, quick in zip(flask, fast, strict=True):
        assert quick.status_code == slow.status_code
        assert _without_ids(quick.get_json()) == _without_ids(slow.get_json())
        assert quick.get_data(as_text=True).endswith("\n")
    for i in range(len(posts)):
        assert _stored(_body("fast", 1, i)["external_id"]) == _stored(
            _body("flask", 1, i)["external_id"]
        )


def test_a_replay_is_answered_the_same_without_a_second_row(app, post, primed):
    clock.freeze(NIGHT)
    body = _body("fast")
    first = post(body)
    with flask_requests(app) as through_flask:
        again = post(body)
    assert through_flask == []
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    db.session.rollback()
    count = sa.select(sa.func.count()).select_from(Invitation)
    assert db.session.scalar(count) == 2  # the primer's and this one


def test_the_layers_headers_are_flasks_for_the_same_request(app, post, primed):
    clock.freeze(DAY)
    headers = {"X-Request-ID": "call-centre-42"}
    with _layer_off(app):
        slow = post(_body("flask"), **headers)
    with flask_requests(app) as through_flask:
        quick = post(_body("fast"), **headers)
    assert through_flask == []
    assert quick.status == slow.status
    assert quick.headers["Content-Length"] == str(len(quick.get_data()))
    assert quick.headers["X-Request-ID"] == "call-centre-42"
    assert sorted(
        (name, value) for name, value in quick.headers.items() if name != "Content-Length"
    ) == sorted((name, value) for name, value in slow.headers.items() if name != "Content-Length")
    other = post(_body("fast", 2), **{"X-Request-ID": "not <sane>"})
    assert other.headers["X-Request-ID"] not in ("", "not <sane>")


def test_a_post_answered_by_the_layer_is_counted_under_the_views_route(app, post, primed):
    labels = {"route": URL, "method": "POST", "status": "201"}
    before = REGISTRY.get_sample_value("survey_http_requests_total", labels) or 0.0
    with flask_requests(app) as through_flask:
        assert post(_body("fast")).status_code == 201
    assert through_flask == []
    assert REGISTRY.get_sample_value("survey_http_requests_total", labels) == before + 1


def _complaint(path: str) -> dict[str, Any]:
    return _body(path, type="complaint", complaint={"case_id": f"{path}-CMP-1", "cause": "process"})


# Requests the layer hands to Flask, and what Flask answers them.
HANDED_OVER: dict[str, tuple[Callable[[], dict[str, Any]], dict[str, Any], int]] = {
    "no key": (lambda: {"json": _body("fast")}, {"Authorization": ""}, 401),
    "an unknown key": (lambda: {"json": _body("fast")}, {"Authorization": "Bearer sk_nope"}, 401),
    "a bad field": (lambda: {"json": _body("fast", channel="fax")}, {}, 400),
    "not JSON": (lambda: {"data": "{not json", "content_type": "application/json"}, {}, 400),
    "too deep": (
        lambda: {"data": "[" * 40 + "]" * 40, "content_type": "application/json"},
        {},
        400,
    ),
    "too large": (
        lambda: {"data": '{"x":"' + "a" * 70_000 + '"}', "content_type": "application/json"},
        {},
        413,
    ),
    "a lone surrogate": (
        lambda: {
            "data": '{"external_id": "\\ud800"}',
            "content_type": "application/json",
        },
        {},
        400,
    ),
    "a complaint case": (lambda: {"json": _complaint("fast")}, {}, 201),
    "an agent new to us": (lambda: {"json": _body("fast", agent="A-NEW-7")}, {}, 201),
    "a query string": (lambda: {"json": _body("fast"), "query_string": "x=1"}, {}, 201),
    "a form, not JSON": (lambda: {"data": {"external_id": "x"}}, {}, 400),
}


@pytest.mark.parametrize("case", HANDED_OVER)
def test_what_the_layer_does_not_take_flask_answers(app, client, api_key, primed, case):
    clock.freeze(DAY)
    make, headers, status = HANDED_OVER[case]
    headers = {"Authorization": f"Bearer {api_key}", **headers}
    with flask_requests(app) as through_flask:
        answer = client.post(URL, headers=headers, **make())
    assert through_flask != []
    assert answer.status_code == status
    if status >= 400:
        assert answer.mimetype == "application/problem+json"
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 1


def test_a_key_without_the_scope_and_a_conflicting_replay_are_flasks(
    app, post, primed, make_api_key, client
):
    clock.freeze(DAY)
    scores_only = make_api_key(name="reports", scopes=("scores",))
    with flask_requests(app) as through_flask:
        refused = client.post(
            URL, json=_body("fast"), headers={"Authorization": f"Bearer {scores_only}"}
        )
        assert post(_body("fast", 2)).status_code == 201
        conflict = post(_body("fast", 2, wait_seconds=1))
    assert refused.status_code == 403
    assert conflict.status_code == 409 and conflict.mimetype == "application/problem+json"
    assert through_flask == [f"{URL}?", f"{URL}?"]  # the refused key's post and the conflict


def test_a_cookie_and_the_setting_off_leave_posts_to_flask(app, client, api_key, post, primed):
    clock.freeze(DAY)
    client.set_cookie("survey_lang", "en")
    with flask_requests(app) as through_flask:
        assert post(_body("fast", 1)).status_code == 201
    client.delete_cookie("survey_lang")
    with _layer_off(app), flask_requests(app) as off:
        assert post(_body("fast", 2)).status_code == 201
    assert len(through_flask) == 1 and len(off) == 1


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
def test_app_wide_rate_limits_leave_posts_to_flask(app, post, dispatch_ready):
    clock.freeze(DAY)
    with flask_requests(app) as through_flask:
        answers = [post(_body("fast", n)) for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]  # counted by Flask-Limiter
    assert len(through_flask) == 3 and answers[0].headers["X-RateLimit-Limit"] == "2"
