"""Read what customers type by SMS and press on a keypad, as answers, skips or keywords.

Pure functions: no Flask, no database. Inbound text is hostile (any script, NUL and
control characters, lone surrogates, 10,000 characters), so nothing here raises on any
string; a reply that cannot be read is ``invalid`` and the caller re-asks.

What an SMS reply may be, after :func:`normalise` (so fullwidth ``５`` is ``5`` and
``ＳＫＩＰ`` is ``SKIP``), any case, with trailing sentence punctuation (``. , ! ? ; : ~ 。 、``,
and their fullwidth forms) ignored:

- a number on a scale (``rating_5`` 1-5, ``nps_0_10`` 0-10, ``ces_7`` 1-7): one or two
  ASCII digits (``5``, ``05``, ``10``), one Chinese numeral (零〇○ 一壹 二贰貳两兩 三叁參 四肆
  五伍 六陆陸 七柒 八捌 九玖 十拾), or an English number word (``zero`` … ``ten``), each
  optionally followed by ``分`` (``5分``, ``5 分``, ``五分``). Nothing else: no ``5/5``, no
  ``5 or 4``, no ``55``, no ``5.0``, no other scripts' digits — a guess would put a score
  in the bank's figures that the customer did not give;
- yes/no: ``1`` or ``2`` (as our SMS texts say: 1 yes, 2 no), ``yes``/``y``/``no``/``n``,
  是 是的 对 对的 對 (yes), 否 不 不是 不对 不對 没有 沒有 (no);
- a single choice: its number as the message lists it (1 … n, digits or a Chinese
  numeral), else its label in Chinese or English or its value code, compared normalised
  and without case;
- a skip word (跳过 跳過 ``skip`` ``pass``) — never ``N``, which means no;
- for a text question, the reply itself as the comment.

Keywords (STOP, START, HELP and their synonyms) are the caller's first check, with
:func:`keyword`, before a reply is read as an answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

KeywordKind = Literal["stop", "start", "help"]

# Twilio's own opt-out, opt-in and help words, plus TD and 退订, which Chinese carriers use.
KEYWORDS: dict[str, KeywordKind] = {
    **dict.fromkeys(
        (
            "stop",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "td",
            "退订",
        ),
        "stop",
    ),
    **dict.fromkeys(("start", "unstop", "yes"), "start"),
    **dict.fromkeys(("help", "info"), "help"),
}

SCALES: dict[str, range] = {
    "rating_5": range(1, 6),
    "nps_0_10": range(0, 11),
    "ces_7": range(1, 8),
}
KINDS = (*SCALES, "yes_no", "single_choice", "text")

# The longest comment we keep, as the web form does (respond/service.py MAX_TEXT).
MAX_TEXT = 2000

# Sentence punctuation a reply may end with; fullwidth forms are folded to these by NFKC.
TRAILING = ".,!?;:~。、"

CHINESE_NUMERALS: dict[str, int] = {
    **dict.fromkeys("零〇○", 0),
    **dict.fromkeys("一壹", 1),
    **dict.fromkeys("二贰貳两兩", 2),
    **dict.fromkeys("三叁參", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆陸", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
    **dict.fromkeys("十拾", 10),
}
ENGLISH_NUMBERS: dict[str, int] = {
    word: n
    for n, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    )
}

YES_NO: dict[str, int] = {
    **dict.fromkeys(("1", "yes", "y", "是", "是的", "对", "对的", "對"), 1),
    **dict.fromkeys(("2", "no", "n", "否", "不", "不是", "不对", "不對", "没有", "沒有"), 0),
}

SKIP_WORDS = frozenset(("跳过", "跳過", "skip", "pass"))

# re.ASCII so that \d and \s do not accept other scripts' digits (int("٥") is 5).
_DIGITS = re.compile(r"[0-9]{1,2}", re.ASCII)
# A score may end in 分 ("points"), with or without a space before it.
_POINTS = re.compile(r"\s*分$")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")

# Joiners that shape emoji and some scripts: kept in comments, harmless on their own.
_JOINERS = frozenset("\u200c\u200d")


def _printable(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Return ``text`` with surrogates, control and format characters removed, spaces kept.

    Whitespace controls (tab, newline, the file/group separators that ``str.isspace``
    counts) become one space, so "5\\t分" still reads as "5 分"; characters in ``keep``
    stay as they are.
    """
    out = []
    for char in text:
        if char in keep:
            out.append(char)
        elif char.isspace():
            out.append(" ")
        elif unicodedata.category(char) not in ("Cc", "Cf", "Cs"):
            out.append(char)
    return "".join(out)


