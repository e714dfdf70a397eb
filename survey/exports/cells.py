"""Make one value safe for a spreadsheet cell: no formulas.

Free text is masked before it gets here (``survey.masking.for_viewer``, in tables.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

# A text cell starting with one of these is read as a formula by Excel, LibreOffice or
# Google Sheets (OWASP "CSV injection"); a leading apostrophe makes it plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | None


def safe(value: Any) -> Cell:
    """Return a cell value: numbers as numbers, text escaped against formula injection."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
