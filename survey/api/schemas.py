"""Validation of API bodies: every bad field is named at once, nothing is half-accepted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from survey import clock, stamped
from survey.dispatch.intake import ComplaintInput, CustomerInput, InteractionInput, body_digest
from survey.extensions import db
from survey.models import Agent, BusinessLine, Team
from survey.models.interaction import CATEGORIES, CAUSES, CHANNELS, TYPES
from survey.zones import is_place_zone

LOCALES = ("zh", "en")
MAX_INT = 2**31 - 1
# Instants outside these years are typing mistakes, and near datetime's limits they
# overflow when converted to UTC or when a delay is added.
YEARS = range(1900, 3000)
# The plausible window of an interaction's times: none before the bank used any system
# that posts here, none more than a day ahead of the one clock (a sender's clock may run
# a little fast; a time far ahead is a wrong year, and would hold a survey for ever).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=1)
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: no name or code
# holds them, and tabs or line breaks in a name break SMS, CSV exports and log lines.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def code_points(found: list[str]) -> str:
    """Name characters by code point (U+0009), the first few distinct ones, in order."""
    names: list[str] = []
    for char in found:
        name = f"U+{ord(char):04X}"
        if name not in names:
            names.append(name)
    return ", ".join(names[:3])


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class _Reader:
    """Reads fields from a JSON object, collecting an error per bad field instead of stopping."""

    def __init__(self, body: dict[str, Any], prefix: str = "") -> None:
        self.body = body
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def fail(self, name: str, message: str) -> None:
        self.errors.append(FieldError(self.prefix + name, message))

    def text(self, name: str, max_length: int, required: bool = False) -> str | None:
        """Read a string, trimmed; blank is absent. Checked as sent, as the OpenAPI document says."""
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, _("This field is required."))
            return None
        if not isinstance(value, str):
            self.fail(name, _("Must be a string."))
            return None
        halves = LONE_SURROGATE.findall(value)
        if halves:
            # Named by lone_surrogates() as well; refused here so it never reaches a query.
            self.errors.append(_surrogate_error(self.prefix + name, halves))
            return None
        controls = CONTROL.findall(value)
        if controls:
            # NUL cannot be stored by PostgreSQL; the others are no part of any name or code.
            self.fail(
                name,
                _(
                    "Control characters (tabs, line breaks and the like) are not allowed; "
                    "found %(chars)s.",
                    chars=code_points(controls),
                ),
            )
            return None
        if len(value) > max_length:
            self.fail(name, _("At most %(n)d characters.", n=max_length))
            return None
        value = value.strip()
        if not value:
            if required:
                self.fail(name, _("This field is required."))
            return None
        return value

    def choice(self, name: str, options: tuple[str, ...], required: bool = False) -> str | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, _("This field is required."))
            return None
        if value not in options:
            self.fail(name, _("Must be one of: %(options)s.", options=", ".join(options)))
            return None
        return value

    def instant(self, name: str, required: bool = False) -> datetime | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, _("This field is required."))
            return None
        parsed = None
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            self.fail(name, _("Must be an ISO 8601 time, e.g. 2026-11-29T10:15:00+08:00."))
            return None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.fail(name, _("The time needs its UTC offset, e.g. +08:00."))
            return None
        latest = clock.now() + AHEAD
        if (
            parsed.year not in YEARS
            or parsed.astimezone(UTC).year not in YEARS
            or not EARLIEST <= parsed <= latest
        ):
            self.fail(
                name,
                _(
                    "Must be between %(earliest)s and a day from now (%(latest)s).",
                    earliest=EARLIEST.isoformat(),
                    latest=latest.isoformat(timespec="seconds"),
                ),
            )
            return None
        return parsed

    def boolean(self, name: str) -> bool | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(name, _("Must be true or false."))
            return None
        return value

    def count(self, name: str) -> int | None:
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            # JSON has one kind of number: 185.0 is the whole number 185, as JSON Schema says.
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
            self.fail(name, _("Must be a whole number of 0 or more."))
            return None
        return value

    def obj(self, name: str, required: bool = False) -> dict[str, Any] | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, _("This field is required."))
            return None
        if not isinstance(value, dict):
            self.fail(name, _("Must be an object."))
            return None
        return value


def lone_surrogates(body: dict[str, Any]) -> list[FieldError]:
    """Name every string in a body, and every key, that holds half a UTF-16 surrogate pair.

    JSON lets a client write ``"\\ud800"``; Python parses it into a string that cannot be
    encoded as UTF-8, so neither the database nor the replay digest could take it.
    Fields the API ignores are named too: the digest covers the whole body.
    """
    errors: list[FieldError] = []
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            items = []
            for key, child in value.items():
                shown = key.encode("utf-8", "backslashreplace").decode()
                if LONE_SURROGATE.search(key):
                    errors.append(_surrogate_error(f"{path}{shown}", LONE_SURROGATE.findall(key)))
                items.append((f"{path}{shown}.", child))
            stack.extend(reversed(items))
        elif isinstance(value, list):
            stack.extend(
                (f"{path[:-1]}[{i}].", child) for i, child in reversed(list(enumerate(value)))
            )
        elif isinstance(value, str):
            found = LONE_SURROGATE.findall(value)
            if found:
                errors.append(_surrogate_error(path[:-1], found))
    return errors


def _surrogate_error(field: str, found: list[str]) -> FieldError:
    return FieldError(
        field,
        _(
            "Must be valid Unicode text: it holds a lone surrogate (%(chars)s).",
            chars=code_points(found),
        ),
    )


def normalise_phone(raw: str) -> str | None:
    """Return a phone number in E.164 (+8613800138000), or None when it is not one."""
    digits = re.sub(r"[\s\-().]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        # A mainland mobile number given without its country code.
        digits = "+86" + digits
    return digits if re.fullmatch(r"\+[1-9]\d{7,14}", digits) else None


def _customer(reader: _Reader, body: dict[str, Any]) -> CustomerInput | None:
    r = _Reader(body, prefix="customer.")
    external_id = r.text("external_id", 100, required=True)
    name = r.text("name", 200)
    phone = email = timezone = None
    raw_phone = r.text("phone", 40)
    if raw_phone is not None:
        phone = normalise_phone(raw_phone)
        if phone is None:
            r.fail("phone", _("Must be a phone number in international form, e.g. +8613800138000."))
    raw_email = r.text("email", 254)
    if raw_email is not None:
        try:
            email = validate_email(raw_email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            r.fail("email", _("Must be an e-mail address."))
    locale = r.choice("locale", LOCALES)
    raw_zone = r.text("timezone", 64)
    if raw_zone is not None:
        # Looked up in the list of zones, never opened: "America" is a folder of tzdata.
        if is_place_zone(raw_zone):
            timezone = raw_zone
        else:
            r.fail(
                "timezone",
                _("Must be the IANA time zone of a place, e.g. Asia/Shanghai (not UTC)."),
            )
    reader.errors += r.errors
    if r.errors or external_id is None:
        return None
    return CustomerInput(external_id, name, phone, email, locale, timezone)


def _complaint(reader: _Reader, body: dict[str, Any]) -> ComplaintInput:
    r = _Reader(body, prefix="complaint.")
    complaint = ComplaintInput(
        case_id=r.text("case_id", 100),
        opened_at=r.instant("opened_at"),
        first_reply_at=r.instant("first_reply_at"),
        resolved_at=r.instant("resolved_at"),
        resolved_first_contact=r.boolean("resolved_first_contact"),
        cause=r.choice("cause", CAUSES),
    )
    reader.errors += r.errors
    return complaint


@dataclass(frozen=True)
class _Organisation:
    business_line_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    new_agent_code: str | None = None
    business_line_code: str | None = None
    team_code: str | None = None


def _organisation_statement(line: bool, team: bool, agent: bool) -> sa.CompoundSelect:
    """Build the look-up of the codes a post gives, one arm each, in one statement.

    Each arm is one row: what it is (``kind``), its id, and the team and business line
    it belongs to (a team given by its agent, a line by its team), with their codes.
    """

    def arm(kind: str, *columns: Any) -> sa.Select:
        names = ("id", "team_id", "team_code", "line_id", "line_code")
        return sa.select(
            sa.literal_column(f"'{kind}'").label("kind"),
            *(column.label(name) for column, name in zip(columns, names, strict=True)),
        )

    owners = (Team.id, Team.code, BusinessLine.id, BusinessLine.code)
    arms = []
    if line:
        no_team = (sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.String))
        arms.append(
            arm("line", BusinessLine.id, *no_team, BusinessLine.id, BusinessLine.code).where(
                BusinessLine.code == sa.bindparam("line")
            )
        )
    if team:
        arms.append(
            arm("team", Team.id, *owners)
            .select_from(Team)
            .join(BusinessLine, Team.business_line_id == BusinessLine.id)
            .where(Team.code == sa.bindparam("team"))
        )
    if agent:
        arms.append(
            arm("agent", Agent.id, *owners)
            .select_from(Agent)
            .join(Team, Agent.team_id == Team.id)
            .join(BusinessLine, Team.business_line_id == BusinessLine.id)
            .where(Agent.code == sa.bindparam("agent"))
        )
    return sa.union_all(*arms)


_ORGANISATION: dict[tuple[bool, bool, bool], sa.CompoundSelect] = {}


def _organisation(r: _Reader) -> _Organisation:
    """Resolve business line, team and agent codes; unknown line or team codes are errors.

    One statement however many codes the post gives (none for none).
    """
    line_code = r.text("business_line", 40)
    team_code = r.text("team", 60)
    agent_code = r.text("agent", 60)
    shape = (line_code is not None, team_code is not None, agent_code is not None)
    found: dict[str, Any] = {}
    if any(shape):
        statement = _ORGANISATION.get(shape)
        if statement is None:
            statement = _ORGANISATION[shape] = _organisation_statement(*shape)
        params = {"line": line_code, "team": team_code, "agent": agent_code}
        # The process's copy under the config stamp (survey.stamped): a code added, moved or
        # removed anywhere is seen by the next post.
        found = stamped.kept(
            "organisation",
            (line_code, team_code, agent_code),
            lambda: {row.kind: row for row in db.session.execute(statement, params)},
        )
    line, team, agent = found.get("line"), found.get("team"), found.get("agent")
    if line_code is not None and line is None:
        r.fail("business_line", _("Unknown business line code."))
    if team_code is not None:
        if team is None:
            r.fail("team", _("Unknown team code."))
        elif line is not None and team.line_id != line.id:
            r.fail("team", _("This team belongs to another business line."))
    if agent_code is not None:
        # A team code that was refused is reported on its own; the agent waits for it.
        team_refused = any(e.field == r.prefix + "team" for e in r.errors)
        if agent is None and team is None and team_code is None and not team_refused:
            r.fail("agent", _("Unknown agent code: give the agent's team so it can be added."))
    # A team given by its agent, a line by its team: each row carries its owners.
    team = team or agent
    line = line or team
    return _Organisation(
        business_line_id=line.line_id if line else None,
        team_id=team.team_id if team else None,
        agent_id=agent.id if agent else None,
        new_agent_code=agent_code if agent is None else None,
        business_line_code=line.line_code if line else None,
        team_code=team.team_code if team else None,
    )


def parse_interaction(body: Any) -> tuple[InteractionInput | None, list[FieldError]]:
    """Check a posted interaction; return it ready to store, or every reason it is not."""
    if not isinstance(body, dict):
        return None, [FieldError("", _("The body must be a JSON object."))]
    unreadable = lone_surrogates(body)
    r = _Reader(body)
    external_id = r.text("external_id", 100, required=True)
    occurred_at = r.instant("occurred_at", required=True)
    channel = r.choice("channel", CHANNELS, required=True)
    kind = r.choice("type", TYPES, required=True)
    category = r.choice("category", CATEGORIES)
    wait_seconds = r.count("wait_seconds")
    organisation = _organisation(r)

    customer = None
    customer_body = r.obj("customer", required=True)
    if customer_body is not None:
        customer = _customer(r, customer_body)

    complaint = None
    complaint_body = r.obj("complaint")
    if complaint_body is not None:
        if kind is not None and kind != "complaint":
            r.fail("complaint", _("Only an interaction of type complaint has a complaint block."))
        else:
            complaint = _complaint(r, complaint_body)

    if unreadable or r.errors:
        # A field with a lone surrogate is named once, for that, whatever else its value fails.
        named = {e.field for e in unreadable}
        return None, unreadable + [e for e in r.errors if e.field not in named]
    assert external_id and occurred_at and channel and kind and customer
    return InteractionInput(
        external_id=external_id,
        occurred_at=occurred_at,
        channel=channel,
        type=kind,
        customer=customer,
        digest=body_digest(body),
        business_line_id=organisation.business_line_id,
        team_id=organisation.team_id,
        agent_id=organisation.agent_id,
        new_agent_code=organisation.new_agent_code,
        business_line_code=organisation.business_line_code,
        team_code=organisation.team_code,
        category=category,
        wait_seconds=wait_seconds,
        complaint=complaint,
    ), []
