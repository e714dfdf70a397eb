"""Where a customer can be reached on each survey channel, respecting opt-outs.

Both the decision (when an interaction arrives) and the send (when the
invitation is due) ask here, so an opt-out that arrives in between still holds.
"""

from __future__ import annotations

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Address, Customer, OptOut

# The kind of address each survey channel needs.
ADDRESS_KIND = {"sms": "phone", "voice": "phone", "email": "email"}


def customer_opted_out(customer: Customer) -> bool:
    """Whether the customer has refused every survey (STOP on any channel does this)."""
    if customer.id is None:
        # Not stored yet (the decision comes before the write): comparing a null id would
        # match every opt-out of an address alone.
        return False
    return bool(
        db.session.scalar(
            sa.select(OptOut.id)
            .where(OptOut.customer_id == customer.id, OptOut.revoked_at.is_(None))
            .limit(1)
        )
    )


def opted_out_address_ids(customer: Customer) -> set[int]:
    """Return the ids of the customer's addresses that someone opted out (for every record)."""
    ids = [a.id for a in customer.addresses]
    if not ids:
        return set()
    rows = db.session.scalars(
        sa.select(OptOut.address_id).where(OptOut.address_id.in_(ids), OptOut.revoked_at.is_(None))
    )
    return {row for row in rows if row is not None}


def address_for(
    customer: Customer, channel: str, blocked: set[int] | None = None
) -> Address | None:
    """Return the newest address on which the customer may be reached on a survey channel."""
    kind = ADDRESS_KIND.get(channel)
    blocked = opted_out_address_ids(customer) if blocked is None else blocked
    usable = [a for a in customer.addresses if a.kind == kind and a.id not in blocked]
    # One added by the interaction being decided has no id yet, and is the newest.
    return max(usable, key=lambda a: (a.id is None, a.id or 0)) if usable else None


def channels_with_address(customer: Customer, channels: list[str]) -> list[str]:
    """Keep the channels, in order, on which the customer has any address at all."""
    kinds = {a.kind for a in customer.addresses}
    return [c for c in channels if ADDRESS_KIND.get(c) in kinds]


def reachable_channels(customer: Customer, channels: list[str]) -> list[str]:
    """Keep the channels, in order, on which the customer has an address nobody opted out."""
    blocked = opted_out_address_ids(customer)
    return [c for c in channels if address_for(customer, c, blocked) is not None]
