"""Make one value safe for a spreadsheet cell: no formulas, no contact details."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

# A text cell starting with one of these is read as a formula by Excel, LibreOffice or
# Google Sheets (OWASP "CSV injection"); a leading apostrophe makes it plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, allowing the separators people type in phone numbers.
PHONE = re.compile(r"\+?\d(?:[\d\s().-]{5,}\d)")
MASK = "***"

Cell = str | int | float | None


def mask_contacts(text: str) -> str:
    """Hide e-mail addresses and phone numbers a customer typed into a free-text answer."""
    text = EMAIL.sub(MASK, text)
    return PHONE.sub(
        lambda m: MASK if sum(c.isdigit() for c in m.group()) >= 7 else m.group(), text
    )


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
