"""The report as a PDF: the same page, rendered by WeasyPrint with a CJK font from Debian.

WeasyPrint draws the HTML and its inline SVG charts itself (vector, no browser): the
report's fonts are Debian's ``fonts-wqy-microhei`` (or ``fonts-noto-cjk``), found
through fontconfig; without one, Chinese would come out as boxes, so ``cjk_font`` says
which one is there and the CLI refuses to write a Chinese PDF without one.
"""

from __future__ import annotations

import shutil
import subprocess

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup

from survey.dashboard.filters import CATEGORY_LABELS, CAUSE_LABELS, CHANNEL_LABELS
from survey.report.build import Report
from survey.report.sentences import commitment_name

CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC")


def cjk_font() -> str | None:
    """Return the CJK font family fontconfig has, or None."""
    if shutil.which("fc-list") is None:
        return None
    listed = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout
    for family in CJK_FAMILIES:
        if family in listed:
            return family
    return None


def context() -> dict:
    """What the report's body needs besides the report: names of codes, in the page's language."""
    return {
        "labels": {
            "channel": {k: str(v) for k, v in CHANNEL_LABELS.items()},
            "survey_channel": {"sms": _("SMS"), "email": _("E-mail"), "voice": _("Voice call")},
            "category": {k: str(v) for k, v in CATEGORY_LABELS.items()},
            "cause": {k: str(v) for k, v in CAUSE_LABELS.items()},
        },
        "commitment_name": commitment_name,
    }


def html(report: Report) -> str:
    """The report's standalone HTML, with the print stylesheet (A4, a section a page)."""
    header = f"{report.bank_name} · {report.title}"
    return render_template(
        "report/print.html",
        r=report,
        **context(),
        page_header=Markup(css_string(header)),
    )


def css_string(text: str) -> str:
    """Quote text as a CSS string (the page header's ``content``), safe inside a style element.

    CSS escapes are a backslash and hex digits, not JSON's \\uXXXX; characters that could
    end the string, the declaration or the style element are escaped, the rest kept as is.
    """
    escaped = "".join(
        f"\\{ord(ch):x} " if ch in '"\\<>\n\r\f' or ord(ch) < 0x20 else ch for ch in text
    )
    return f'"{escaped}"'


def render(report: Report) -> bytes:
    """Render the report to PDF bytes."""
    from weasyprint import HTML  # imported here: it loads Pango, which only this needs

    return HTML(string=html(report)).write_pdf()
