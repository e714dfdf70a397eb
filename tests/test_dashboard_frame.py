"""The frame every staff page shares (navigation, dashboard links, filter form) is kept once
rendered, yet each viewer sees their own: language, role, page, filters, the organisation's
lists as they are now, and their open follow-up cases."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from survey import clock
from survey.admin.services import org
from survey.auth.service import load_user
from survey.extensions import db
from survey.followup import service as followup_service
from survey.models import Agent, FollowUpCase, Team
from survey.responses import answers
from tests.fixtures.access import sign_in
from tests.test_followup_cases import SATURDAY_NIGHT, UNHAPPY

PAGES = ("/", "/funnel", "/complaints", "/breakdown", "/dimensions")


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _options(page: str, name: str) -> dict[str, str]:
    """A filter's options in the form, value → label (the "All" option left out)."""
    select = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    assert select, name
    return {
        value: label
        for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select[1])
        if value
    }


def _selected(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    return re.findall(r'<option value="([^"]*)" selected>', select[1])


def _current(page: str) -> list[str]:
    """The navigation links marked as the page shown."""
    return re.findall(r'<a href="([^"?]*)[^"]*" aria-current="page">', page)


@pytest.mark.parametrize("path", PAGES)
def test_a_renamed_team_shows_in_the_filter_form_at_once(scoring_org, client_as, make_user, path):
    client = client_as("quality")
    assert _options(_page(client, f"{path}?lang=en"), "team")["personal-inquiries"] == (
        "Personal inquiries"
    )
    team = db.session.scalar(sa.select(Team).where(Team.code == "personal-inquiries"))
    org.update_team(make_user("admin"), team, team.function, "个人咨询一组", "Inquiries one", True)
    db.session.commit()
    english = _page(client, f"{path}?lang=en")
    assert _options(english, "team")["personal-inquiries"] == "Inquiries one"
    assert "Personal inquiries" not in english
    assert (
        _options(_page(client, f"{path}?lang=zh"), "team")["personal-inquiries"] == "个人咨询一组"
    )


def test_a_new_agent_shows_in_the_filter_form_at_once(scoring_org, client_as):
    client = client_as("quality")
    assert "A1009" not in _options(_page(client, "/?lang=en"), "agent")
    team = db.session.scalar(sa.select(Team).where(Team.code == "personal-inquiries"))
    db.session.add(Agent(code="A1009", team=team, name_zh="王五", name_en="Wang Wu"))
    db.session.commit()
    assert _options(_page(client, "/?lang=en"), "agent")["A1009"] == "Wang Wu (A1009)"
    assert _options(_page(client, "/funnel?lang=en"), "agent")["A1009"] == "Wang Wu (A1009)"


def test_a_chosen_filter_is_selected_on_its_view_only(scoring_org, client_as):
    client = client_as("quality")
    chosen = _page(client, "/?lang=en&team=personal-inquiries&period=90d")
    assert _selected(chosen, "team") == ["personal-inquiries"]
    assert _selected(chosen, "period") == ["90d"]
    plain = _page(client, "/?lang=en")
    assert _selected(plain, "team") == [] and _selected(plain, "period") == ["30d"]
    assert "team=personal-inquiries" not in plain
    again = _page(client, "/?lang=en&team=personal-inquiries&period=90d")
    assert again.count("team=personal-inquiries") == chosen.count("team=personal-inquiries")


def test_the_funnel_offers_its_own_survey_channels_and_the_others_theirs(scoring_org, client_as):
    client = client_as("quality")
    assert sorted(_options(_page(client, "/funnel?lang=en"), "survey_channel")) == [
        "email",
        "sms",
        "voice",
    ]
    assert sorted(_options(_page(client, "/?lang=en"), "survey_channel")) == [
        "sms",
        "voice",
        "web",
    ]


def test_the_navigation_marks_the_page_shown_and_shows_admin_links_to_admins_only(
    scoring_org, client_as
):
    quality, admin = client_as("quality"), client_as("admin")
    for path in ("/", "/funnel", "/", "/complaints"):
        page = _page(quality, f"{path}?lang=en")
        mainnav = re.search(r'<nav class="mainnav".*?</nav>', page, re.S)[0]
        assert _current(mainnav) == (["/"] if path == "/" else [])  # "Dashboard"
        dashnav = re.search(r'<nav class="periods dashnav".*?</nav>', page, re.S)[0]
        assert _current(dashnav) == [path]
        assert ">Users</a>" not in page and ">Outbox</a>" not in page
    assert ">Users</a>" in _page(admin, "/?lang=en")
    assert ">Users</a>" not in _page(quality, "/?lang=en")


def test_each_language_has_its_own_navigation_and_form(scoring_org, client_as):
    client = client_as("quality")
    english, chinese = _page(client, "/?lang=en"), _page(client, "/?lang=zh")
    assert ">Follow-ups" in english and ">Apply</button>" in english
    assert ">Follow-ups" not in chinese and ">Apply</button>" not in chinese
    assert _options(chinese, "business_line")["personal"] == "个人金融"
    assert _options(_page(client, "/?lang=en"), "business_line")["personal"] == "Personal banking"


def test_the_open_case_count_follows_the_cases_as_they_open(app, invite, client_as):
    clock.freeze(SATURDAY_NIGHT)
    client = client_as("quality")  # the only quality user: every case is theirs
    assert 'data-testid="followup-count"' not in _page(client, "/?lang=en")

    _open_case(invite)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUpCase)) == 1
    for path in ("/", "/funnel"):
        assert 'data-testid="followup-count">1<' in _page(client, f"{path}?lang=en")
    _open_case(invite)
    assert 'data-testid="followup-count">2<' in _page(client, "/?lang=en")
    assert 'data-testid="followup-count">2<' in _page(client, "/funnel?lang=zh")


