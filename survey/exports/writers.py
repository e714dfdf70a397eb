"""Write rows as a streamed CSV (UTF-8 with BOM) or an XLSX built in constant memory."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence

from survey.exports.cells import Cell, safe

# Excel opens a CSV as UTF-8 (and shows Chinese) only when it starts with a byte-order mark.
BOM = "\ufeff"
# Excel's rows per sheet; the header takes one on every sheet.
SHEET_ROWS = 1_048_576
# Rows written to the CSV buffer before it is handed to the client.
CSV_CHUNK_ROWS = 500


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """Yield a CSV in chunks: the BOM and header first, then a few hundred rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([safe(h) for h in header])
    pending = 0
    for row in rows:
        writer.writerow([_csv_cell(safe(v)) for v in row])
        pending += 1
        if pending >= CSV_CHUNK_ROWS:
            yield _drain(buffer)
            pending = 0
    yield _drain(buffer)


def _csv_cell(value: Cell) -> Cell:
    return "" if value is None else value


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def xlsx_file(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    sheet: str,
    sheet_rows: int = SHEET_ROWS,
    path: str | None = None,
) -> str:
    """Write the rows to an XLSX file and return its path (the caller removes it).

    XlsxWriter's constant-memory mode flushes each row to disk as it is written; past
    ``sheet_rows`` rows (header included) a new sheet starts, named ``sheet 2``, ``sheet 3``…

    :param path: where to write; by default a new temporary file.
    """
    if path is None:
        handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="export-")
        os.close(handle)
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    # Imported here: a web worker that never writes a workbook need not carry it (2 MB).
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, options)
    try:
        number = 1
        worksheet = _new_sheet(workbook, sheet, number, header)
        line = 1
        for row in rows:
            if line >= sheet_rows:
                number += 1
                worksheet = _new_sheet(workbook, sheet, number, header)
                line = 1
            for column, value in enumerate(row):
                cell = safe(value)
                if isinstance(cell, str):
                    worksheet.write_string(line, column, cell)
                elif cell is not None:
                    worksheet.write_number(line, column, cell)
            line += 1
    finally:
        workbook.close()
    return path


def _new_sheet(workbook, sheet: str, number: int, header: Sequence[str]):
    worksheet = workbook.add_worksheet(sheet if number == 1 else f"{sheet} {number}")
    for column, title in enumerate(header):
        worksheet.write_string(0, column, str(safe(title)))
    return worksheet


def csv_file(header: Sequence[str], rows: Iterable[Sequence[object]], path: str) -> str:
    """Write the rows to a CSV file (UTF-8 with BOM), chunk by chunk; return its path."""
    with open(path, "wb") as handle:
        for chunk in csv_chunks(header, rows):
            handle.write(chunk)
    return path


def file_chunks(path: str, size: int = 64 * 1024) -> Iterator[bytes]:
    """Yield a file's bytes and remove it once read (or once the client goes away)."""
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(size):
                yield chunk
    finally:
        os.unlink(path)
