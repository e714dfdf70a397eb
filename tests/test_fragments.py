"""Parts of the survey page kept per published version: each customer still sees their own page."""

from __future__ import annotations

import re

from survey import fragments
from tests.test_respond_steps import step


def _checked(page: str) -> list[str]:
    """The values of the chosen options on a page."""
    return re.findall(r'value="([^"]*)" checked', page)


def test_a_kept_question_shows_each_customer_the_answer_they_chose(client, invite):
    first, second = invite(locale="en"), invite(locale="en")
    assert step(client, first, "attitude", "2").status_code == 303
    assert step(client, second, "attitude", "5").status_code == 303
    pages = {
        invitation.token: client.get(f"/s/{invitation.token}?q=attitude&lang=en").get_data(
            as_text=True
        )
        for invitation in (first, second, first)
    }
    assert _checked(pages[first.token]) == ["2"]
    assert _checked(pages[second.token]) == ["5"]
    fresh = invite(locale="en")
    assert _checked(client.get(f"/s/{fresh.token}?lang=en").get_data(as_text=True)) == []
    assert fragments._kept, "the question's buttons were kept"


def test_a_refused_answer_shows_its_error_and_the_next_customer_sees_none(client, invite):
    first, second = invite(locale="en"), invite(locale="en")
    assert client.get(f"/s/{second.token}?lang=en").status_code == 200  # kept, without error
    refused = step(client, first, "attitude", "9")
    assert refused.status_code == 400
    assert "Please choose a number from 1 to 5." in refused.get_data(as_text=True)
    page = client.get(f"/s/{second.token}?lang=en").get_data(as_text=True)
    assert "Please choose a number" not in page and "has-error" not in page


def test_the_two_languages_are_kept_apart(client, invite):
    invitation = invite(locale="zh")
    english = client.get(f"/s/{invitation.token}?lang=en").get_data(as_text=True)
    chinese = client.get(f"/s/{invitation.token}?lang=zh").get_data(as_text=True)
    assert "very satisfied" in english and "very satisfied" not in chinese
