"""Only managers and admins change surveys and rules; quality staff may look; nobody else gets in."""

from __future__ import annotations

from html.parser import HTMLParser

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
    "/designer/surveys/{s}/questions/order",
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


class _Controls(HTMLParser):
    """Collect, inside <main>, what a user could type into or press, and where links lead."""

    def __init__(self) -> None:
        super().__init__()
        self.in_main = False
        self.form_method = None
        self.enabled: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "main":
            self.in_main = True
        if not self.in_main:
            return
        if tag == "form":
            self.form_method = (a.get("method") or "get").lower()
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        usable = tag in ("textarea", "select", "button") or (
            tag == "input" and a.get("type") != "hidden"
        )
        # A GET form only chooses what to look at (e.g. which versions to compare).
        if usable and "disabled" not in a and self.form_method != "get":
            self.enabled.append(f"<{tag} {a}>")

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False
        if tag == "form":
            self.form_method = None


EDIT_LINK_MARKS = ("/questions/", "/duplicate", "/rules/new", "/surveys/new")


def test_quality_staff_see_every_designer_page_read_only(client_as, ids):
    client = client_as("quality")
    for path in GET_PAGES:
        if path.endswith("/preview/web"):
            continue  # the customer's own page, shown inert inside the preview
        parser = _Controls()
        parser.feed(client.get(path.format(**ids)).get_data(as_text=True))
        assert parser.enabled == [], path
        edits = [h for h in parser.links if any(m in h for m in EDIT_LINK_MARKS)]
        edits += [
            h for h in parser.links if h.rstrip("/").split("/")[-1].isdigit() and "/rules/" in h
        ]
        assert edits == [], path


def test_quality_staff_read_the_draft_details_instead_of_a_form(client_as, ids):
    page = client_as("quality").get("/designer/surveys/{s}".format(**ids)).get_data(as_text=True)
    assert "/questions/arrange" not in page and "/details" not in page
    assert "<textarea" not in page and 'class="drag-handle"' not in page
    assert "服务满意度回访" in page  # the Chinese title, read rather than edited


def test_managers_get_the_edit_buttons_quality_staff_do_not(client_as, ids):
    parser = _Controls()
    parser.feed(
        client_as("manager").get("/designer/surveys/{s}".format(**ids)).get_data(as_text=True)
    )
    assert any("textarea" in c for c in parser.enabled)
    assert any("'form': 'arrange'" in c for c in parser.enabled)


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_open_every_page(client_as, ids, role):
    client = client_as(role)
    for path in GET_PAGES + EDIT_PAGES:
        assert client.get(path.format(**ids)).status_code == 200, path


def test_surveys_and_rules_are_in_the_navigation_of_every_role(client_as):
    for role in ("admin", "manager", "quality"):
        page = client_as(role).get("/designer/surveys").get_data(as_text=True)
        assert 'href="/designer/rules"' in page and 'href="/designer/surveys"' in page
