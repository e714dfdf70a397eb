"""What every CSV import shares: reading the bytes a person uploaded as text."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class FileProblem(ValueError):
    """The file as a whole cannot be imported; the message says why."""


def decode(data: bytes) -> str:
    """Return an uploaded CSV file as text, or raise FileProblem.

    Excel writes UTF-8 with a byte-order mark, or GB18030 on Chinese Windows; UTF-8 is tried first.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem(_l("The file is not text in UTF-8 or GB18030."))
