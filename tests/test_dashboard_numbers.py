"""The dashboard's services give the scores API's numbers whole, while reading the rollups fewer times.

The overview adds its headline up from the dimensions, the dimensions page its scores from the
trend's periods, and a breakdown table its rows from its dimensions' counts; each must still be,
field by field and compare included, what ``queries.scores`` computes for the same question. The
bank (tests/fixtures/dashboard_pages.py) is filled once per database for the module: the tests
only read it. What the pages show of these numbers is tests/test_dashboard_pages.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from survey import settings
from survey.dashboard import breakdown
from survey.dashboard.dimensions import dimensions
from survey.dashboard.overview import DIMENSION_ORDER, overview
from survey.scoring import queries

pytestmark = pytest.mark.usefixtures("on_the_banks_day")


@pytest.mark.parametrize(
    "args",
    [
        {"from": "2026-10-31", "to": "2026-11-29"},
        {"from": "2026-10-01", "to": "2026-11-30", "business_line": "corporate"},
        {"from": "2026-11-01", "to": "2026-11-29", "channel": "phone,email"},
        {"from": "2026-10-31", "to": "2026-11-29", "dimension": "attitude,overall"},
        {"from": "2026-09-01", "to": "2026-09-30"},  # nothing answered, before or then
    ],
)
@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_overview_and_dimensions_pages_read_fewer_times_but_give_the_apis_groups_whole(
    bank_once, args, grain
):
    # The overview adds the headline up from the dimensions and the dimensions page its
    # scores from the trend's periods: every field of every group, compare included, must
    # still be what the scores API computes for the same question.
    query = queries.parse(args)
    min_n = int(settings.get("min_n"))
    [headline] = queries.scores(replace(query, compare="previous"), min_n)
    by_dimension = queries.scores(
        replace(query, group_by=("dimension",), compare="previous"), min_n
    )
    by_dimension = sorted(
        (g for g in by_dimension if g["key"]["dimension"] in DIMENSION_ORDER),
        key=lambda g: DIMENSION_ORDER.index(g["key"]["dimension"]),
    )
    page = overview(query, min_n, grain)
    assert page.headline == headline
    assert page.by_dimension == by_dimension
    shown = dimensions(query, min_n, grain)
    assert shown.scores == [g for g in by_dimension if g["key"]["dimension"] != "overall"]
    trend = queries.scores(replace(query, group_by=(grain, "dimension")), min_n)
    for dimension, groups in shown.trend.items():
        expected = [g for g in trend if g["key"]["dimension"] == dimension]
        assert [{k: v for k, v in g.items() if k != "partial"} for g in groups] == expected


@pytest.mark.parametrize(
    "args",
    [
        {"from": "2026-10-31", "to": "2026-11-29"},
        {"from": "2026-10-01", "to": "2026-11-30", "business_line": "corporate"},
        {"from": "2026-11-01", "to": "2026-11-29", "dimension": "attitude"},
    ],
)
@pytest.mark.parametrize("field", ["business_line", "team", "agent", "channel", "survey_channel"])
def test_breakdown_tables_read_once_per_field_but_give_the_apis_groups_whole(
    bank_once, args, field
):
    # A breakdown table's rows are its dimensions' counts added up (no read of their own):
    # each row, compare included, must still be the scores API's group for the field.
    query = queries.parse(args)
    min_n = int(settings.get("min_n"))
    table = breakdown.table(query, min_n, field, "en", "n", True)
    shown = {
        row["code"]: {k: v for k, v in row.items() if k not in ("code", "name", "dimensions")}
        for row in table.rows
    }
    expected = queries.scores(replace(query, group_by=(field,), compare="rest"), min_n)
    assert shown == {g["key"][field]: g for g in expected if g["key"][field]}
    assert shown  # the bank answered in every field
    by_dimension = queries.scores(replace(query, group_by=(field, "dimension")), min_n)
    for row in table.rows:
        assert row["dimensions"] == {
            g["key"]["dimension"]: g for g in by_dimension if g["key"][field] == row["code"]
        }


@pytest.mark.parametrize(
    "args",
    [
        {"from": "2026-10-31", "to": "2026-11-29"},
        {"from": "2026-10-01", "to": "2026-11-30", "business_line": "corporate"},
        {"from": "2026-10-01", "to": "2026-11-30", "team": "personal-inquiries"},
        {"from": "2026-11-01", "to": "2026-11-29", "dimension": "attitude"},
        {"from": "2026-11-01", "to": "2026-11-29", "survey_channel": "web,sms"},
    ],
)
def test_the_breakdown_page_reads_both_channels_at_once_but_gives_each_tables_rows_whole(
    bank_once, args
):
    # The interaction and survey channels' counts are one read by both, added up each way:
    # every row, its dimensions and compare included, must be what a read of its own gives.
    query = queries.parse(args)
    min_n = int(settings.get("min_n"))
    found = breakdown.tables(query, min_n, "en", "n", True, {})
    fields = (breakdown.level_of(query), "channel", "survey_channel")
    assert [t.field for t in found] == list(fields)
    for shown, field in zip(found, fields, strict=True):
        assert shown.rows == breakdown.table(query, min_n, field, "en", "n", True).rows
        assert shown.rows or field == "agent"
