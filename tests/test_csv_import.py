"""`survey import interactions FILE.csv`: rows checked and decided as the API would, bad lines named."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from survey import clock
from survey.dispatch.csv_import import COLUMNS, row_body
from survey.extensions import db
from survey.models import Customer, Interaction, Invitation

NOON = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _row(n: int, **cells: str) -> dict[str, str]:
    row = {
        "external_id": f"CALL-{n}",
        "occurred_at": "2026-11-29T10:15:00+08:00",
        "channel": "phone",
        "type": "inquiry",
        "business_line": "personal",
        "team": "personal-inquiries",
        "agent": "A1042",
        "category": "credit_card",
        "wait_seconds": "185",
        "customer_external_id": f"C-{n}",
        "customer_name": "王芳",
        "customer_phone": f"+86138{n:08d}",
        "customer_locale": "zh",
    }
    row.update(cells)
    return row


def _write(path, rows: list[dict[str, str]], columns=COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return str(path)


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def csv_file(tmp_path, dispatch_ready):
    clock.freeze(NOON)

    def make(rows, columns=COLUMNS) -> str:
        return _write(tmp_path / "interactions.csv", rows, columns)

    return make


def test_a_row_becomes_the_apis_body():
    body = row_body(
        _row(
            1,
            type="complaint",
            customer_email="",
            complaint_opened_at="2026-11-28T09:00:00+08:00",
            complaint_resolved_first_contact="no",
        )
    )
    assert body["wait_seconds"] == 185
    assert body["customer"] == {
        "external_id": "C-1",
        "name": "王芳",
        "phone": "+8613800000001",
        "locale": "zh",
    }
    assert body["complaint"] == {
        "opened_at": "2026-11-28T09:00:00+08:00",
        "resolved_first_contact": False,
    }
    assert "complaint" not in row_body(_row(2))


def test_good_rows_are_kept_and_bad_rows_are_named_by_line_and_column(runner, csv_file):
    path = csv_file(
        [
            _row(1),
            _row(2, channel="fax", customer_phone="call me"),
            _row(3),
            _row(4, occurred_at="2026-11-29 10:15", wait_seconds="-3"),
        ]
    )
    result = runner.invoke(args=["import", "interactions", path])
    assert result.exit_code == 0, result.output
    assert "line 3 channel: Must be one of: phone, chat, email, branch, app." in result.stderr
    assert "line 3 customer_phone:" in result.stderr
    assert "line 5 occurred_at: The time needs its UTC offset, e.g. +08:00." in result.stderr
    assert "line 5 wait_seconds: Must be a whole number of 0 or more." in result.stderr
    assert "Importing interactions" in result.stderr  # the progress bar
    assert "4 rows: 2 added (2 invited), 0 already imported, 2 not imported" in result.stdout
    assert set(db.session.scalars(sa.select(Interaction.external_id))) == {"CALL-1", "CALL-3"}
    assert _count(Invitation) == 2


def test_importing_the_same_file_again_changes_nothing(runner, csv_file):
    path = csv_file([_row(1), _row(2)])
    assert runner.invoke(args=["import", "interactions", path]).exit_code == 0
    again = runner.invoke(args=["import", "interactions", path])
    assert again.exit_code == 0, again.output
    assert "2 rows: 0 added (0 invited), 2 already imported, 0 not imported" in again.stdout
    assert (_count(Interaction), _count(Invitation), _count(Customer)) == (2, 2, 2)


def test_a_changed_row_under_an_imported_id_is_refused(runner, csv_file):
    runner.invoke(args=["import", "interactions", csv_file([_row(1)])])
    result = runner.invoke(args=["import", "interactions", csv_file([_row(1, wait_seconds="9")])])
    assert (
        "line 2 external_id: An interaction with this external_id was posted before"
        in result.stderr
    )
    assert db.session.scalar(sa.select(Interaction.wait_seconds)) == 185


def test_imported_rows_are_decided_by_the_same_rules_as_the_api(runner, csv_file):
    rows = [
        _row(1),
        _row(2, customer_external_id="C-1"),  # the same customer again: the frequency window
        _row(3, customer_phone=""),  # no address
        _row(
            4,
            type="complaint",
            team="personal-complaints",
            complaint_opened_at="2026-11-28T09:00:00+08:00",
            complaint_cause="process",
        ),
    ]
    result = runner.invoke(args=["import", "interactions", csv_file(rows)])
    assert result.exit_code == 0, result.output
    assert (
        "4 rows: 4 added (1 invited; suppressed: 1 frequency, 1 no_contact, 1 open_complaint)"
        in result.stdout
    )
    rows = db.session.execute(sa.select(Interaction.external_id, Interaction.suppression_reason))
    reasons = {external_id: reason for external_id, reason in rows}
    assert reasons == {
        "CALL-1": None,
        "CALL-2": "frequency",
        "CALL-3": "no_contact",
        "CALL-4": "open_complaint",
    }


def test_a_file_without_the_required_columns_changes_nothing(runner, csv_file):
    path = csv_file([_row(1)], columns=("external_id", "occurred_at", "channel", "phone"))
    result = runner.invoke(args=["import", "interactions", path])
    assert result.exit_code == 1
    assert "Columns missing: type, customer_external_id; columns unknown: phone." in result.output
    assert _count(Interaction) == 0


def test_a_file_that_is_not_text_is_refused(runner, tmp_path, dispatch_ready):
    path = tmp_path / "interactions.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x30\x81")
    result = runner.invoke(args=["import", "interactions", str(path)])
    assert result.exit_code == 1 and "not text" in result.output


def test_the_help_lists_the_columns(runner):
    result = runner.invoke(args=["import", "interactions", "--help"])
    assert result.exit_code == 0
    assert "customer_external_id" in result.output and "complaint_resolved_at" in result.output


def test_rows_of_one_complaint_case_are_one_case_surveyed_once_on_resolution(runner, csv_file):
    from survey.models import ComplaintCase

    complaint = dict(
        type="complaint", team="personal-complaints", complaint_case_id="CMP-2026-0042"
    )
    rows = [
        _row(1, complaint_opened_at="2026-11-28T09:00:00+08:00", **complaint),
        _row(
            2,
            customer_external_id="C-1",
            complaint_first_reply_at="2026-11-28T10:00:00+08:00",
            **complaint,
        ),
        _row(
            3,
            customer_external_id="C-1",
            complaint_resolved_at="2026-11-29T09:00:00+08:00",
            **complaint,
        ),
        # Moving the case's resolution is refused and named by its column.
        _row(
            4,
            customer_external_id="C-1",
            complaint_resolved_at="2026-11-29T11:00:00+08:00",
            **complaint,
        ),
    ]
    result = runner.invoke(args=["import", "interactions", csv_file(rows)])
    assert result.exit_code == 0, result.output
    assert "4 rows: 3 added (1 invited; suppressed: 2 open_complaint)" in result.stdout
    assert "line 5 complaint_resolved_at: The case recorded" in result.stderr
    case = db.session.scalars(sa.select(ComplaintCase)).one()
    assert case.resolved_at == datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    assert [i.external_id for i in case.interactions] == ["CALL-1", "CALL-2", "CALL-3"]
    invitation = db.session.scalars(sa.select(Invitation)).one()
    assert invitation.complaint_case_id == case.id
