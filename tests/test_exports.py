"""Exports: scores tables and raw responses as CSV and XLSX, safe for Excel and for customers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from survey import clock
from survey.exports import writers
from survey.extensions import db
from survey.models import AuditEvent

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
BOM = "\ufeff".encode()
EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def _fixed_now():
    clock.freeze(NOW)
    yield
    clock.unfreeze()


@pytest.fixture
def answered(invite, record_response):
    """Three responses in two segments; one comment tries a formula, one leaks contacts."""
    made = []
    first = invite(agent="A1001", channel="phone", phone="+8613800138000", email="wang@example.cn")
    made.append(
        record_response(
            first,
            {"overall": 5, "nps": 9, "comment": '=HYPERLINK("http://evil.example","点我")'},
            completed_at=NOW - timedelta(days=1),
        )
    )
    second = invite(agent="A2001", channel="chat", type="complaint", category="loan")
    made.append(
        record_response(
            second,
            {"overall": 2, "comment": "请打 138 0013 8001 或写信给 li@example.cn 服务很慢"},
            completed_at=NOW - timedelta(days=2),
        )
    )
    third = invite(agent="A1001", channel="phone")
    made.append(record_response(third, {"overall": 4}, completed_at=NOW - timedelta(days=40)))
    return made


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"))))


def _xlsx(data: bytes) -> list[list[object]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [list(row) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]


def test_responses_csv_has_a_bom_chinese_text_and_escaped_formulas(client_as, answered):
    got = client_as("quality").get(
        "/export/responses.csv?from=2026-11-01&to=2026-11-29", headers=EN
    )
    assert got.status_code == 200
    assert got.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in got.headers["Content-Disposition"]
    rows = _csv(got.data)
    header, body = rows[0], rows[1:]
    assert len(body) == 2  # the 40-day-old response is outside the days asked for
    comment = [r[header.index("comment")] for r in body]
    assert '\'=HYPERLINK("http://evil.example","点我")' in comment
    assert not any(c.startswith("=") for row in body for c in row)
    agents = {r[header.index("Agent")] for r in body}
    assert agents == {"A1001", "A2001"}
    overall = {r[header.index("Agent")]: r[header.index("overall")] for r in body}
    assert overall == {"A1001": "5", "A2001": "2"}


def test_responses_export_never_contains_a_phone_number_or_e_mail_address(client_as, answered):
    client = client_as("manager")
    for fmt in ("csv", "xlsx"):
        got = client.get(f"/export/responses.{fmt}?from=2026-01-01&to=2026-11-29", headers=EN)
        assert got.status_code == 200
        text = got.data.decode("utf-8", "replace") if fmt == "csv" else str(_xlsx(got.data))
        for leaked in (
            "+8613800138000",
            "13800138000",
            "wang@example.cn",
            "li@example.cn",
            "138 0013 8001",
            "@example",
        ):
            assert leaked not in text, (fmt, leaked)
        assert "服务很慢" in text  # the rest of the comment survives


def test_responses_xlsx_keeps_chinese_and_escapes_formulas(client_as, answered):
    got = client_as("admin").get(
        "/export/responses.xlsx?from=2026-11-01&to=2026-11-29", headers={"Accept-Language": "zh"}
    )
    assert got.status_code == 200
    rows = _xlsx(got.data)
    header = rows[0]
    assert header[:3] == ["答卷", "计入时间（银行时区）", "状态"]
    comments = [r[header.index("comment")] for r in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","点我")' in comments
    book = openpyxl.load_workbook(io.BytesIO(got.data))
    assert not any(
        cell.data_type == "f"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
    )


def test_responses_export_respects_the_filters(client_as, answered):
    client = client_as("quality")
    base = "/export/responses.csv?from=2026-11-01&to=2026-11-29"
    for query, agents in (
        ("&agent=A2001", {"A2001"}),
        ("&channel=phone", {"A1001"}),
        ("&type=complaint", {"A2001"}),
        ("&business_line=personal", {"A1001"}),
        ("&survey_channel=sms", set()),
    ):
        rows = _csv(client.get(base + query, headers=EN).data)
        assert {r[rows[0].index("Agent")] for r in rows[1:]} == agents, query
    wide = _csv(client.get("/export/responses.csv?from=2026-10-01&to=2026-11-29", headers=EN).data)
    assert len(wide) == 4


def test_a_bad_filter_is_a_400_naming_it_in_the_viewer_s_language(client_as, answered):
    got = client_as("quality").get(
        "/export/responses.csv?channel=pigeon", headers={"Accept-Language": "zh"}
    )
    assert got.status_code == 400
    assert "channel" in got.get_data(as_text=True)
    assert "pigeon" in got.get_data(as_text=True)


def test_scores_csv_and_xlsx_give_the_api_s_numbers(client_as, answered):
    client = client_as("quality")
    query = "from=2026-11-01&to=2026-11-29&group_by=agent"
    rows = _csv(client.get(f"/export/scores.csv?{query}", headers=EN).data)
    header = rows[0]
    assert header[:3] == ["agent", "n", "csat"]
    by_agent = {r[0]: r for r in rows[1:]}
    assert by_agent["A1001"][header.index("n")] == "1"
    assert by_agent["A2001"][header.index("n")] == "1"
    sheet = _xlsx(client.get(f"/export/scores.xlsx?{query}", headers=EN).data)
    assert sheet[0][:3] == ["agent", "n", "csat"]
    assert {r[0] for r in sheet[1:]} == {"A1001", "A2001"}


def test_negative_nps_stays_a_number_and_only_text_is_escaped():
    rows = _csv(
        b"".join(writers.csv_chunks(["nps", "note"], [[-33.3, "-1+1"], [None, "@SUM(A1)"]]))
    )
    assert rows[1] == ["-33.3", "'-1+1"]
    assert rows[2] == ["", "'@SUM(A1)"]


def test_an_xlsx_past_a_sheet_s_rows_continues_on_a_new_sheet():
    path = writers.xlsx_file(["n"], ([i] for i in range(7)), "responses", sheet_rows=4)
    with open(path, "rb") as handle:
        book = openpyxl.load_workbook(io.BytesIO(handle.read()), read_only=True)
    assert [s.title for s in book.worksheets] == ["responses", "responses 2", "responses 3"]
    assert [[r[0] for r in s.iter_rows(values_only=True)] for s in book.worksheets] == [
        ["n", 0, 1, 2],
        ["n", 3, 4, 5],
        ["n", 6],
    ]


def test_the_responses_export_reads_in_bounded_batches(app, answered):
    from survey.exports import tables
    from survey.scoring import queries

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.test_request_context():
        query = queries.parse({"from": "2026-10-01", "to": "2026-11-29"})
        _header, keys = tables.response_header(query)
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            rows = list(tables.response_rows(query, keys, batch=1))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(rows) == 3
    reads = [s for s in statements if "LIMIT" in s.upper()]
    # One bounded read per batch of one (and the empty one that ends the walk).
    assert len(reads) == 4
    assert all("response.id >" in s for s in reads)


@pytest.mark.parametrize("role", ["admin", "manager", "quality"])
def test_every_export_is_in_the_audit_trail(client_as, answered, role):
    client = client_as(role)
    client.get("/export/scores.csv?from=2026-11-01&to=2026-11-29&agent=A1001", headers=EN)
    client.get("/export/responses.xlsx?from=2026-11-01&to=2026-11-29", headers=EN)
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "export").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["export.scores", "export.responses"]
    assert events[0].actor_label.startswith(role) or events[0].actor_user_id is not None
    assert events[0].after["filters"] == {"agent": ["A1001"]}
    assert events[0].after["format"] == "csv"
    assert events[1].after["format"] == "xlsx"


def test_signed_out_visitors_cannot_export(client_as, answered):
    got = client_as(None).get("/export/responses.csv", headers=EN)
    assert got.status_code == 302