def normalise(text: str) -> str:
    """Return ``text`` folded for matching: NFKC, no control characters, spaces collapsed.

    NFKC turns fullwidth ``５`` into ``5`` and ``ＳＴＯＰ`` into ``STOP``, and U+3000 into a
    space. Control and format characters (NUL, bidi overrides, zero-width spaces) and lone
    surrogates are dropped before folding, so they cannot split or join what NFKC sees.
    Runs of whitespace become one space; the ends are stripped. Case is kept.
    """
    folded = unicodedata.normalize("NFKC", _printable(text))
    return " ".join(folded.split())


def _trimmed(text: str) -> str:
    """Return the normalised text without trailing sentence punctuation or spaces."""
    return normalise(text).rstrip(TRAILING + " ")


def keyword(text: str) -> KeywordKind | None:
    """Return the keyword the whole message is, or None when it is anything else.

    The message must be one keyword and nothing more, in any case and any width,
    surrounding spaces (U+3000 too) and trailing punctuation ignored: ``STOP``,
    `` ｓｔｏｐ！``, ``退订。`` are stop; ``please stop calling me`` and ``STOP ALL`` are
    None, so that a sentence mentioning a word is never mistaken for a request.

    ``yes`` is start: the caller honours it only for an opted-out number and otherwise
    reads it as an answer with :func:`parse_sms_answer`.
    """
    return KEYWORDS.get(_trimmed(text).casefold())


@dataclass(frozen=True)
class Reply:
    """One SMS reply read against one question.

    ``value`` is an int for scales and yes/no (1 yes, 0 no), the choice's value code for a
    single choice, the cleaned comment for text, and None unless ``state`` is ``answer``.
    """

    state: Literal["answer", "skip", "invalid"]
    value: int | str | None = None


INVALID = Reply("invalid")


def _number(text: str) -> int | None:
    """Return the number a trimmed, case-folded reply spells, or None.

    One or two ASCII digits, one Chinese numeral or one English number word, optionally
    followed by 分.
    """
    text = _POINTS.sub("", text)
    if _DIGITS.fullmatch(text):
        return int(text)
    if text in CHINESE_NUMERALS:
        return CHINESE_NUMERALS[text]
    return ENGLISH_NUMBERS.get(text)


def _comment(text: str) -> str:
    """Return a text reply as a comment: printable, NFKC, line breaks kept, at most MAX_TEXT.

    Line breaks are the customer's paragraphs, so they stay (CR LF and CR become LF, at
    most one blank line in a row); other whitespace in a line collapses to one space.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    # Split into lines first: _printable turns the newlines it sees into spaces.
    kept = [_printable(line, keep=_JOINERS) for line in lines.split("\n")]
    folded = unicodedata.normalize("NFKC", "\n".join(kept))
    # NFKC never makes a newline, but it can make spaces (U+3000) to collapse.
    folded = "\n".join(_HORIZONTAL_SPACE.sub(" ", line).strip() for line in folded.split("\n"))
    folded = _BLANK_LINES.sub("\n\n", folded).strip()
    return folded[:MAX_TEXT].rstrip()


def _choice(text: str, choices: Sequence[tuple[str, str, str]]) -> str | None:
    """Return the value code of the choice a trimmed, case-folded reply names, or None.

    Its number comes first, because that is what the message tells the customer to type
    (a label that is itself a number cannot steal it); then the labels and value codes.
    A reply naming two different choices names none.
    """
    number = _number(text)
    if number is not None:
        return choices[number - 1][0] if 1 <= number <= len(choices) else None
    named = {
        value
        for value, label_zh, label_en in choices
        for name in (label_zh, label_en, value)
        if name and _trimmed(name).casefold() == text
    }
    return named.pop() if len(named) == 1 else None


def parse_sms_answer(
    kind: str,
    text: str,
    choices: Sequence[tuple[str, str, str]] = (),
    required: bool = True,
) -> Reply:
    """Read one SMS reply as the answer to a question of ``kind``.

    ``kind`` is one of rating_5 (1-5), nps_0_10 (0-10), ces_7 (1-7), yes_no,
    single_choice, text; ``choices`` are (value, label_zh, label_en), numbered from 1 in
    order. What is accepted is listed in this module's docstring. A skip word, or an empty
    text reply, is ``skip`` when the question is not required and ``invalid`` when it is;
    an empty reply to any other kind, an out-of-range number ("6" on rating_5, "0" on
    rating_5, "11" on NPS) and anything unreadable ("good", "5 or 4", "55") are
    ``invalid``. Raises ValueError only for an unknown ``kind``, a programming error.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown question kind {kind!r}")
    said = _trimmed(text).casefold()
    if kind == "single_choice":
        # A choice labelled like a skip word ("Pass") is what the designer asked for.
        value = _choice(said, choices) if said else None
        if value is not None:
            return Reply("answer", value)
    if said in SKIP_WORDS:
        return INVALID if required else Reply("skip")
    if kind == "text":
        # Judged on the comment itself, so "?!" is a comment, not an empty reply.
        comment = _comment(text)
        if comment:
            return Reply("answer", comment)
        return INVALID if required else Reply("skip")
    if kind == "yes_no":
        answer = YES_NO.get(said)
        return INVALID if answer is None else Reply("answer", answer)
    if kind in SCALES:
        number = _number(said)
        return Reply("answer", number) if number in SCALES[kind] else INVALID
    return INVALID


