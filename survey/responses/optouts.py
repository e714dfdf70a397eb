"""The one way in for refusals: every opt-out (keyword, keypad, link, one-click, carrier).

Rule 3: a refusal on any channel opts the customer and the address it came
from out of every channel. Each opt-out records how (``method``), when, and
from what (``source``: the keyword and message SID, the invitation, the
carrier's error). Repeating one changes nothing; START from an address undoes
only the refusals that came from that address.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from survey import clock
from survey.addresses import find_address
from survey.dispatch import contacts
from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.models import Address, Customer, Invitation, OptOut


def address_opted_out(address_id: int) -> bool:
    """Whether someone refused surveys at this address (it holds for every record that has it)."""
    return _standing(OptOut.address_id == address_id)


def _standing(condition: sa.ColumnElement[bool]) -> bool:
    found = db.session.scalar(
        sa.select(OptOut.id).where(condition, OptOut.revoked_at.is_(None)).limit(1)
    )
    return found is not None


def opt_out(
    method: str,
    source: str,
    customer: Customer | None = None,
    addresses: Iterable[Address] = (),
    via: Address | None = None,
) -> int:
    """Record a refusal of the customer and of each address; return how many are new.

    ``via`` is the address the refusal came from (a STOP from a phone), kept so
    that START from the same address can undo it. The caller commits.
    """
    now = clock.now()
    created = 0
    counted_customer = None
    if customer is not None and not contacts.customer_opted_out(customer):
        db.session.add(
            OptOut(
                customer_id=customer.id,
                via_address_id=via.id if via else None,
                method=method,
                source=source[:200],
                created_at=now,
            )
        )
        created += 1
        counted_customer = customer.id
    seen: set[int] = set()
    for address in addresses:
        if address.id in seen or address_opted_out(address.id):
            continue
        seen.add(address.id)
        db.session.add(
            OptOut(
                address_id=address.id,
                via_address_id=via.id if via else address.id,
                method=method,
                source=source[:200],
                created_at=now,
            )
        )
        created += 1
    db.session.flush()
    if counted_customer is not None:
        funnel.customer_opted_out(counted_customer, now)
    return created


def opt_in(address: Address) -> int:
    """Undo the refusals that came from this address (START); return how many.

    A refusal given another way (the e-mail's unsubscribe link) stands: only
    the customer can undo it, from where they gave it.
    """
    now = clock.now()
    result = db.session.execute(
        sa.update(OptOut)
        .where(
            sa.or_(OptOut.address_id == address.id, OptOut.via_address_id == address.id),
            OptOut.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount


def invitation_addresses(invitation: Invitation) -> list[Address]:
    """Return the addresses the invitation went to, or the customer's when none was sent yet."""
    found: dict[int, Address] = {}
    for delivery in invitation.deliveries:
        kind = contacts.ADDRESS_KIND.get(delivery.channel)
        address = find_address(kind, delivery.address) if kind else None
        if address is not None:
            found[address.id] = address
    if not found:
        found = {address.id: address for address in invitation.customer.addresses}
    return list(found.values())


def unsubscribe(invitation: Invitation, method: str = "link") -> int:
    """Opt out the customer and every address of an invitation (its link); commit.

    Repeating it changes nothing: a standing opt-out is not recorded twice.
    """
    created = opt_out(
        method,
        f"invitation:{invitation.id}",
        customer=invitation.customer,
        addresses=invitation_addresses(invitation),
    )
    db.session.commit()
    return created


def refuse_from_address(
    kind: str, value: str, method: str, source: str, customer: Customer | None
) -> int:
    """Opt out an address a refusal came from (STOP, *, a carrier) and the customer it reached.

    An address we never stored is stored, so its refusal holds for any record
    that gets it later. The caller commits.
    """
    address = find_address(kind, value)
    if address is None:
        address = Address(kind=kind, value=value)
        db.session.add(address)
        db.session.flush()
    return opt_out(method, source, customer=customer, addresses=[address], via=address)
