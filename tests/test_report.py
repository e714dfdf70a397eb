"""The period report: the API's numbers, honest comparisons, sentences from the data, a real PDF."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from survey import clock
from survey.report import periods, sentences
from survey.report.periods import Period
from survey.report.sentences import Reference
from tests.fixtures.dashboard_pages import table_rows

NOVEMBER = "from=2026-11-01&to=2026-11-30"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


# -- periods -------------------------------------------------------------------------------


def test_presets_are_whole_calendar_months_quarters_and_years():
    today = date(2026, 12, 6)
    assert periods.preset("last_month", today) == Period(date(2026, 11, 1), date(2026, 11, 30))
    assert periods.preset("last_quarter", today) == Period(date(2026, 7, 1), date(2026, 9, 30))
    assert periods.preset("last_year", today) == Period(date(2025, 1, 1), date(2025, 12, 31))
    assert periods.preset("this_quarter", today) == Period(date(2026, 10, 1), today)
    assert periods.preset("last_quarter", date(2026, 2, 1)).first == date(2025, 10, 1)


def test_a_month_is_compared_with_the_previous_month_not_the_previous_30_days():
    november = Period(date(2026, 11, 1), date(2026, 11, 30))
    assert periods.previous(november) == Period(date(2026, 10, 1), date(2026, 10, 31))
    q3 = Period(date(2026, 7, 1), date(2026, 9, 30))
    assert periods.previous(q3) == Period(date(2026, 4, 1), date(2026, 6, 30))
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    assert periods.previous(year) == Period(date(2025, 1, 1), date(2025, 12, 31))
    ten_days = Period(date(2026, 11, 5), date(2026, 11, 14))
    assert periods.previous(ten_days) == Period(date(2026, 10, 26), date(2026, 11, 4))
    assert periods.year_earlier(november) == Period(date(2025, 11, 1), date(2025, 11, 30))


def test_a_period_is_named_as_the_bank_names_it():
    assert periods.title(Period(date(2026, 7, 1), date(2026, 9, 30)), "zh") == "2026年第三季度"
    assert periods.title(Period(date(2026, 11, 1), date(2026, 11, 30)), "zh") == "2026年11月"
    assert periods.title(Period(date(2026, 1, 1), date(2026, 12, 31)), "en") == "2026"
    assert periods.previous_words(Period(date(2026, 7, 1), date(2026, 9, 30)), "zh") == "上季度"


# -- sentences -----------------------------------------------------------------------------


def test_a_significant_drop_is_described_as_one():
    ref = Reference("上季度", 400, -0.0612, True, 5)
    assert (
        sentences.segment_change("zh", "信用卡中心", "等待时间", ref)
        == "信用卡中心的等待时间满意度较上季度下降 6.1 个百分点（显著）。"
    )
    english = sentences.segment_change("en", "Credit Card Centre", "Wait time", ref)
    assert english == (
        "Wait time satisfaction at Credit Card Centre fell 6.1 points against 上季度 (significant)."
    )


def test_an_insignificant_change_is_not_called_a_change():
    ref = Reference("上月", 120, 0.04, False, 5)
    said = sentences.comparison(ref, "zh")
    assert said == "与上月相比无显著变化"
    assert "上升" not in said and "4.0" not in said


def test_no_answers_a_year_earlier_is_no_data_not_zero():
    none = Reference("去年同期", 0, None, False, 5)
    few = Reference("去年同期", 3, None, False, 5)
    assert sentences.comparison(none, "zh") == "去年同期无数据"
    assert sentences.comparison(none, "en").startswith("no data for")
    assert "少于 5 份" in sentences.comparison(few, "zh")


def test_a_headline_states_its_value_interval_and_n():
    said = sentences.score_sentence(
        "zh", "总体满意度", 0.8523, 0.83, 0.87, 1234, 5, [Reference("上月", 900, 0.012, False, 5)]
    )
    assert (
        said == "总体满意度为 85.2%（95% 置信区间 83.0%–87.0%，n = 1,234），与上月相比无显著变化。"
    )


# -- the page against the API -------------------------------------------------------------


def _report(client, query: str, lang: str = "en") -> str:
    reply = client.get(f"/dashboard/report?lang={lang}&{query}")
    assert reply.status_code == 200, reply.get_data(as_text=True)[:2000]
    return reply.get_data(as_text=True)


def _value(cell) -> float | None:
    return None if cell["value"] in (None, "") else float(cell["value"])


def test_a_year_earlier_with_answers_is_compared_and_without_is_no_data(
    bank, api, client_as, invite, record_response
):
    client = client_as("quality")
    page = _report(client, NOVEMBER)
    assert "no data for the same period last year" in page
    clock.freeze(datetime(2025, 11, 12, 4, 0, tzinfo=UTC))
    for _ in range(30):
        record_response(invite(agent="A1001"), {"overall": 2, "nps": 3})
    clock.freeze(datetime(2026, 11, 29, 4, 0, tzinfo=UTC))
    page = _report(client, NOVEMBER)
    [earlier] = api("scores", "from=2025-11-01&to=2025-11-30")["groups"]
    headline = table_rows(page, "headline")
    assert _value(headline["csat"]["year"]) == earlier["csat"] == 0.0
    said = page[page.index('data-testid="sentence-csat"') :].split("</p>", 1)[0]
    assert "no data for the same period last year" not in said
    # Wait time was not asked a year earlier: still no data there.
    said = page[page.index('data-testid="sentence-wait_time"') :].split("</p>", 1)[0]
    assert "no data for the same period last year" in said
    [compared] = api("scores", f"{NOVEMBER}&compare=year")["groups"]
    assert compared["compare"]["csat"]["mark"] == "▲"
    assert "rose" in page[page.index('data-testid="sentence-csat"') :][:600]


def test_the_report_is_read_by_whoever_reads_the_dashboards(client_as, db):
    # DESIGN.md's role table: dashboards are viewed by admins, managers and quality staff.
    assert client_as("manager").get("/dashboard/report?lang=en").status_code == 200
    assert client_as(None).get("/dashboard/report").status_code == 302


# -- the PDF --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_pdf_renders_chinese_headings_and_figures(bank, api, client_as):
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils is needed (installed by .ci/run)")
    reply = client_as("quality").get(f"/dashboard/report.pdf?lang=zh&{NOVEMBER}")
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "report-zh.pdf"
    pdf.write_bytes(reply.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "客户服务报告" in text and "一、本期概况" in text and "二、客户满意度" in text
    [now] = api("scores", NOVEMBER)["groups"]
    assert f"{now['csat'] * 100:.1f}%" in text
    # The first two pages as pictures: a test artifact, and the README's when asked for.
    pages = ["-f", "1", "-l", "2", str(pdf), str(ARTIFACTS / "report-pdf-zh")]
    subprocess.run(["pdftoppm", "-png", "-r", "70", *pages], check=True)
    assert len(list(ARTIFACTS.glob("report-pdf-zh-*.png"))) >= 2


@pytest.mark.slow
def test_the_command_line_writes_the_same_report(bank, app, tmp_path):
    out = tmp_path / "november.pdf"
    result = app.test_cli_runner().invoke(
        args=[
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--lang",
            "en",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Customer service report" in text
    bad = app.test_cli_runner().invoke(
        args=["report", "--from", "2026-11-31", "--to", "2026-11-30", "--out", str(out)]
    )
    assert bad.exit_code != 0 and "--from" in bad.output


def test_the_page_header_quotes_the_banks_name_as_css():
    from survey.report.pdf import css_string

    assert css_string("示例银行 · 2026年11月") == '"示例银行 · 2026年11月"'
    hostile = css_string('Bank"; } </style><script>')
    assert '"' not in hostile[1:-1] and "<" not in hostile and ">" not in hostile
    assert hostile.startswith('"Bank\\22 ; } \\3c /style\\3e \\3c script\\3e "'[:10])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_complaints_section_is_the_complaints_apis(november_cases, client_as, client, db, lang):
    from survey.auth.service import create_api_key

    _row, key = create_api_key("reports", ("scores",))
    db.session.commit()
    body = client.get(
        f"/api/v1/complaints?{NOVEMBER}", headers={"Authorization": f"Bearer {key}"}
    ).get_json()
    quality = client_as("quality")
    page = _report(quality, NOVEMBER, lang=lang)
    totals = table_rows(page, "complaint-totals")["total"]
    assert _value(totals["total"]) == body["cases"]["total"]
    assert _value(totals["year"]) == body["year_earlier"]["total"]
    types = table_rows(page, "complaint-types")
    for share in body["by_category"]:
        row = types[share["key"] or ""]
        assert _value(row["cases"]) == share["cases"] and _value(row["share"]) == share["share"]
    causes = table_rows(page, "complaint-causes")
    for share in body["by_cause"]:
        assert _value(causes[share["key"] or ""]["cases"]) == share["cases"]
    commitments = table_rows(page, "commitments")
    for commitment in body["commitments"]:
        row = commitments[commitment["commitment"]]
        for outcome in ("met", "missed", "pending"):
            assert _value(row[outcome]) == commitment[outcome], (commitment, outcome)
        assert _value(row["share_met"]) == commitment["share_met"]
    assert _value(commitments["first_contact"]["share_met"]) == body["first_contact"]["rate"]
    assert _value(commitments["satisfaction"]["share_met"]) == body["satisfaction"]["csat"]
    assert any(c["pending"] for c in body["commitments"]), "the fixture has pending cases"
    assert "待定" in _report(quality, NOVEMBER, lang="zh")


def test_the_actions_started_in_the_period_are_listed_with_their_pages_verdict(bank, client_as, db):
    from survey.actions import service

    def record(title: str, day: date):
        draft = service.Draft(title, title, "training", day, "business_line", "personal")
        return service.create(None, draft, date(2026, 11, 29))

    inside = record("辅导", date(2026, 11, 3))
    record("早先", date(2026, 10, 2))  # before the period: not in November's report
    db.session.commit()
    quality = client_as("quality")
    page = _report(quality, NOVEMBER)
    section = page[page.index('data-testid="section-actions"') :]
    section = section[: section.index("</section>")]
    assert f'data-action="{inside.id}"' in section and "早先" not in section
    own_page = quality.get(f"/actions/{inside.id}?lang=en").get_data(as_text=True)
    said = section.split(f'data-action="{inside.id}"', 1)[1].split("</li>", 1)[0]
    verdict = said.split("): ", 1)[1]
    assert verdict and verdict in own_page  # the action's page says the same
    empty = _report(quality, "from=2026-09-01&to=2026-09-30")
    assert "No improvement action was started in this period." in empty
