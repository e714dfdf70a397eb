"""The period report against the APIs, on the dashboard bank filled once per database.

Every test here only reads the bank (tests/fixtures/dashboard_pages.py, ``bank_once``) on its
day; the report's tests that write (answers a year earlier, actions) and those of its parts
without the bank are tests/test_report.py.
"""

from __future__ import annotations

import pytest

from tests.fixtures.dashboard_pages import table_rows
from tests.test_report import NOVEMBER, _report, _value

pytestmark = pytest.mark.usefixtures("bank_once", "on_the_banks_day")


@pytest.fixture
def api(api_once):
    return api_once


@pytest.fixture
def client_as(clients_once):
    return clients_once


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_figure_is_the_apis_for_the_same_days(api, client_as, lang):
    page = _report(client_as("quality"), NOVEMBER, lang=lang)
    [now] = api("scores", NOVEMBER)["groups"]
    [october] = api("scores", "from=2026-10-01&to=2026-10-31")["groups"]
    headline = table_rows(page, "headline")
    assert _value(headline["csat"]["value"]) == now["csat"]
    assert _value(headline["csat"]["n"]) == now["n"]
    assert _value(headline["nps"]["value"]) == now["nps"]
    assert _value(headline["csat"]["previous"]) == october["csat"]
    assert headline["csat"]["year"]["value"] == ""  # no answers in November 2025
    dims = table_rows(page, "dimensions")
    by_dimension = {
        g["key"]["dimension"]: g
        for g in api("scores", f"{NOVEMBER}&group_by=dimension")["groups"]
        if g["key"]["dimension"]
    }
    assert set(dims) == {d for d in by_dimension if d != "overall"}
    for key, row in dims.items():
        assert _value(row["value"]) == by_dimension[key]["csat"]
        assert _value(row["n"]) == by_dimension[key]["n"]


def test_the_change_against_the_previous_month_is_the_engines_test(api, client_as):
    page = _report(client_as("quality"), NOVEMBER)
    # The fixture's October answers all fall on the 15th: the API's same-length previous
    # period (2 to 31 October) holds exactly the calendar month's answers.
    [compared] = api("scores", f"{NOVEMBER}&compare=previous")["groups"]
    mark = compared["compare"]["csat"]["mark"]
    assert mark == "▲"
    row = page[page.index('data-testid="headline"') :]
    row = row[row.index('data-key="csat"') :][:1500]
    assert 'data-mark="1"' in row and "▲" in row
    difference = compared["compare"]["csat"]["difference"] * 100
    assert f"{difference:+.1f}" in row


def test_the_largest_changes_are_exactly_the_significant_ones(api, client_as):
    page = _report(client_as("quality"), NOVEMBER)
    significant = []
    for field in ("business_line", "team"):
        body = api("scores", f"{NOVEMBER}&group_by={field},dimension&compare=previous")
        significant += [
            (g["key"]["dimension"], g["compare"]["csat"]["difference"])
            for g in body["groups"]
            if g["compare"]["csat"]["mark"]
        ]
    section = page[page.index('data-testid="section-changes"') :]
    listed = [
        (chunk.split('"', 1)[0], float(chunk.split('data-difference="', 1)[1].split('"', 1)[0]))
        for chunk in section.split('<li data-dimension="')[1:]
    ]
    assert significant, "the fixture has significant changes"
    expected = sorted(significant, key=lambda d: abs(d[1]), reverse=True)[:8]
    assert listed == expected


def test_the_chinese_report_speaks_chinese(client_as):
    page = _report(client_as("quality"), NOVEMBER, lang="zh")
    assert "2026年11月" in page and "二、客户满意度" in page
    assert "较上月" in page or "与上月相比无显著变化" in page


def test_a_wrong_period_is_named_and_nothing_is_written(client_as):
    client = client_as("quality")
    reply = client.get("/dashboard/report?lang=zh&from=2026-13-01&to=2026-11-30")
    assert reply.status_code == 400
    page = reply.get_data(as_text=True)
    assert "请输入" in page and 'data-testid="section-overview"' not in page
    reply = client.get("/dashboard/report.pdf?lang=en&from=2026-12-01&to=2026-11-01")
    assert reply.status_code == 400 and reply.mimetype == "text/html"


def test_the_overview_of_surveys_is_the_funnel_apis(api, client_as):
    body = api("funnel", NOVEMBER)
    rows = table_rows(_report(client_as("quality"), NOVEMBER), "surveys")
    assert body["total"]["sent"] > 0, "the fixture's invitations are in the funnel"
    for group in [*body["channels"], body["total"]]:
        key = "total" if group is body["total"] else (group["survey_channel"] or "none")
        if key != "total" and not (group["invited"] or group["sent"]):
            assert key not in rows  # interactions suppressed before any invitation: no row
            continue
        row = rows[key]
        assert _value(row["invited"]) == group["invited"]
        assert _value(row["sent"]) == group["sent"]
        assert _value(row["answered"]) == group["completed"] + group["closed_partial"]
        assert _value(row["response_rate"]) == group["response_rate"]


def test_the_follow_up_section_is_the_overviews_figures(client_as):
    import re

    quality = client_as("quality")
    report = _report(quality, NOVEMBER)
    overview = quality.get(f"/?lang=en&{NOVEMBER}").get_data(as_text=True)
    section = report[report.index('data-testid="section-followup"') :]
    section = section[: section.index("</section>")]

    def kpis(html: str) -> dict[str, str]:
        rows = re.findall(r'<tr data-kpi="([^"]+)">(.*?)</tr>', html, re.S)
        return {key: re.sub(r"\\s+", " ", body) for key, body in rows}

    shown = kpis(section)
    assert shown and shown == kpis(overview[overview.index('data-testid="followup-kpis"') :])
    assert "follow-up cases were opened for unhappy customers" in section
