"""Opting out through the link in a survey message (and the RFC 8058 one-click POST).

The unsubscribe token keeps working after the survey is answered or closed:
a customer may decide later that they want no more surveys.
"""

from __future__ import annotations

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import Address, Invitation, OptOut

# The address kind each survey channel reaches.
ADDRESS_KIND = {"sms": "phone", "voice": "phone", "email": "email"}


def is_opted_out(invitation: Invitation) -> bool:
    """Whether the invitation's customer has a standing opt-out."""
    return (
        db.session.scalar(
            sa.select(OptOut.id).where(
                OptOut.customer_id == invitation.customer_id, OptOut.revoked_at.is_(None)
            )
        )
        is not None
    )


def addresses_of(invitation: Invitation) -> list[Address]:
    """Return the addresses the invitation went to, or the customer's when none was sent yet."""
    found: dict[int, Address] = {}
    for delivery in invitation.deliveries:
        kind = ADDRESS_KIND.get(delivery.channel)
        address = db.session.scalar(
            sa.select(Address).where(Address.kind == kind, Address.value == delivery.address)
        )
        if address is not None:
            found[address.id] = address
    if not found:
        found = {address.id: address for address in invitation.customer.addresses}
    return list(found.values())


def unsubscribe(invitation: Invitation, method: str = "link") -> int:
    """Opt the customer and each of the invitation's addresses out; commit; return new opt-outs.

    Repeating it changes nothing: a standing opt-out is not recorded twice.
    """
    source = f"invitation:{invitation.id}"
    now = clock.now()
    created = 0
    if not is_opted_out(invitation):
        db.session.add(
            OptOut(customer_id=invitation.customer_id, method=method, source=source, created_at=now)
        )
        created += 1
    for address in addresses_of(invitation):
        standing = db.session.scalar(
            sa.select(OptOut.id).where(OptOut.address_id == address.id, OptOut.revoked_at.is_(None))
        )
        if standing is None:
            db.session.add(
                OptOut(address_id=address.id, method=method, source=source, created_at=now)
            )
            created += 1
    db.session.commit()
    return created
