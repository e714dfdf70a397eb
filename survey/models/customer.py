"""Customers, the addresses they are reached at, and opt-outs.

An address (a phone number or an e-mail address) may belong to more than one
customer record: contact rules count the address as well as the customer.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db

ADDRESS_KINDS = ("phone", "email")
OPT_OUT_METHODS = ("keyword", "link", "one_click", "keypad", "carrier", "staff")

customer_address = sa.Table(
    "customer_address",
    db.metadata,
    sa.Column("customer_id", sa.ForeignKey("customer.id"), primary_key=True),
    sa.Column("address_id", sa.ForeignKey("address.id"), primary_key=True, index=True),
)


class Customer(db.Model):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    locale: Mapped[str] = mapped_column(sa.String(5), default="zh")
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    addresses: Mapped[list[Address]] = relationship(
        secondary=customer_address, back_populates="customers"
    )

    def address(self, kind: str) -> Address | None:
        """Return the customer's most recently added address of a kind."""
        found = [a for a in self.addresses if a.kind == kind]
        return max(found, key=lambda a: a.id) if found else None


class Address(db.Model):
    __tablename__ = "address"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    # Normalised: E.164 for phones, lower-case for e-mail.
    value: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    customers: Mapped[list[Customer]] = relationship(
        secondary=customer_address, back_populates="addresses"
    )
    opt_outs: Mapped[list[OptOut]] = relationship(
        back_populates="address", foreign_keys="OptOut.address_id"
    )

    __table_args__ = (
        sa.UniqueConstraint("kind", "value"),
        sa.CheckConstraint(sa.column("kind").in_(ADDRESS_KINDS), name="kind"),
    )


class OptOut(db.Model):
    """A customer's or an address's refusal of further surveys, and how it was given."""

    __tablename__ = "opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int | None] = mapped_column(sa.ForeignKey("address.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    method: Mapped[str] = mapped_column(sa.String(20))
    # The address the refusal came from (a STOP from this phone): START from it undoes it.
    via_address_id: Mapped[int | None] = mapped_column(sa.ForeignKey("address.id"))
    # What it came from: the keyword text, the invitation token's id, a message SID.
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Set when the customer opts back in (START); the row stays as history.
    revoked_at: Mapped[datetime | None]

    address: Mapped[Address | None] = relationship(
        back_populates="opt_outs", foreign_keys=[address_id]
    )

    __table_args__ = (sa.CheckConstraint(sa.column("method").in_(OPT_OUT_METHODS), name="method"),)
