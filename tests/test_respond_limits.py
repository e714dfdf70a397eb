"""Rate limits on customers' links: tight per token, generous per address, counted where told."""

from __future__ import annotations

import os
import secrets

import pytest

from survey.config import rate_limit_storage
from tests.conftest import REDIS_URL, _fail_or_skip

# A test's own app_config marker replaces this one: each repeats RATELIMIT_ENABLED.
pytestmark = pytest.mark.app_config(RATELIMIT_ENABLED=True)

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_the_31st_request_on_one_link_in_a_minute_gets_a_friendly_page(client, invite):
    invitation = invite(locale="en")
    for _ in range(30):
        assert client.get(f"/s/{invitation.token}").status_code == 200
    limited = client.get(f"/s/{invitation.token}", headers=EN)
    assert limited.status_code == 429 and limited.headers.get("Retry-After")
    page = limited.get_data(as_text=True)
    assert "Please wait a moment" in page and "try again" in page
    assert "/auth/login" not in page and "Set-Cookie" not in limited.headers
    assert "请稍候" in client.get(f"/s/{invitation.token}", headers=ZH).get_data(as_text=True)


def test_another_link_from_the_same_address_still_works(client, invite):
    first, second = invite(locale="en"), invite(locale="en")
    for _ in range(31):
        client.get(f"/s/{first.token}")
    assert client.get(f"/s/{first.token}").status_code == 429
    assert client.get(f"/s/{second.token}").status_code == 200
    assert client.get(f"/u/{first.unsubscribe_token}").status_code == 200


def test_replaying_an_unsubscribe_link_is_limited_too(client, invite):
    invitation = invite(locale="en")
    for _ in range(30):
        client.post(f"/u/{invitation.unsubscribe_token}")
    assert client.post(f"/u/{invitation.unsubscribe_token}").status_code == 429


def test_a_carrier_nat_address_is_not_held_back_below_600_a_minute(client, invite):
    links = [invite(locale="en") for _ in range(20)]
    answers = [client.get(f"/s/{links[n % 20].token}").status_code for n in range(600)]
    assert set(answers) == {200}


def test_limits_count_in_the_queues_redis_by_default_and_else_in_memory():
    assert rate_limit_storage("redis://cache:6379/2?prefix=survey") == "redis://cache:6379/2"
    assert rate_limit_storage("sqlite:////srv/instance/queue.sqlite3") == "survey-memory://"


# This run's own prefixes on the shared Redis (never FLUSHALL: only these keys are deleted).
RUN = f"survey_t{os.getpid()}_{secrets.token_hex(3)}"
QUEUE_PREFIX, LIMITS_PREFIX = f"{RUN}_queue", f"{RUN}_limits"


@pytest.mark.app_config(
    RATELIMIT_ENABLED=True,
    SURVEY_QUEUE_URL=f"{REDIS_URL}?prefix={QUEUE_PREFIX}",
    RATELIMIT_STORAGE_URI=None,  # the default: the queue's Redis
    RATELIMIT_STORAGE_OPTIONS={
        "key_prefix": LIMITS_PREFIX,
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
    },
)
def test_on_redis_the_limits_keep_their_own_prefix_apart_from_the_queue(app, client, invite):
    import redis

    server = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        server.ping()
    except redis.RedisError as error:
        _fail_or_skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    try:
        assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL.split("?", 1)[0]
        invitation = invite(locale="en")
        for _ in range(30):
            assert client.get(f"/s/{invitation.token}").status_code == 200
        assert client.get(f"/s/{invitation.token}").status_code == 429
        keys = [k.decode() for k in server.scan_iter(match=f"{LIMITS_PREFIX}*")]
        assert any(invitation.token in k for k in keys), keys
        assert not any(QUEUE_PREFIX in k for k in keys)
    finally:
        for pattern in (f"{LIMITS_PREFIX}*", f"*{QUEUE_PREFIX}*"):
            for key in server.scan_iter(match=pattern):
                server.delete(key)


@pytest.mark.app_config(
    RATELIMIT_ENABLED=True,
    RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",  # nothing listens there
    RATELIMIT_STORAGE_OPTIONS={"socket_timeout": 1, "socket_connect_timeout": 1},
)
def test_customers_still_get_their_page_when_the_limits_redis_is_down(client, invite):
    invitation = invite(locale="en")
    for _ in range(30):
        assert client.get(f"/s/{invitation.token}").status_code == 200
    assert client.get(f"/s/{invitation.token}").status_code == 429  # counted in memory meanwhile
