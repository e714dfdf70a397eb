"""Pseudonyms for contact details past retention: a keyed HMAC, with the key outside the database.

A plain hash of a phone number is reversible by enumeration (China's mobile numbers
are a few billion: minutes of work), so a retained address is kept as
``hmac:<HMAC-SHA256(key, kind:value)>`` with ``SURVEY_RETENTION_KEY`` from the
environment or instance/config.py. Whoever holds only the database cannot tell whose
it was; we, given the same number again, compute the same pseudonym and find the row,
with its opt-outs (survey/addresses.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from flask import current_app

PREFIX = "hmac:"
# Long enough that guessing the key is no shorter a way than the enumeration it prevents.
MIN_KEY_LENGTH = 32
KEY_SETTING = "SURVEY_RETENTION_KEY"

# Contact details inside free text (audit details, provider errors): e-mail addresses,
# phone numbers in E.164 and mainland mobile numbers as typed. Stricter than the export's
# mask, which would also take a date like 2026-10-01 for a phone number.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
E164 = re.compile(r"\+[1-9]\d{7,14}(?!\d)")
# Not inside a longer run of letters and digits: a pseudonym's hex may hold eleven digits.
MAINLAND_MOBILE = re.compile(r"(?<![0-9A-Za-z+])1[3-9]\d{9}(?![0-9A-Za-z])")


class KeyMissing(RuntimeError):
    """SURVEY_RETENTION_KEY is not set (or too short): nothing can be pseudonymised."""


def key() -> bytes | None:
    """Return the retention key, or None when it is not configured."""
    raw = current_app.config.get(KEY_SETTING)
    if not raw:
        return None
    return str(raw).encode()


def require_key() -> bytes:
    """Return the retention key; raise ``KeyMissing`` when it is absent or too short."""
    found = key()
    if found is None or len(found) < MIN_KEY_LENGTH:
        raise KeyMissing(KEY_SETTING)
    return found


def is_pseudonym(value: str | None) -> bool:
    """Whether a stored value is a pseudonym rather than the contact detail itself."""
    return bool(value) and str(value).startswith(PREFIX)


def normalise(kind: str, value: str) -> str:
    """The form an address is stored and keyed in: E.164 phones as they are, e-mail lower-case."""
    value = value.strip()
    return value.lower() if kind == "email" else value


def pseudonym(kind: str, value: str, secret: bytes | None = None) -> str | None:
    """Return ``hmac:<hex>`` for an address of a kind, or None without a key.

    A value that is a pseudonym already is returned as it is, so scrubbing twice
    changes nothing.
    """
    if is_pseudonym(value):
        return value
    secret = secret if secret is not None else key()
    if secret is None:
        return None
    message = f"{kind}:{normalise(kind, value)}".encode()
    return PREFIX + hmac.new(secret, message, hashlib.sha256).hexdigest()


def keyed_digest(digest: str, secret: bytes | None = None) -> str | None:
    """Return a replay digest re-keyed (it hashes a body with the customer's details in it).

    Kept within the column's 64 characters: the prefix and 236 bits of the HMAC.
    """
    if is_pseudonym(digest):
        return digest
    secret = secret if secret is not None else key()
    if secret is None:
        return None
    mac = hmac.new(secret, f"digest:{digest}".encode(), hashlib.sha256).hexdigest()
    return (PREFIX + mac)[:64]


def scrub_text(text: str, secret: bytes) -> str:
    """Replace every e-mail address and phone number in free text with its pseudonym."""
    text = EMAIL.sub(lambda m: pseudonym("email", m.group(), secret) or "", text)
    text = E164.sub(lambda m: pseudonym("phone", m.group(), secret) or "", text)
    return MAINLAND_MOBILE.sub(lambda m: pseudonym("phone", "+86" + m.group(), secret) or "", text)


def scrub_json(value: Any, secret: bytes) -> Any:
    """Return a JSON value with every string (keys too) passed through ``scrub_text``."""
    if isinstance(value, str):
        return scrub_text(value, secret)
    if isinstance(value, list):
        return [scrub_json(item, secret) for item in value]
    if isinstance(value, dict):
        return {scrub_text(str(k), secret): scrub_json(v, secret) for k, v in value.items()}
    return value