@dataclass(frozen=True)
class Keypad:
    """One keypad entry read against one voice question.

    ``value`` is an int (the score, 1 yes / 0 no, or the choice's 1-based position) when
    ``state`` is ``answer``, and None otherwise.
    """

    state: Literal["answer", "skip", "silence", "invalid", "stop"]
    value: int | str | None = None


def parse_keypad(
    kind: str,
    digits: str | None,
    finished_on_key: str | None = None,
    n_choices: int = 0,
    required: bool = True,
) -> Keypad:
    """Read the keys pressed at one ``<Gather input="dtmf">`` as Twilio posts them.

    ``digits`` is Twilio's ``Digits``, ``finished_on_key`` its ``FinishedOnKey`` (an empty
    string, as Twilio sends on a timeout, counts as none). In order:

    - ``*`` anywhere, or as the finishing key, is ``stop``: the call script says star
      stops calls at any time, so it wins over any digits pressed with it;
    - no digits (trailing ``#`` aside) after ``#`` was pressed is a deliberate skip:
      ``skip`` when the question is not required, ``invalid`` when it is;
    - no digits and no key at all is ``silence``;
    - otherwise one or two digits, a trailing ``#`` tolerated, read as a number — so a
      leading zero is ignored ("05" and "5" are 5, "00" is 0, uniformly for every kind,
      because nothing else could have been meant) — in range for the kind: rating_5 1-5,
      ces_7 1-7, nps_0_10 0-10, yes_no 1 (value 1) or 2 (value 0), single_choice
      1..``n_choices`` (value the position). Anything else, and any text question (a
      keypad cannot type a comment), is ``invalid``.

    Never raises on any ``digits``; raises ValueError only for an unknown ``kind``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown question kind {kind!r}")
    pressed = (digits or "").strip()
    finished = finished_on_key or ""
    if "*" in pressed or "*" in finished:
        return Keypad("stop")
    # Twilio leaves the finishing # out of Digits; the outbox may post it in.
    number = pressed.rstrip("#")
    if not number:
        if "#" in finished or pressed:
            return Keypad("invalid") if required else Keypad("skip")
        return Keypad("silence")
    if kind == "text" or not _DIGITS.fullmatch(number):
        return Keypad("invalid")
    value = int(number)
    if kind == "yes_no":
        return Keypad("answer", {1: 1, 2: 0}[value]) if value in (1, 2) else Keypad("invalid")
    allowed = range(1, n_choices + 1) if kind == "single_choice" else SCALES[kind]
    return Keypad("answer", value) if value in allowed else Keypad("invalid")


def storable(text: str | None, limit: int = MAX_TEXT) -> str:
    """What of a hostile text we keep as received: no NUL or lone surrogates, capped.

    PostgreSQL refuses NUL in text and UTF-8 cannot carry a lone surrogate; the
    rest (any script, emoji, markup) is kept as it came, for the record.
    """
    cleaned = (text or "").replace("\x00", "")
    return cleaned.encode("utf-8", "replace").decode("utf-8")[:limit]
