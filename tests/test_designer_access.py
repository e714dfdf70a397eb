"""Only managers and admins change surveys and rules; quality staff may look; nobody else gets in."""

from __future__ import annotations

import pytest

from survey.extensions import db
from survey.models import DispatchRule

GET_PAGES = [
    "/designer/surveys",
    "/designer/surveys/{s}",
    "/designer/surveys/{s}/preview",
    "/designer/surveys/{s}/preview/web",
    "/designer/surveys/{s}/publish",
    "/designer/surveys/{s}/versions",
    "/designer/surveys/{s}/versions/1",
    "/designer/surveys/{s}/diff",
    "/designer/rules",
]
EDIT_PAGES = [
    "/designer/surveys/new",
    "/designer/surveys/{s}/duplicate",
    "/designer/surveys/{s}/questions/new",
    "/designer/surveys/{s}/questions/{q}",
    "/designer/rules/new",
    "/designer/rules/{r}",
]
POSTS = [
    "/designer/surveys/new",
    "/designer/surveys/{s}/duplicate",
    "/designer/surveys/{s}/archive",
    "/designer/surveys/{s}/details",
    "/designer/surveys/{s}/draft",
    "/designer/surveys/{s}/questions/new",
    "/designer/surveys/{s}/questions/{q}",
    "/designer/surveys/{s}/questions/arrange",
    "/designer/surveys/{s}/publish",
    "/designer/surveys/{s}/test-send",
    "/designer/rules/new",
    "/designer/rules/{r}",
    "/designer/rules/{r}/arrange",
]


@pytest.fixture
def ids(make_survey):
    survey = make_survey()
    rule = DispatchRule(position=1, name="All", survey=survey, channels=["sms"], filters={})
    db.session.add(rule)
    db.session.commit()
    return {"s": survey.id, "q": survey.versions[0].questions[0].id, "r": rule.id}


def test_every_designer_page_sends_strangers_to_sign_in(client_as, ids):
    client = client_as(None)
    for path in GET_PAGES + EDIT_PAGES:
        response = client.get(path.format(**ids))
        assert response.status_code == 302 and "/auth/login" in response.location, path
    for path in POSTS:
        assert client.post(path.format(**ids)).status_code == 302, path


def test_quality_staff_can_view_but_every_change_is_refused(client_as, ids):
    client = client_as("quality")
    for path in GET_PAGES:
        assert client.get(path.format(**ids)).status_code == 200, path
    for path in EDIT_PAGES:
        assert client.get(path.format(**ids)).status_code == 403, path
    for path in POSTS:
        assert client.post(path.format(**ids)).status_code == 403, path


def test_quality_staff_see_no_edit_buttons(client_as, ids):
    page = client_as("quality").get("/designer/surveys/{s}".format(**ids)).get_data(as_text=True)
    assert "/questions/arrange" not in page
    assert "/questions/new" not in page


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_open_every_page(client_as, ids, role):
    client = client_as(role)
    for path in GET_PAGES + EDIT_PAGES:
        assert client.get(path.format(**ids)).status_code == 200, path


def test_surveys_and_rules_are_in_the_navigation_of_every_role(client_as):
    for role in ("admin", "manager", "quality"):
        page = client_as(role).get("/designer/surveys").get_data(as_text=True)
        assert 'href="/designer/rules"' in page and 'href="/designer/surveys"' in page
