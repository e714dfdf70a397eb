"""Where a customer can be reached on each survey channel, respecting opt-outs.

Both the decision (when an interaction arrives) and the send (when the
invitation is due) ask here, so an opt-out that arrives in between still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from survey import pseudonyms
from survey.extensions import db
from survey.models import Address, Customer, OptOut

# The kind of address each survey channel needs.
ADDRESS_KIND = {"sms": "phone", "voice": "phone", "email": "email"}


@dataclass(frozen=True)
class Refusals:
    """What stands between us and a customer: their own refusal, and refused addresses."""

    customer: bool
    address_ids: frozenset[int]


def _refusals_statement(own: bool, by_address: bool) -> sa.Select | sa.CompoundSelect:
    """Build the opt-out query for one shape of customer (built once per shape, run bound)."""
    probes = []
    if own:
        probes.append(
            sa.select(sa.literal(True).label("own"), OptOut.address_id)
            .where(OptOut.customer_id == sa.bindparam("customer_id"), OptOut.revoked_at.is_(None))
            .limit(1)
        )
    if by_address:
        probes.append(
            sa.select(sa.literal(False).label("own"), OptOut.address_id).where(
                OptOut.address_id.in_(sa.bindparam("address_ids", expanding=True)),
                OptOut.revoked_at.is_(None),
            )
        )
    if len(probes) == 1:
        return probes[0]
    return sa.union_all(*(p.subquery().select() for p in probes))


def refusals_statement(own: bool, by_address: bool) -> sa.Select | sa.CompoundSelect:
    """The opt-out query for one shape of customer, for a caller that runs it with others."""
    return _REFUSALS[(own, by_address)]


_REFUSALS = {
    (own, by_address): _refusals_statement(own, by_address)
    for own in (False, True)
    for by_address in (False, True)
    if own or by_address
}


def refusals(customer: Customer) -> Refusals:
    """Read the customer's live opt-outs and those of their addresses, in one query.

    Two indexed probes (opt-outs by customer, by address) joined by UNION ALL: an OR of
    the two would make the database read every opt-out. A customer not stored yet (the
    decision comes before the write) has none of their own; a null id compared here
    would match every opt-out of an address alone.
    """
    address_ids = [a.id for a in customer.addresses if a.id is not None]
    shape = (customer.id is not None, bool(address_ids))
    if not any(shape):
        return Refusals(False, frozenset())
    own = False
    blocked: set[int] = set()
    rows = db.session.execute(
        _REFUSALS[shape], {"customer_id": customer.id, "address_ids": address_ids}
    )
    for is_own, address_id in rows:
        own = own or bool(is_own)
        if not is_own and address_id is not None:
            blocked.add(address_id)
    return Refusals(own, frozenset(blocked))


def customer_opted_out(customer: Customer) -> bool:
    """Whether the customer has refused every survey (STOP on any channel does this)."""
    return refusals(customer).customer


def opted_out_address_ids(customer: Customer) -> set[int]:
    """Return the ids of the customer's addresses that someone opted out (for every record)."""
    return set(refusals(customer).address_ids)


def _reachable(customer: Customer) -> list[Address]:
    """The customer's addresses we still know: one past retention is only a pseudonym."""
    return [a for a in customer.addresses if not pseudonyms.is_pseudonym(a.value)]


def address_for(
    customer: Customer, channel: str, blocked: set[int] | frozenset[int] | None = None
) -> Address | None:
    """Return the newest address on which the customer may be reached on a survey channel."""
    kind = ADDRESS_KIND.get(channel)
    blocked = opted_out_address_ids(customer) if blocked is None else blocked
    usable = [a for a in _reachable(customer) if a.kind == kind and a.id not in blocked]
    # One added by the interaction being decided has no id yet, and is the newest.
    return max(usable, key=lambda a: (a.id is None, a.id or 0)) if usable else None


def channels_with_address(customer: Customer, channels: list[str]) -> list[str]:
    """Keep the channels, in order, on which the customer has any address at all."""
    kinds = {a.kind for a in _reachable(customer)}
    return [c for c in channels if ADDRESS_KIND.get(c) in kinds]


def reachable_channels(
    customer: Customer, channels: list[str], blocked: set[int] | frozenset[int] | None = None
) -> list[str]:
    """Keep the channels, in order, on which the customer has an address nobody opted out."""
    blocked = opted_out_address_ids(customer) if blocked is None else blocked
    return [c for c in channels if address_for(customer, c, blocked) is not None]
