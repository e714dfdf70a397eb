"""PII retention: names, contact details and comment text older than N days leave every table.

What goes, and what stays:

- a customer none of whose interactions, open invitations or record changes is newer
  than the cutoff loses their name; an address none of whose customers is active
  keeps its row (and its opt-outs) with a keyed pseudonym for a value
  (survey/pseudonyms.py), so a refusal outlives the number and still blocks it;
- deliveries, inbound messages and provider errors older than the cutoff keep the
  pseudonym instead of the number; old outbox messages are deleted; old comments'
  text is removed (``Answer.text_removed_at`` says when); the audit trail's
  before/after details keep pseudonyms instead of contact details (who acted stays);
  old replay digests of posted bodies are keyed; finished imports lose their file.

Scores and rollups stay exact: they count numbers and choices, never the text.
The work goes in batches, each committed: a run stopped halfway is taken up by the
next, and a second run over the same data changes nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from survey import audit, clock, pseudonyms, settings
from survey.extensions import db
from survey.models import AuditEvent, DispatchRule
from survey.retention import steps

log = logging.getLogger(__name__)

BATCH = 500
MAX_DAYS = 3650
AUDIT_ACTION = "retention.apply"

Progress = Callable[[str, int], None]


class RetentionRefused(ValueError):
    """Retention cannot run as asked: N is below the floor, or the key is missing."""

    def __init__(self, reason: str, days: int = 0, floor: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.days = days
        self.floor = floor


@dataclass
class Outcome:
    """What one run did: its cutoff and how many rows each step changed."""

    days: int
    cutoff: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(self.counts.values())


def floor_days(
    frequency_window_days: int | None = None, link_lifetime_hours: int | None = None
) -> int:
    """The fewest days retention may keep: more than the frequency window and any link's life.

    Both read recent deliveries by address (who was asked lately; which invitation an
    SMS reply answers), so those must still hold the number. Rules may give their
    links a longer life than the organisation's default.
    """
    window = (
        int(settings.get("frequency_window_days"))
        if frequency_window_days is None
        else frequency_window_days
    )
    org_link = (
        int(settings.get("link_lifetime_hours"))
        if link_lifetime_hours is None
        else link_lifetime_hours
    )
    rule_link = db.session.scalar(sa.select(sa.func.max(DispatchRule.link_lifetime_hours))) or 0
    longest_link_days = math.ceil(max(org_link, rule_link) / 24)
    return max(window, longest_link_days) + 1


def check(days: int) -> bytes:
    """Return the key if retention may run for ``days``; raise ``RetentionRefused`` if not."""
    floor = floor_days()
    if not floor <= days <= MAX_DAYS:
        raise RetentionRefused("floor", days, floor)
    try:
        return pseudonyms.require_key()
    except pseudonyms.KeyMissing:
        raise RetentionRefused("key", days, floor) from None


def apply(
    days: int, actor: str = "cli", batch: int = BATCH, progress: Progress | None = None
) -> Outcome:
    """Remove PII older than ``days`` days from every table; commit batch by batch.

    :param days: keep this many days; at least ``floor_days()``.
    :param actor: who ran it, for the audit event ("cli", "system").
    :param batch: rows a transaction.
    :param progress: called with a step's name and the rows it has changed so far.
    :raises RetentionRefused: ``days`` below the floor, or no key.
    """
    secret = check(days)
    now = clock.now()
    cutoff = now - timedelta(days=days)
    outcome = Outcome(days, cutoff)
    since = _last_cutoff()
    for name, step in steps.all_steps(secret, cutoff, now, since, batch):
        total = 0
        for changed in step:
            total += changed
            db.session.commit()
            if progress is not None and changed:
                progress(name, total)
        outcome.counts[name] = total
    # The run's record, and the mark up to where the audit trail and failure reasons are
    # scrubbed (they have no marker of their own): written only when every step is done.
    audit.record(
        actor,
        AUDIT_ACTION,
        "retention",
        None,
        None,
        {"days": days, "cutoff": cutoff.isoformat(), **outcome.counts},
    )
    db.session.commit()
    return outcome


def run_nightly() -> int:
    """Apply the organisation's ``pii_retention_days`` when it is set; return rows changed.

    The daily job cannot ask anyone: when retention is set but cannot run (no key, or
    the frequency window or a rule's link lifetime grew past it), it says so in the log,
    every night, and removes nothing.
    """
    days = int(settings.get("pii_retention_days") or 0)
    if days <= 0:
        return 0
    try:
        outcome = apply(days, actor="system")
    except RetentionRefused as refused:
        log.error("PII retention of %d days cannot run: %s", days, explain(refused))
        return 0
    log.info("PII retention of %d days: %s", days, outcome.counts)
    return outcome.changed


def explain(refused: RetentionRefused) -> str:
    """Say why retention refused, for an operator (the command line and the worker's log)."""
    if refused.reason == "key":
        return (
            f"{pseudonyms.KEY_SETTING} is not set (or shorter than {pseudonyms.MIN_KEY_LENGTH} "
            "characters). Set it in the environment or instance/config.py, never in the "
            "database, and keep it: opt-outs past retention are found with it."
        )
    return (
        f"{refused.days} days is too short or too long: keep personal data from "
        f"{refused.floor} to {MAX_DAYS} days (longer than the frequency window and than "
        "any survey link lives, which both read recent deliveries)."
    )


def _last_cutoff() -> datetime | None:
    """The cutoff of the last completed run, from its audit event."""
    after = db.session.scalar(
        sa.select(AuditEvent.after)
        .where(AuditEvent.action == AUDIT_ACTION)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if not after or "cutoff" not in after:
        return None
    return datetime.fromisoformat(after["cutoff"])
