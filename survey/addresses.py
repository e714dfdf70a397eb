"""The one way to find a stored address by what it is: a phone number or an e-mail address.

Past retention an address keeps its row (and its opt-outs) but its value is a
pseudonym (survey/pseudonyms.py). Every lookup by value therefore asks for the
value and for its pseudonym; a row found by its pseudonym gets its value back,
since whoever gave it to us again (a new interaction, a STOP) is a customer again,
and whatever refusal the row carries still holds.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from survey import pseudonyms
from survey.extensions import db
from survey.models import Address


def find_addresses(wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Address]:
    """Return the stored addresses of (kind, normalised value) pairs, in one query.

    A row found by its pseudonym has its value restored (in the session: the caller
    commits). A pseudonym passed as the value (an old delivery's address) finds its
    row as it is.
    """
    pairs = list(dict.fromkeys(wanted))
    if not pairs:
        return {}
    secret = pseudonyms.key()
    lookups: dict[tuple[str, str], tuple[str, str]] = {}
    for kind, value in pairs:
        lookups[(kind, value)] = (kind, value)
        alias = pseudonyms.pseudonym(kind, value, secret) if secret else None
        if alias is not None and alias != value:
            lookups.setdefault((kind, alias), (kind, value))
    rows = db.session.scalars(
        sa.select(Address).where(
            sa.or_(*(sa.and_(Address.kind == k, Address.value == v) for k, v in lookups))
        )
    )
    found: dict[tuple[str, str], Address] = {}
    retained: dict[tuple[str, str], Address] = {}
    for row in rows:
        asked = lookups[(row.kind, row.value)]
        if (row.kind, row.value) == asked:
            found[asked] = row
        else:
            retained[asked] = row
    for asked, row in retained.items():
        # Both rows exist only if the address came back while the key was missing; the
        # plain one serves, and the next retention run merges the two (retention.py).
        if asked not in found:
            row.value = asked[1]
            found[asked] = row
    return found


def find_address(kind: str, value: str) -> Address | None:
    """Return the stored address of a kind and normalised value (or its pseudonym), or None."""
    return find_addresses([(kind, value)]).get((kind, value))


def stored_forms(kind: str, value: str) -> list[str]:
    """Return the forms a value may be stored in on old rows: itself and its pseudonym.

    For lookups of other rows by address (deliveries to this number), which are
    pseudonymised in place and never restored.
    """
    alias = pseudonyms.pseudonym(kind, value)
    return [value] if alias is None or alias == value else [value, alias]
