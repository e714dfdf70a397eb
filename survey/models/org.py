"""The bank's organisation: business lines, teams and agents."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db

TEAM_FUNCTIONS = ("inquiry", "complaint", "outbound")


class BusinessLine(db.Model):
    __tablename__ = "business_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(120))
    name_en: Mapped[str] = mapped_column(sa.String(120))
    active: Mapped[bool] = mapped_column(default=True)

    teams: Mapped[list[Team]] = relationship(back_populates="business_line")

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en


class Team(db.Model):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), unique=True)
    business_line_id: Mapped[int] = mapped_column(sa.ForeignKey("business_line.id"), index=True)
    function: Mapped[str] = mapped_column(sa.String(20))
    name_zh: Mapped[str] = mapped_column(sa.String(120))
    name_en: Mapped[str] = mapped_column(sa.String(120))
    active: Mapped[bool] = mapped_column(default=True)

    business_line: Mapped[BusinessLine] = relationship(back_populates="teams")
    agents: Mapped[list[Agent]] = relationship(back_populates="team")

    __table_args__ = (
        sa.CheckConstraint(sa.column("function").in_(TEAM_FUNCTIONS), name="function"),
    )

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en


class Agent(db.Model):
    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), unique=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("team.id"), index=True)
    # Empty for an agent the call-centre system introduced until the admin names them.
    name_zh: Mapped[str] = mapped_column(sa.String(120), default="")
    name_en: Mapped[str] = mapped_column(sa.String(120), default="")
    active: Mapped[bool] = mapped_column(default=True)

    team: Mapped[Team] = relationship(back_populates="agents")

    def name(self, locale: str) -> str:
        """Return the name in this language, else in the other one, else the code."""
        return self.display_name(self.code, self.name_zh, self.name_en, locale)

    @staticmethod
    def display_name(code: str, name_zh: str, name_en: str, locale: str) -> str:
        """An agent's name in a language from plain columns, as :meth:`name` gives it."""
        first, second = (name_zh, name_en) if locale == "zh" else (name_en, name_zh)
        return first or second or code
