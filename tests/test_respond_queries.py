"""What a customer's GET of the survey page costs the database, and the staff session it leaves alone.

Counted with SQLAlchemy's ``before_cursor_execute`` event on the app's engine, on SQLite
and PostgreSQL. A published version never changes, so its questions and choices are
read once per process and kept (``survey.respond.versions``): each count is taken
after one visit of another customer has read the version.
"""

from __future__ import annotations

import pytest

from survey import settings
from survey.extensions import db
from tests.sent import statements_sent
from tests.test_respond_steps import STEPS, step

MAX_STATEMENTS = 4


@pytest.fixture
def warm(client, invite):
    """One visit by another customer: the version's questions are read and kept."""
    other = invite(locale="en")
    assert client.get(f"/s/{other.token}").status_code == 200


def _get(client, path: str) -> tuple[int, list[str], str]:
    # As a new request in a server begins: no settings read yet, an empty session. (The
    # tests' app context outlives each request, which a server's does not.)
    settings.forget()
    db.session.remove()
    with statements_sent() as sent:
        reply = client.get(path)
    return reply.status_code, [sql for sql, _parameters in sent], reply.get_data(as_text=True)


def test_a_first_visit_takes_at_most_four_statements(client, invite, warm):
    invitation = invite(locale="en")
    status, seen, page = _get(client, f"/s/{invitation.token}")
    assert status == 200 and 'name="step" value="attitude"' in page
    assert len(seen) <= MAX_STATEMENTS, "\n\n".join(seen)


def test_a_mid_survey_step_takes_at_most_four_statements(client, invite, warm):
    invitation = invite(locale="en")
    for key, value in STEPS[:3]:
        assert step(client, invitation, key, value).status_code == 303
    status, seen, page = _get(client, f"/s/{invitation.token}")
    assert status == 200 and 'name="step" value="complaint_handling"' in page
    assert "4 of 7" in page or "4 / 7" in page or ">4<" in page
    assert len(seen) <= MAX_STATEMENTS, "\n\n".join(seen)


def test_the_completed_page_takes_at_most_four_statements(client, invite, warm):
    invitation = invite(locale="en")
    for key, value in STEPS:
        assert step(client, invitation, key, value).status_code in (200, 303)
    status, seen, page = _get(client, f"/s/{invitation.token}")
    assert status == 200 and "already answered" in page
    assert len(seen) <= MAX_STATEMENTS, "\n\n".join(seen)


def test_the_one_tap_rating_page_takes_at_most_four_statements(client, invite, warm):
    invitation = invite(locale="en")
    status, seen, page = _get(client, f"/s/{invitation.token}?score=4")
    assert status == 200 and 'name="one_click" value="1"' in page
    assert len(seen) <= MAX_STATEMENTS, "\n\n".join(seen)


def test_an_unknown_token_takes_two_statements(client, warm):
    status, seen, _page = _get(client, "/s/" + "x" * 24)
    assert status == 404 and len(seen) <= 2, seen  # the token, the bank's name


def test_a_signed_in_staff_member_opening_a_survey_gets_no_new_session_cookie(
    client_as, invite, warm
):
    staff = client_as("quality")
    invitation = invite(locale="en")
    reply = staff.get(f"/s/{invitation.token}")
    assert reply.status_code == 200
    assert "Set-Cookie" not in reply.headers, reply.headers.get("Set-Cookie")
    # The staff session is untouched: still signed in on the staff side.
    assert staff.get("/").status_code == 200


def test_sqlite_connections_are_not_pinged_and_postgresql_ones_are(app, db):
    # A file on this machine cannot drop a connection; a server across a network can.
    assert db.engine.pool._pre_ping is (db.engine.dialect.name == "postgresql")


def test_the_kept_versions_are_bounded_the_least_recently_used_leaving_first(
    client, invite, db, monkeypatch
):
    from survey.respond import versions

    monkeypatch.setattr(versions, "MAX_VERSIONS", 1)
    invitation = invite(locale="en")
    assert client.get(f"/s/{invitation.token}").status_code == 200
    assert len(versions._cache) == 1
    versions._cache[("elsewhere", 0)] = versions._cache.popitem()[1]
    assert client.get(f"/s/{invitation.token}").status_code == 200
    assert [key for _url, key in versions._cache] == [invitation.survey_version_id]


def _new_request_in_this_process() -> None:
    # A server's next request: a new session and context, the process's kept copies stay.
    from flask import g

    g.pop("_survey_settings", None)
    db.session.remove()


def test_a_later_customer_page_reads_no_settings_while_the_process_keeps_them(client, invite, warm):
    first, later = invite(locale="en").token, invite(locale="en").token
    _get(client, f"/s/{first}")  # reads them (the process's copy was dropped)
    _new_request_in_this_process()
    with statements_sent() as sent:
        reply = client.get(f"/s/{later}")
    assert reply.status_code == 200 and "Example Bank" in reply.get_data(as_text=True)
    assert not [sql for sql, _parameters in sent if "FROM setting" in sql], sent


def test_a_bank_name_saved_here_is_on_the_next_customer_page_at_once(client, invite, warm):
    invitation = invite(locale="en")
    _get(client, f"/s/{invitation.token}")
    settings.put("bank_name_en", "Harbour Bank")
    db.session.commit()
    _new_request_in_this_process()
    page = client.get(f"/s/{invitation.token}").get_data(as_text=True)
    assert "Harbour Bank" in page


def test_a_bank_name_saved_by_another_process_reaches_customer_pages_within_the_kept_seconds(
    client, invite, warm, monkeypatch
):
    from sqlalchemy.orm import Session

    from survey.models import Setting

    invitation = invite(locale="en")
    _get(client, f"/s/{invitation.token}")
    with Session(db.engine) as other:  # another worker's admin page: this process is not told
        other.add(Setting(key="bank_name_en", value="Harbour Bank"))
        other.commit()
    _new_request_in_this_process()
    assert "Harbour Bank" not in client.get(f"/s/{invitation.token}").get_data(as_text=True)
    later = settings._monotonic() + settings.KEPT_SECONDS + 1
    monkeypatch.setattr(settings, "_monotonic", lambda: later)
    _new_request_in_this_process()
    assert "Harbour Bank" in client.get(f"/s/{invitation.token}").get_data(as_text=True)


def test_staff_pages_read_the_settings_every_request(client_as, warm):
    from sqlalchemy.orm import Session

    from survey.models import Setting

    admin = client_as("admin")
    with Session(db.engine) as other:
        other.add(Setting(key="bank_name_en", value="Harbour Bank"))
        other.commit()
    _new_request_in_this_process()
    assert "Harbour Bank" in admin.get("/admin/settings?lang=en").get_data(as_text=True)