def _open_case(invite) -> FollowUpCase:
    invitation = invite(agent="A1001")
    by_key = {q.key: q for q in invitation.version.questions}
    given = {by_key[k]: v for k, v in UNHAPPY.items()}
    assert answers.complete(invitation, "web", invitation.locale, given, consent=True)
    return db.session.scalar(
        sa.select(FollowUpCase).where(FollowUpCase.customer_id == invitation.customer_id)
    )


def _signed_in(app, user):
    client = app.test_client()
    assert sign_in(client, user.email).status_code == 302
    return client


def test_the_open_case_count_drops_as_soon_as_a_case_is_closed_or_given_away(
    app, invite, make_user
):
    clock.freeze(SATURDAY_NIGHT)
    owner = make_user("quality", "owner@bank.example")
    first, second = _open_case(invite), _open_case(invite)
    other = make_user("quality", "other@bank.example")
    admin = make_user("admin")
    assert first.owner_id == second.owner_id == owner.id
    mine = _signed_in(app, owner)
    assert 'data-testid="followup-count">2<' in _page(mine, "/funnel?lang=en")

    closed = mine.post(f"/followups/{first.id}/close", data={"outcome": "reached_resolved"})
    assert closed.status_code == 303
    assert 'data-testid="followup-count">1<' in _page(mine, "/funnel?lang=en")

    moved = _signed_in(app, admin).post(
        f"/followups/{second.id}/assign", data={"owner": str(other.id)}
    )
    assert moved.status_code == 303
    assert 'data-testid="followup-count"' not in _page(mine, "/?lang=en")
    assert 'data-testid="followup-count">1<' in _page(_signed_in(app, other), "/?lang=zh")


def test_a_request_that_changes_a_case_counts_again_before_it_shows_the_count(
    app, invite, make_user
):
    """The count read with the user serves a request only until it writes."""
    clock.freeze(SATURDAY_NIGHT)
    owner = make_user("quality", "owner@bank.example")
    case = _open_case(invite)
    other = make_user("quality", "other@bank.example")
    db.session.commit()
    with app.test_request_context("/"):
        user = load_user(owner.get_id())
        assert followup_service.nav_count(user) == 1
        case.owner_id = other.id
        db.session.flush()
        assert followup_service.nav_count(user) == 0
    db.session.rollback()
    with app.test_request_context("/"):
        user = load_user(owner.get_id())
        assert followup_service.nav_count(user) == 1
        db.session.execute(
            sa.update(FollowUpCase).where(FollowUpCase.id == case.id).values(owner_id=None)
        )
        assert followup_service.nav_count(user) == 0
    db.session.rollback()
