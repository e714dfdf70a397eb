"""Declarative base, naming convention and column types shared by every model.

Kept outside ``survey.models`` so that ``extensions`` can import it without
importing the models that import ``extensions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A time-zone-aware datetime stored in UTC; SQLite's naive values get their zone back."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store time-zone-aware values only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def built_on(item: Any, dialect: str) -> bool:
    """Whether the schema item is created on a dialect (an ``Index(...).ddl_if(dialect=…)``).

    Alembic's comparison of the models with a database does not read ``ddl_if``: the
    migrations' autogenerate and the test that the migrations match the models pass
    their ``include_object`` through this, so an index made for SQLite alone is not
    reported missing on PostgreSQL.
    """
    condition = getattr(item, "_ddl_if", None)  # SQLAlchemy keeps ddl_if's arguments here
    if condition is None or condition.dialect is None:
        return True
    allowed = condition.dialect
    return dialect == allowed if isinstance(allowed, str) else dialect in allowed
