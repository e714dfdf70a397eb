"""Interactions from a CSV file: each row checked and stored exactly as a POST to the API would be.

A row is the API's JSON body flattened: nested fields take their object's name
as a prefix (``customer.phone`` is the column ``customer_phone``). Each row is
validated by ``survey.api.schemas`` and stored by ``intake.take_in``, so the
same rules decide about its survey and a re-imported row is a replay, never a
second interaction or invitation. A bad row is reported by line, field and
reason; good rows are kept.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from survey.api import schemas
from survey.csvfiles import FileProblem, decode
from survey.dispatch import cases, intake
from survey.extensions import db

log = logging.getLogger(__name__)

TOP_LEVEL = (
    "external_id",
    "occurred_at",
    "channel",
    "type",
    "business_line",
    "team",
    "agent",
    "category",
    "wait_seconds",
)
CUSTOMER = ("external_id", "name", "phone", "email", "locale", "timezone")
COMPLAINT = (
    "case_id",
    "opened_at",
    "first_reply_at",
    "resolved_at",
    "resolved_first_contact",
    "cause",
)
COLUMNS = (
    *TOP_LEVEL,
    *(f"customer_{name}" for name in CUSTOMER),
    *(f"complaint_{name}" for name in COMPLAINT),
)
REQUIRED_COLUMNS = ("external_id", "occurred_at", "channel", "type", "customer_external_id")
TRUE, FALSE = ("true", "yes", "1", "y"), ("false", "no", "0", "n")


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    replayed: int = 0
    invited: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """Return each non-blank row with the line it starts on, or raise FileProblem."""
    text = decode(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        unknown = [name for name in header if name not in COLUMNS]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if unknown or missing:
            raise FileProblem(
                _l(
                    "Columns missing: %(missing)s; columns unknown: %(unknown)s.",
                    missing=", ".join(missing) or "-",
                    unknown=", ".join(unknown) or "-",
                )
            )
        reader.fieldnames = header
        rows = []
        start = reader.line_num + 1
        for row in reader:
            if any((value or "").strip() for value in row.values() if isinstance(value, str)):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        raise FileProblem(
            _l("Line %(line)d is not valid CSV: %(reason)s", line=reader.line_num, reason=error)
        ) from error
    return rows


def row_body(row: dict[str, Any]) -> dict[str, Any]:
    """Turn a CSV row into the JSON body the API takes; empty cells are absent fields."""

    def cell(name: str) -> str | None:
        value = row.get(name)
        value = value.strip() if isinstance(value, str) else None
        return value or None

    body: dict[str, Any] = {name: cell(name) for name in TOP_LEVEL if cell(name) is not None}
    wait = body.get("wait_seconds")
    if wait is not None and wait.isascii() and wait.isdigit():
        body["wait_seconds"] = int(wait)  # anything else stays text, and the API's check names it
    body["customer"] = {
        name: cell(f"customer_{name}") for name in CUSTOMER if cell(f"customer_{name}") is not None
    }
    complaint = {
        name: cell(f"complaint_{name}")
        for name in COMPLAINT
        if cell(f"complaint_{name}") is not None
    }
    flag = complaint.get("resolved_first_contact")
    if flag is not None and flag.lower() in TRUE + FALSE:
        complaint["resolved_first_contact"] = flag.lower() in TRUE
    if complaint:
        body["complaint"] = complaint
    return body


def import_rows(
    rows: list[tuple[int, dict[str, str]]], progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Store each good row through the intake service; report each bad one by line and column."""
    report = ImportReport(rows=len(rows))
    for line, row in rows:
        data, errors = schemas.parse_interaction(row_body(row))
        if data is None:
            report.errors += [RowError(line, _column(e.field), e.message) for e in errors]
        else:
            _store(report, line, data)
        if progress is not None:
            progress(1)
    return report


def _store(report: ImportReport, line: int, data: intake.InteractionInput) -> None:
    try:
        outcome = intake.take_in(data)
    except intake.ReplayConflict:
        report.errors.append(
            RowError(
                line,
                "external_id",
                _(
                    "An interaction with this external_id was posted before with a different "
                    "body; the first one stands."
                ),
            )
        )
        return
    except cases.CaseConflict as conflict:
        report.errors += [RowError(line, _column(p.field), p.message) for p in conflict.problems]
        return
    except SQLAlchemyError:
        # One row the database refused (after intake's own retry) must not stop the rest.
        db.session.rollback()
        log.exception("import: line %s not stored", line)
        report.errors.append(
            RowError(line, "", _("Some fields are missing or wrong; nothing was stored."))
        )
        return
    if not outcome.created:
        report.replayed += 1
        return
    report.created += 1
    reason = outcome.suppression_reason
    if reason is None:
        report.invited += 1
    else:
        report.suppressed[reason] += 1


def _column(api_field: str) -> str:
    """Name the CSV column of an API field (customer.phone → customer_phone)."""
    return api_field.replace(".", "_")


def _decode(data: bytes) -> str:
    # Excel writes UTF-8 with a BOM, or GB18030 on Chinese Windows.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem(_l("The file is not text in UTF-8 or GB18030."))
