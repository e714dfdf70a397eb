"""Dashboard pages show the scores API's numbers to the digit, its marks, and keep filters in the URL."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest
from babel.messages.pofile import read_po

from survey import settings
from survey.dashboard import filters
from survey.dashboard.overview import mark_partial
from survey.extensions import db
from tests.fixtures.dashboard_pages import number, table_rows

# One bank and one signed-in client per role for the whole module (tests/fixtures/dashboard_pages.py).
pytestmark = pytest.mark.usefixtures("on_the_banks_day")

FIELDS = ("n", "csat", "nps", "mean")
DIMENSIONS = ("attitude", "wait_time", "products", "complaint_handling")


def _assert_row_matches(row: dict, group: dict, marks: bool = True) -> None:
    for metric in FIELDS:
        if metric not in row:
            continue
        assert number(row[metric]) == group[metric], (metric, row[metric], group[metric])
        if marks and metric != "n":
            assert row[metric]["mark"] == group["compare"][metric]["mark"], (metric, group)
    if group["csat"] is not None and "csat" in row:
        assert f"{group['csat'] * 100:.1f}%" in row["csat"]["text"]
        assert (
            f"{group['csat_low'] * 100:.1f}%–{group['csat_high'] * 100:.1f}%" in row["csat"]["text"]
        )
    if group["nps"] is not None and "nps" in row:
        assert f"{group['nps']:+.1f}" in row["nps"]["text"]


PERIOD = "from=2026-10-31&to=2026-11-29"


@pytest.mark.parametrize("field", ["business_line", "channel", "survey_channel"])
def test_breakdown_shows_the_api_numbers_and_marks_against_the_rest(
    bank_once, api_once, clients_once, field
):
    page = clients_once("quality").get(f"/breakdown?lang=en&{PERIOD}").get_data(as_text=True)
    rows = table_rows(page, field)
    body = api_once("scores", f"{PERIOD}&group_by={field}&compare=rest")
    groups = [g for g in body["groups"] if g["key"][field]]
    assert sorted(rows) == sorted(g["key"][field] for g in groups)
    for group in groups:
        _assert_row_matches(rows[group["key"][field]], group)
    by_dimension = api_once("scores", f"{PERIOD}&group_by={field},dimension")["groups"]
    for group in by_dimension:
        code, dimension = group["key"][field], group["key"]["dimension"]
        if code and dimension in DIMENSIONS:
            assert number(rows[code][dimension]) == group["csat"]
    # The story the data tells is marked where the engine's q-values say, and only there.
    assert any(g["compare"]["csat"]["mark"] for g in groups)
    shown = [c["mark"] for r in rows.values() for c in r.values() if c["mark"]]
    expected = [g["compare"][m]["mark"] for g in groups for m in ("csat", "nps", "mean")]
    assert sorted(shown) == sorted(m for m in expected if m)


def test_a_group_under_min_n_shows_n_below_the_setting_not_a_score(bank_once, clients_once):
    before = settings.get("min_n")
    settings.put("min_n", 4)
    db.session.commit()
    try:
        page = clients_once("quality").get(f"/breakdown?lang=en&{PERIOD}").get_data(as_text=True)
    finally:  # the module's other tests read the bank with the default
        settings.put("min_n", before)
        db.session.commit()
    email = table_rows(page, "channel")["email"]
    assert number(email["n"]) == 3
    assert number(email["csat"]) is None
    assert "n < 4" in email["csat"]["text"]


def test_clicking_a_business_line_drills_down_to_its_teams_then_agents(
    bank_once, api_once, clients_once
):
    client = clients_once("manager")
    page = client.get(f"/breakdown?lang=en&{PERIOD}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]*business_line=personal[^"]*)">Personal banking</a>', page)
    assert link, "the business line's name is a link to its teams"
    teams_page = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    teams = table_rows(teams_page, "team")
    body = api_once("scores", f"{PERIOD}&business_line=personal&group_by=team&compare=rest")
    assert sorted(teams) == ["personal-inquiries"]
    _assert_row_matches(teams["personal-inquiries"], body["groups"][0])
    agents_page = client.get(
        f"/breakdown?lang=en&{PERIOD}&business_line=personal&team=personal-inquiries"
    ).get_data(as_text=True)
    assert sorted(table_rows(agents_page, "agent")) == ["A1001"]


def test_breakdown_columns_sort_on_the_server_without_script(bank_once, clients_once):
    client = clients_once("quality")
    low_first = client.get(f"/breakdown?{PERIOD}&sort=csat&dir=asc").get_data(as_text=True)
    high_first = client.get(f"/breakdown?{PERIOD}&sort=csat&dir=desc").get_data(as_text=True)
    assert list(table_rows(low_first, "business_line")) == ["corporate", "personal"]
    assert list(table_rows(high_first, "business_line")) == ["personal", "corporate"]


def test_overview_shows_the_api_headline_and_dimensions_against_the_previous_period(
    bank_once, api_once, clients_once
):
    page = clients_once("quality").get(f"/?lang=en&{PERIOD}").get_data(as_text=True)
    [headline] = api_once("scores", f"{PERIOD}&compare=previous")["groups"]
    for metric in ("csat", "nps", "mean"):
        tile = re.search(rf'class="tile" data-metric="{metric}" data-value="([^"]*)"', page)
        assert float(tile.group(1)) == headline[metric]
    assert headline["compare"]["csat"]["mark"] == "▲"  # from all 3s in October
    assert 'data-mark="▲"' in page[page.index('data-testid="csat"') :][:400]
    rows = table_rows(page, "by-dimension")
    body = api_once("scores", f"{PERIOD}&group_by=dimension&compare=previous")
    groups = [g for g in body["groups"] if g["key"]["dimension"]]  # NPS has no dimension
    assert sorted(rows) == sorted(g["key"]["dimension"] for g in groups)
    for group in groups:
        _assert_row_matches(rows[group["key"]["dimension"]], group, marks=False)
        assert rows[group["key"]["dimension"]]["csat"]["mark"] == group["compare"]["csat"]["mark"]


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_overview_trend_matches_the_api_by_day_week_or_month(
    bank_once, api_once, clients_once, grain
):
    page = clients_once("quality").get(f"/?lang=en&{PERIOD}&grain={grain}").get_data(as_text=True)
    rows = table_rows(page, "trend")
    groups = api_once("scores", f"{PERIOD}&group_by={grain}")["groups"]
    assert sorted(rows) == sorted(g["key"][grain] for g in groups)
    for group in groups:
        _assert_row_matches(rows[group["key"][grain]], group, marks=False)
    # November is not over on the 29th: its month is partial; so is the week of the 29th.
    if grain == "month":
        assert "(partial)" in page[page.index('data-key="2026-11"') :][:300]


def test_dimensions_page_shows_each_dimension_and_the_drivers_of_the_api(
    bank_once, api_once, clients_once
):
    page = clients_once("quality").get(f"/dimensions?lang=en&{PERIOD}").get_data(as_text=True)
    rows = table_rows(page, "dimension-scores")
    body = api_once("scores", f"{PERIOD}&group_by=dimension&compare=previous")
    for group in body["groups"]:
        if group["key"]["dimension"] in DIMENSIONS:
            _assert_row_matches(rows[group["key"]["dimension"]], group, marks=False)
    drivers = table_rows(page, "drivers")
    found = api_once("drivers", PERIOD)
    assert "Most closely associated with overall satisfaction" in page
    for driver in found["drivers"]:
        row = drivers[driver["dimension"]]
        assert number(row["n"]) == driver["n"]
        assert number(row["r"]) == driver["r"]
    section = page[page.index("<h2>Most closely associated") : page.index('data-testid="drivers"')]
    assert "cause" not in section.replace("not cause", "")  # association, never "causes"


def _form_fields(page: str) -> dict[str, str]:
    start = page.index('<form class="card filters"')
    form = page[start : page.index("</form>", start)]
    fields = {}
    for select in re.finditer(r'<select name="(\w+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select.group(2))
        fields[select.group(1)] = chosen.group(1) if chosen else ""
    for field in re.finditer(
        r'<input type="(?:date|hidden)" name="(\w+)"[^>]*value="([^"]*)"', form
    ):
        fields[field.group(1)] = field.group(2)
    return {k: v for k, v in fields.items() if v}


@pytest.mark.parametrize("path", ["/", "/breakdown", "/dimensions"])
def test_filters_round_trip_through_the_url_and_the_form(bank_once, clients_once, path):
    client = clients_once("quality")
    asked = {
        "from": "2026-11-01",
        "to": "2026-11-25",
        "business_line": "personal",
        "channel": "phone",
        "survey_channel": "web",
        "type": "inquiry",
        "category": "account",
        "agent": "A1001",
        "grain": "day",
    }
    page = client.get(f"{path}?{urlencode(asked)}").get_data(as_text=True)
    assert _form_fields(page) == asked
    again = client.get(f"{path}?{urlencode(_form_fields(page))}").get_data(as_text=True)
    content = 'class="breadcrumbs"'  # the language switcher above keeps the URL as typed
    assert again[again.index(content) :] == page[page.index(content) :]
    preset = client.get(f"{path}?period=last_month").get_data(as_text=True)
    assert _form_fields(preset) == {"period": "last_month"}
    assert "2026-10-01 to 2026-10-31" in client.get("/?period=last_month&lang=en").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("query", "english", "chinese"),
    [
        ("channel=fax", "Unknown value: fax.", "fax"),
        ("from=2026-13-01", "Use a date like 2026-11-29.", "2026-11-29"),
        ("from=2026-11-20&to=2026-11-01", "'from' must not be after 'to'.", "from"),
        ("period=fortnight", "Unknown period.", "时段"),
        ("colour=red", "Unknown parameter.", "colour"),
    ],
)
@pytest.mark.parametrize("path", ["/", "/breakdown", "/dimensions"])
def test_a_bad_filter_shows_a_clear_message_in_the_users_language(
    clients_once, path, query, english, chinese
):
    client = clients_once("quality")
    response = client.get(f"{path}?lang=en&{query}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "This view cannot be shown: some filters are wrong." in text
    assert english.replace("'", "&#39;") in text
    zh = client.get(f"{path}?lang=zh&{query}").get_data(as_text=True)
    assert "无法显示" in zh and chinese in zh


def test_period_presets_are_the_banks_calendar():
    today = date(2026, 11, 29)
    assert filters.preset_range("7d", today) == (date(2026, 11, 23), today)
    assert filters.preset_range("this_month", today) == (date(2026, 11, 1), today)
    assert filters.preset_range("last_month", today) == (date(2026, 10, 1), date(2026, 10, 31))
    assert filters.preset_range("this_quarter", today) == (date(2026, 10, 1), today)
    assert filters.preset_range("this_year", today) == (date(2026, 1, 1), today)
    assert filters.preset_range("last_month", date(2026, 1, 5)) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
    )


def test_a_period_cut_by_the_dates_or_not_finished_is_partial():
    groups = [{"key": {"week": w}} for w in ("2026-11-02", "2026-11-09", "2026-11-23")]
    mark_partial(groups, "week", date(2026, 11, 4), date(2026, 11, 29), date(2026, 11, 29))
    # Begun before the 4th; whole; the week of today (Sunday the 29th) is not over.
    assert [g["partial"] for g in groups] == [True, False, True]
    months = [{"key": {"month": "2026-10"}}]
    mark_partial(months, "month", date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 29))
    assert months[0]["partial"] is False


@pytest.mark.parametrize("path", ["/", "/breakdown", "/dimensions"])
def test_chinese_pages_show_no_english_sentence_of_the_catalogue(bank_once, clients_once, path):
    po = Path(__file__).resolve().parents[1] / "survey/translations/zh/LC_MESSAGES/messages.po"
    with po.open("rb") as file:
        catalogue = read_po(file)
    english = [
        m.id
        for m in catalogue
        if isinstance(m.id, str) and len(m.id) >= 5 and "%" not in m.id and m.string != m.id
    ]
    page = clients_once("quality").get(f"{path}?lang=zh&{PERIOD}").get_data(as_text=True)
    body = page[page.index("<main") : page.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    found = [m for m in english if re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", body)]
    assert found == []


@pytest.mark.parametrize("path", ["/", "/breakdown", "/dimensions"])
def test_every_page_offers_the_export_of_what_it_shows(bank_once, clients_once, path):
    client = clients_once("quality")
    page = client.get(f"{path}?period=last_month&channel=phone&grain=week").get_data(as_text=True)
    link = re.search(r'href="(/export\?[^"]+)"', page)
    assert link, "no export link on the page"
    target = link.group(1).replace("&amp;", "&")
    assert "from=2026-10-01" in target and "to=2026-10-31" in target and "channel=phone" in target
    export_page = client.get(target).get_data(as_text=True)
    download = re.search(r'href="(/export/scores\.csv\?[^"]+)"', export_page)
    assert download, "the export page offers no CSV of the same filters"
    answer = client.get(download.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200
    assert answer.get_data().startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
