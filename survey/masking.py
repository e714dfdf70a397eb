"""Hide the card numbers, resident ID numbers, phone numbers and e-mail addresses in free text.

Customers type all sorts into a comment box: "我的卡号6222 0212 3456 7897被扣了两次",
"请回电13800138000". Staff read comments on pages and in exports, so these are masked
there (DESIGN.md, issue 13), leaving the last four digits as a hint. What is masked:

- a card number: a Luhn-valid run of 13–19 digits, whole (a longer run is not a card);
- a Chinese resident ID number: 17 digits and a check digit 0–9 or X per GB 11643
  (ISO 7064 MOD 11-2), with a real birth date (1900–2099) in digits 7–14;
- a phone number: a mainland mobile (1[3-9] and 9 more digits, optionally after +86 or
  0086), a landline with its area code (0 + 9–11 digits, or +86 without the 0), or any
  international number written E.164-style with a leading + (8–15 digits);
- an e-mail address (whole).

A number may be written in groups of two or more digits separated by one space, dash or
dot ("6222 0212 3456 7897", "138-0013-8000", "(010) 6552 8888", "+1 415 555 2671"). The groups of a run are
tried as a whole and in consecutive parts, longest first, so two numbers written next to
each other are each found.

Decisions, each with a test:

- Full-width digits (０-９, typed by Chinese input methods) count as digits and are
  masked like ASCII ones; other scripts' digits are left alone.
- Digits glued to Chinese or Latin letters are still a number ("卡号6222…谢谢").
- Ordinary numbers stay: a score ("5 分"), a date ("2026年12月6日", "2026-12-06"), an
  amount ("1000元"), a short order number, a run longer than 19 digits.
- The work is linear in the text's length: each group is tried against at most the
  groups that fit in 19 digits after it.
"""

from __future__ import annotations

import re
from datetime import date

# Full-width forms a Chinese keyboard produces, to their ASCII twins: one code point each,
# so positions in the folded text are positions in the original.
_FOLD = str.maketrans(
    "０１２３４５６７８９＋－（）　Ｘｘx．",
    "0123456789+-() XXX.",
)
_RUN = re.compile(r"[0-9]+", re.ASCII)
# What may stand between two groups of one number.
_GAP = re.compile(r"[ .\-]|\) ?|\)-", re.ASCII)
_DIGIT = re.compile(r"[0-9０-９]")
# Starts only where a run of address characters starts: linear on a long run of them.
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
MASK = "*"
# An address is hidden whole: its domain may name the customer's employer.
EMAIL_MASK = "***"
HINT_DIGITS = 4
LONGEST = 19
# The shortest number masked: an E.164 number of 8 digits.
SHORTEST = 8

# Luhn doubles every second digit from the right, summing the digits of the product.
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECKS = "10X98765432"
_MOBILE = re.compile(r"(?:86|0086)?1[3-9][0-9]{9}", re.ASCII)
_LANDLINE = re.compile(r"0[1-9][0-9]{8,10}|86[1-9][0-9]{8,10}|0086[1-9][0-9]{8,10}", re.ASCII)


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn check (ISO/IEC 7812)."""
    total = sum(map(int, digits[-1::-2])) + sum(_DOUBLED[int(c)] for c in digits[-2::-2])
    return total % 10 == 0


def resident_id_valid(text: str) -> bool:
    """Whether 18 characters are a Chinese resident ID number: check character and birth date."""
    if len(text) != 18 or not text[:17].isascii() or not text[:17].isdigit():
        return False
    if text[0] == "0":
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECKS[total % 11] != text[17].upper():
        return False
    year, month, day = int(text[6:10]), int(text[10:12]), int(text[12:14])
    if not 1900 <= year <= 2099:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _is_phone(digits: str, plus: bool) -> bool:
    if plus:
        # E.164: a country code that does not start with 0, 8 to 15 digits in all.
        return digits[0] != "0" and 8 <= len(digits) <= 15
    return bool(_MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits))


def _is_sensitive(digits: str, plus: bool) -> bool:
    if len(digits) == 18 and resident_id_valid(digits):
        return True
    if _is_phone(digits, plus):
        return True
    return 13 <= len(digits) <= LONGEST and not plus and luhn_valid(digits)


def sensitive_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) of each card, resident ID and phone number in the text."""
    folded = text.translate(_FOLD)
    runs = [(m.start(), m.end()) for m in _RUN.finditer(folded)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        found = _longest_from(folded, runs, i)
        if found is None:
            i += 1
            continue
        last, start, end = found
        spans.append((start, end))
        i = last + 1
    return spans


def _longest_from(folded: str, runs: list[tuple[int, int]], i: int) -> tuple[int, int, int] | None:
    """The longest number starting at group i: (its last group, start, end), or None."""
    start = runs[i][0]
    if start > 0 and folded[start - 1] == "(":
        start -= 1
    plus = start > 0 and folded[start - 1] == "+"
    if plus:
        start -= 1
    # joined[k]: the digits of groups i..i+k, each a prefix of the next.
    joined = [folded[runs[i][0] : runs[i][1]]]
    j = i
    while j + 1 < len(runs) and len(joined[-1]) + runs[j + 1][1] - runs[j + 1][0] <= LONGEST:
        if not _GAP.fullmatch(folded, runs[j][1], runs[j + 1][0]):
            break
        if runs[j + 1][1] - runs[j + 1][0] < 2:  # "3 4 5 6": counts, not a number in groups
            break
        j += 1
        joined.append(joined[-1] + folded[runs[j][0] : runs[j][1]])
    # Longest first: a card written in four groups is one number, not a phone and a rest.
    for k in range(len(joined) - 1, -1, -1):
        digits = joined[k]
        if len(digits) < SHORTEST or len(digits) > LONGEST:
            continue
        end = runs[i + k][1]
        x_follows = len(digits) == 17 and end < len(folded) and folded[end] == "X"
        if x_follows and resident_id_valid(digits + "X"):
            return i + k, start, end + 1
        if _is_sensitive(digits, plus):
            return i + k, start, end
    return None


def _hide(number: str) -> str:
    """Replace every digit but the last four with *, keeping the separators and a +."""
    positions = [k for k, char in enumerate(number) if _DIGIT.match(char) or char in "XxＸｘ"]
    hidden = set(positions[:-HINT_DIGITS])
    return "".join(MASK if k in hidden else char for k, char in enumerate(number))


def mask(text: str) -> str:
    """Return the text with card, resident ID and phone numbers and e-mail addresses masked.

    A masked number keeps its last four digits and its separators
    ("6222 0212 3456 7897" becomes "**** **** **** 7897"); an e-mail address becomes ***. Everything else is left exactly as it was.
    """
    if not text:
        return text
    parts: list[str] = []
    done = 0
    for start, end in sensitive_spans(text):
        parts.append(text[done:start])
        parts.append(_hide(text[start:end]))
        done = end
    parts.append(text[done:])
    return EMAIL.sub(EMAIL_MASK, "".join(parts))


def for_viewer(text: str | None, unmasked: bool = False) -> str | None:
    """The one decision on what a staff member sees of a comment: masked unless ``unmasked``.

    Only a follow-up case's owner may read a comment unmasked (issue 13); every page and
    export calls this, so that rule is wired in one place.
    """
    if text is None or unmasked:
        return text
    return mask(text)
