"""The complaints page shows GET /api/v1/complaints' numbers to the digit, its marks, its filters."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from survey import clock, demo
from tests.fixtures.complaints import NOW, at
from tests.fixtures.dashboard_pages import number, table_rows

PERIOD = "from=2026-11-01&to=2026-11-29"


@pytest.fixture
def api(client, make_api_key):
    key = make_api_key("reports", ("scores",))

    def get(query: str) -> dict:
        answer = client.get(
            f"/api/v1/complaints?{query}", headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    return get


@pytest.fixture
def contrasted(db, make_case):
    """Replies in time go with happy customers, late ones with unhappy; resolutions all in time.

    12 cases replied within the hour and rated 5 or 4; 12 replied after 50 hours and rated 1
    or 2. Every case is resolved three calendar days after it opened, within 5 working days.
    """
    clock.freeze(NOW)
    for i in range(24):
        late = i % 2 == 1
        opened = at(f"2026-11-{2 + i % 4:02d} 10:00")  # Mon 2 … Thu 5
        reply = opened + timedelta(hours=50 if late else 1)
        make_case(
            opened,
            reply,
            opened + timedelta(days=3, hours=1),
            first_contact=False,
            category="credit_card" if i % 3 else "loan",
            cause="process" if i % 2 else "attitude",
            rating=(1 if i % 4 == 1 else 2) if late else (5 if i % 4 == 0 else 4),
        )


def _page(client, query: str) -> str:
    answer = client.get(f"/complaints?lang=en&{query}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _tile(page: str, metric: str) -> str:
    found = re.search(rf'data-metric="{metric}" data-value="([^"]*)"', page)
    assert found, metric
    return found.group(1)


def _assert_page_is_the_api(page: str, body: dict) -> None:
    assert int(_tile(page, "cases")) == body["cases"]["total"]
    assert int(_tile(page, "open")) == body["cases"]["open"]
    assert int(_tile(page, "year_earlier")) == body["year_earlier"]["total"]
    assert int(_tile(page, "change")) == body["year_earlier"]["change"]
    rate = body["first_contact"]["rate"]
    assert _tile(page, "first_contact_rate") == ("" if rate is None else str(rate))
    csat = body["satisfaction"]["csat"]
    assert _tile(page, "csat") == ("" if csat is None else str(csat))
    for table in ("by_category", "by_cause"):
        rows = table_rows(page, table.replace("_", "-"))
        assert set(rows) == {s["key"] or "none" for s in body[table]}
        for share in body[table]:
            row = rows[share["key"] or "none"]
            assert number(row["cases"]) == share["cases"]
            assert number(row["share"]) == share["share"]
    rows = table_rows(page, "commitments")
    for commitment in body["commitments"]:
        row = rows[commitment["commitment"]]
        for metric in ("met", "missed", "pending", "share_met"):
            assert number(row[metric]) == commitment[metric], (commitment, metric)
    rows = table_rows(page, "met-versus-missed")
    for compared in body["met_versus_missed"]:
        row = rows[compared["commitment"]]
        assert number(row["met_csat"]) == compared["met"]["csat"]
        assert number(row["missed_csat"]) == compared["missed"]["csat"]
        assert number(row["difference"]) == compared["difference"]
        assert row["difference"]["mark"] == compared["mark"]


@pytest.mark.parametrize("filters", ["", "&category=credit_card", "&cause=process&channel=phone"])
def test_the_page_shows_the_api_numbers_to_the_digit(november_cases, api, client_as, filters):
    page = _page(client_as("quality"), PERIOD + filters)
    _assert_page_is_the_api(page, api(PERIOD + filters))


def test_marks_appear_exactly_where_the_q_value_is_below_005(contrasted, api, client_as):
    body = api(PERIOD)
    page = _page(client_as("quality"), PERIOD)
    _assert_page_is_the_api(page, body)
    by = {m["commitment"]: m for m in body["met_versus_missed"]}
    # Late replies went with unhappy customers: met is higher, and significantly.
    assert by["first_reply"]["q_value"] < 0.05 and by["first_reply"]["mark"] == "▲"
    # Every case was finally handled in time: nothing missed, nothing to compare.
    assert by["final"]["missed"]["n"] == 0 and by["final"]["mark"] is None
    marked = re.findall(r'data-mark="([▲▼])"', page)
    expected = [m["mark"] for m in body["met_versus_missed"] if m["mark"]]
    assert marked == expected
    for m in body["met_versus_missed"]:
        assert (m["mark"] is not None) == (m["q_value"] is not None and m["q_value"] < 0.05)


def test_open_cases_inside_a_deadline_are_pending_on_the_page(november_cases, client_as):
    rows = table_rows(_page(client_as("quality"), PERIOD), "commitments")
    assert number(rows["final"]["pending"]) == 2
    assert "of 5 decided" in rows["final"]["share_met"]["text"]


def test_an_interaction_type_filter_is_refused_with_a_clear_message(november_cases, client_as):
    client = client_as("quality")
    answer = client.get(f"/complaints?lang=en&{PERIOD}&type=inquiry")
    assert answer.status_code == 400
    assert "Not a filter of complaint cases." in answer.get_data(as_text=True)
    zh = client.get(f"/complaints?lang=zh&{PERIOD}&type=inquiry").get_data(as_text=True)
    assert "无法显示" in zh


def test_the_form_offers_only_filters_that_apply_and_keeps_them_in_the_url(
    november_cases, client_as
):
    page = _page(client_as("quality"), PERIOD + "&cause=process&agent=A2001")
    start = page.index('<form class="card filters"')
    form = page[start : page.index("</form>", start)]
    assert 'name="type"' not in form
    assert re.search(r'<option value="process" selected>', form)
    assert re.search(r'<option value="A2001" selected>', form)
    assert 'value="2026-11-01"' in form


@pytest.mark.parametrize("role", ["quality", "manager", "admin"])
def test_staff_who_read_dashboards_reach_it_from_the_nav_and_next_steps(
    november_cases, client_as, role
):
    client = client_as(role)
    overview = client.get(f"/?lang=en&{PERIOD}&type=inquiry").get_data(as_text=True)
    links = re.findall(r'href="(/complaints\?[^"]*)"', overview)
    assert len(links) >= 2  # the nav and the next steps
    # The link leaves the interaction type behind: complaint cases have none.
    assert all("type=" not in link for link in links)
    assert client.get(links[0].replace("&amp;", "&")).status_code == 200


def test_someone_signed_out_is_sent_to_sign_in(client):
    answer = client.get("/complaints")
    assert answer.status_code in (302, 401)


def test_the_tables_export_as_csv_with_the_pages_numbers(november_cases, api, client_as):
    client = client_as("quality")
    page = _page(client, PERIOD)
    link = re.search(r'href="(/export/complaints\.csv\?[^"]+)"', page)
    assert link
    answer = client.get(link.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200
    raw = answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["table", "row", "measure", "value"]
    figures = {(t, r, m): v for t, r, m, v in rows[1:]}
    assert figures[("cases", "", "total")] == "7"
    assert figures[("commitments", "final", "pending")] == "2"
    assert figures[("by_cause", "process", "share")] == str(api(PERIOD)["by_cause"][1]["share"])
    xlsx = client.get(link.group(1).replace("&amp;", "&").replace(".csv", ".xlsx"))
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"


def test_the_chinese_page_shows_no_english_sentence_of_the_catalogue(november_cases, client_as):
    po = Path(__file__).resolve().parents[1] / "survey/translations/zh/LC_MESSAGES/messages.po"
    with po.open("rb") as file:
        catalogue = read_po(file)
    english = [
        m.id
        for m in catalogue
        if isinstance(m.id, str) and len(m.id) >= 5 and "%" not in m.id and m.string != m.id
    ]
    page = client_as("quality").get(f"/complaints?lang=zh&{PERIOD}").get_data(as_text=True)
    body = page[page.index("<main") : page.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    found = [m for m in english if re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", body)]
    assert found == []
    assert "投诉" in body


def test_the_demo_bank_tells_a_true_complaints_story(app, api):
    """Most cases meet the commitments, some miss them, open ones are pending, and it shows."""
    clock.freeze(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    demo.load(seed=7, today=date(2026, 11, 29), size=4000)
    body = api("from=2026-09-01&to=2026-11-29")
    assert body["cases"]["open"] > 0
    commitments = {c["commitment"]: c for c in body["commitments"]}
    assert all(c["met"] > c["missed"] for c in commitments.values())
    assert commitments["final"]["missed"] > 0 and commitments["regulator"]["missed"] > 0
    assert commitments["final"]["pending"] > 0 and commitments["regulator"]["pending"] > 0
    assert 0.8 < body["first_contact"]["rate"] < 1
    assert body["satisfaction"]["csat"] is not None
    # Late final results go with unhappy customers, as the demo's answers say.
    final = next(m for m in body["met_versus_missed"] if m["commitment"] == "final")
    assert final["mark"] == "▲"
