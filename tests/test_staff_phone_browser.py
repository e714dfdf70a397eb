"""Every staff page at 390 px, in Chinese and in English: no sideways scrolling, no stray English.

The pages are taken from the URL map (every GET route of the staff blueprints that answers
with HTML), with real ids from the demo bank, and opened as an admin, who may see them all.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from survey import demo
from survey.designer.service import start_draft
from survey.extensions import db
from survey.models import (
    Agent,
    ApiKey,
    BusinessLine,
    DispatchRule,
    ExportJob,
    FollowUpCase,
    ImportJob,
    ImprovementAction,
    Question,
    Survey,
    SurveyVersion,
    Team,
    User,
)
from tests.fixtures.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("on_demo_day")]

STAFF_BLUEPRINTS = ("admin", "designer", "dashboard", "dev")
# Routes that answer with a file, JSON or a script, not a page.
NOT_PAGES = {
    "dashboard.plotly_js",
    "dashboard.export_scores",
    "dashboard.export_responses",
    "dashboard.export_complaints",
    "dashboard.export_comments",
    "dashboard.export_job_progress",
    "dashboard.export_job_download",
    "admin.import_job_progress",
}
# Pages this walk cannot reach, and the test that holds them to 390 px instead.
WALKED_ELSEWHERE = {"dev.call": "tests/test_channels_browser.py (a placed voice call)"}
# Three or more English words in a row: on a Chinese page, a string nobody translated.
ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z]+(?:[ ,]+[A-Za-z][a-z]+){2,}\b")
# English a Chinese page shows on purpose: code words, and the demo's bilingual names.
ALLOWED_ENGLISH = (
    "Authorization: Bearer",
    "Complaints: phone callback, then SMS",  # a dispatch rule's name in the demo, zh and en
    "I could not find it",  # the English half of a choice, in the hint showing the format
    "Effort after self-service",  # a starter survey's bilingual name (it names the survey)
)
# The page's words, without what is English on purpose: a survey's English text (lang=en),
# form values, and codes.
SHOWN_TEXT = """() => {
  const main = document.querySelector("main");
  if (!main) return "";
  const copy = main.cloneNode(true);
  copy.querySelectorAll('[lang^="en"], input, textarea, select, code, kbd, samp')
    .forEach((e) => e.remove());
  return copy.textContent;
}"""


DEMO_SIZE = 600


@pytest.fixture(scope="module")
def demo_bank(demo_bank_once):
    """The demo bank with a job of each kind and a draft, so every page has something to show."""
    db.session.add(ImportJob(kind="agents", filename="agents.csv", content=b"", state="done"))
    admin = db.session.scalars(sa.select(User).where(User.role == "admin")).first()
    db.session.add(
        ExportJob(
            format="xlsx",
            filters={"from": "2026-11-01", "to": "2026-11-29", "channel": "phone"},
            created_by_id=admin.id,
            download_name="responses-2026-11-01-2026-11-29-202611291200.xlsx",
            state="running",
            rows_total=120000,
            rows_done=45000,
        )
    )
    survey = db.session.get(Survey, db.session.scalars(sa.select(Survey.id)).first())
    start_draft(survey)  # a draft, so a question can be edited
    db.session.commit()


def _ids() -> dict[str, object]:
    """A real id for each URL argument a staff route names."""
    version = db.session.scalars(
        sa.select(SurveyVersion).where(SurveyVersion.state == "draft")
    ).first()
    question = db.session.scalars(
        sa.select(Question).where(Question.version_id == version.id)
    ).first()
    return {
        # The longest address: a page titled by one unbroken word must still wrap it.
        "user_id": db.session.scalars(
            sa.select(User.id).order_by(sa.func.length(User.email).desc(), User.id)
        ).first(),
        "key_id": db.session.scalars(sa.select(ApiKey.id)).first(),
        "line_id": db.session.scalars(sa.select(BusinessLine.id)).first(),
        "team_id": db.session.scalars(sa.select(Team.id)).first(),
        "agent_id": db.session.scalars(sa.select(Agent.id)).first(),
        "job_id": db.session.scalars(sa.select(ImportJob.id)).first(),
        "export_id": db.session.scalars(sa.select(ExportJob.id)).first(),
        "rule_id": db.session.scalars(sa.select(DispatchRule.id)).first(),
        "survey_id": version.survey_id,
        "number": version.number,
        "question_id": question.id,
        "action_id": db.session.scalars(sa.select(ImprovementAction.id)).first(),
        "case_id": db.session.scalars(sa.select(FollowUpCase.id)).first(),
    }


def _staff_pages(app) -> list[tuple[str, str]]:
    ids = _ids()
    pages = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint not in STAFF_BLUEPRINTS or "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint in NOT_PAGES or rule.endpoint in WALKED_ELSEWHERE:
            continue
        missing = [a for a in rule.arguments if ids.get(a) is None]
        assert not missing, f"{rule.endpoint}: no id for {missing} in the demo bank"
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments})
        pages.append((rule.endpoint, url))
    return sorted(set(pages))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_staff_page_fits_a_phone_in_both_languages(
    module_app, demo_bank, served_once, chromium, lang
):
    pages = _staff_pages(module_app)
    assert len(pages) >= 30
    context = chromium.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-US")
    context.set_default_timeout(15000)
    try:
        page = context.new_page()
        page.goto(served_once + "/auth/login")
        page.fill("input[name=email]", "admin@demo.bank")
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        wide, english = [], []
        for endpoint, url in pages:
            answer = page.goto(f"{served_once}{url}{'&' if '?' in url else '?'}lang={lang}")
            assert answer.status < 400, (endpoint, url, answer.status)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide.append(f"{endpoint} {url}: {width} px")
            if lang == "zh":
                text = page.evaluate(SHOWN_TEXT)
                for allowed in ALLOWED_ENGLISH:
                    text = text.replace(allowed, "")
                found = ENGLISH_RUN.findall(text)
                if found:
                    english.append(f"{endpoint}: {found[:3]}")
        assert not wide, "pages wider than the phone:\n" + "\n".join(wide)
        assert not english, "English left on Chinese pages:\n" + "\n".join(english)
    finally:
        context.close()
