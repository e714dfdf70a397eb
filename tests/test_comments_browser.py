"""The comments browser on the demo bank, on a phone and a desktop, in both languages.

Comments read as text with their numbers masked, a Chinese search finds a one-character
word, the lowest scores come first when asked, the page fits the screen, passes axe
and asks nothing of another origin.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey import demo
from survey.extensions import db
from survey.models import Answer, Comment
from survey.scoring import comment_index
from tests.fixtures.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_fits,
    on_our_origin,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("on_demo_day")]

HOSTILE = '<img src=x onerror="document.title=1">卡号6200000000000005，电话13800138000，太慢了'


@pytest.fixture(scope="module")
def demo_bank(demo_bank_once):
    # One customer typed markup and their card and phone numbers into the newest comment.
    newest = db.session.scalar(sa.select(Comment.id).order_by(Comment.counted_at.desc()).limit(1))
    db.session.execute(sa.update(Answer).where(Answer.id == newest).values(value_text=HOSTILE))
    comment_index.rebuild()
    db.session.commit()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_comments_are_masked_searchable_in_chinese_and_fit_the_screen(
    demo_bank, served_once, chromium, viewport
):
    with on_our_origin(chromium, served_once, viewport) as page:
        sign_in(page, served_once, "quality@demo.bank", demo.DEMO_PASSWORD)
        size = "phone" if viewport is PHONE else "desktop"
        for lang in ("zh", "en"):
            page.goto(f"{served_once}/comments?lang={lang}&period=90d")
            texts = page.locator("[data-testid=comment-text]").all_inner_texts()
            assert len(texts) == 20, (lang, len(texts))
            first = texts[0]
            assert first.startswith('<img src=x onerror="document.title=1">'), first
            assert "************0005" in first and "*******8000" in first, first
            assert page.locator(".comment-text img").count() == 0
            assert page.title() != "1"
            assert_fits(page, viewport, lang)
            assert_accessible(page, f"comments {lang} {size}")

            page.fill("#comment-q", "慢")
            page.locator("form[role=search] button[type=submit]").click()
            page.wait_for_url("**q=*")
            found = page.locator("[data-testid=comment-text]").all_inner_texts()
            assert found and all("慢" in t for t in found), found
            assert page.locator("[data-testid=window]").count() == 1
            assert_fits(page, viewport, lang)

            page.goto(f"{served_once}/comments?lang={lang}&period=90d&sort=lowest")
            overall = page.locator(".comment[data-overall]").evaluate_all(
                "els => els.map(e => e.dataset.overall)"
            )
            scored = [int(v) for v in overall if v]
            assert scored == sorted(scored) and scored[0] <= 2, overall
            assert_fits(page, viewport, lang)
            assert_accessible(page, f"comments lowest first {lang} {size}")
            # For the README: the desktop in English, the phone in Chinese.
            if (size == "phone") == (lang == "zh"):
                screenshot(page, f"dashboard-comments-{size}-{lang}")
