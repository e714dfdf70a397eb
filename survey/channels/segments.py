"""How many SMS segments a message costs: GSM-7 or UCS-2, single or concatenated.

A message that fits the GSM 03.38 alphabet is sent in GSM-7: 160 characters in
one segment, 153 per segment once it is split (the rest carries the joining
header). Characters of the extension table (``^{}\\[~]|€`` and form feed) take
an escape plus the character, so they count twice. Any other character —
every Chinese character, every emoji — makes the whole message UCS-2: 70 code
units in one segment, 67 per segment once split, where a character outside the
Basic Multilingual Plane (most emoji) is a surrogate pair of two units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    """What a message costs: its encoding, its length in that encoding, and its segments."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int  # how many units each segment of this message holds

    @property
    def remaining(self) -> int:
        """Units left before the message needs another segment."""
        return self.segments * self.per_segment - self.units


def is_gsm7(text: str) -> bool:
    """Whether every character of the text is in the GSM-7 alphabet or its extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def count(text: str) -> SegmentCount:
    """Count the segments an SMS with this text is sent in."""
    if is_gsm7(text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = GSM7_SINGLE, GSM7_MULTI, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = UCS2_SINGLE, UCS2_MULTI, "UCS-2"
    if units <= single:
        return SegmentCount(encoding, units, 1 if units else 0, single)
    return SegmentCount(encoding, units, math.ceil(units / multi), multi)


def total_segments(messages: list[str]) -> int:
    """The cost in segments of a conversation: the sum over its messages."""
    return sum(count(m).segments for m in messages)
