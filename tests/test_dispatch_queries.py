"""Every eligibility check and the minute sweep reach their rows through an index (issue 8).

Times are not asserted here (bench/eligibility.py measures them); the plans are. Each
check is run for real, its SQL is captured as the database received it, and the
database is asked how it would run it:

- SQLite: ``EXPLAIN QUERY PLAN`` must not SCAN a table that grows with history
  (a SCAN, even "USING INDEX", reads the whole table or index; a SEARCH is a lookup).
- PostgreSQL: on a near-empty table the planner rightly prefers a sequential scan,
  so the plan is asked with ``enable_seqscan = off``. That setting only penalises a
  sequential scan: where no index can serve a condition it is still chosen, and a
  full-index walk without an index condition can stand in for it, so every scan of
  a history table must be an index scan with an ``Index Cond`` (or a bitmap scan whose
  index scans have one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from survey import clock
from survey.dispatch import cases, contacts, history, intake, lease, reminders, sending
from survey.dispatch.intake import ComplaintInput, CustomerInput
from survey.extensions import db
from survey.models import ComplaintCase, Customer, Interaction, Invitation
from survey.responses import partials
from tests.fixtures.dispatch import interaction_body
from tests.sent import statements_sent

# Tables that grow with every interaction: reading one of them whole is what made
# each post slower as the bank's history grew.
HISTORY_TABLES = (
    "invitation",
    "delivery",
    "interaction",
    "opt_out",
    "customer_address",
    "complaint_case",
    "response",
)
NOON = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


def _on_history(sent: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The statements (with their parameters) that read or write a history table."""
    names = re.compile(r"\b(" + "|".join(HISTORY_TABLES) + r")\b")
    return [(statement, parameters) for statement, parameters in sent if names.search(statement)]


def _sqlite_full_scans(statement: str, parameters: Any) -> list[str]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    pattern = re.compile(r"^SCAN (" + "|".join(HISTORY_TABLES) + r")\b")
    return [row[3] for row in rows if pattern.match(row[3])]


def _postgres_full_scans(statement: str, parameters: Any) -> list[str]:
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
        conn.rollback()
    return list(_unindexed(plan[0]["Plan"]))


def _unindexed(node: dict[str, Any]) -> Iterator[str]:
    """Yield each scan of a history table that no index condition narrows."""
    relation = node.get("Relation Name")
    kind = node["Node Type"]
    if relation in HISTORY_TABLES and kind != "ModifyTable":  # an UPDATE's target, not a read
        if kind in ("Index Scan", "Index Only Scan"):
            if "Index Cond" not in node:
                yield f"{kind} on {relation} without an index condition"
        elif kind == "Bitmap Heap Scan":
            if not all("Index Cond" in child for child in _bitmap_index_scans(node)):
                yield f"{kind} on {relation} without an index condition"
        else:
            yield f"{kind} on {relation}"
    for child in node.get("Plans", ()):
        yield from _unindexed(child)


def _bitmap_index_scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for child in node.get("Plans", ()):
        if child["Node Type"] == "Bitmap Index Scan":
            yield child
        else:
            yield from _bitmap_index_scans(child)


def _full_scans(run: Callable[[], object]) -> dict[str, list[str]]:
    """Run a check and return, per statement it sent, the scans no index serves."""
    with statements_sent() as sent:
        run()
    seen = _on_history(sent)
    assert seen, "the check sent no query to a history table"
    explain = _sqlite_full_scans if db.engine.dialect.name == "sqlite" else _postgres_full_scans
    found = {statement: explain(statement, parameters) for statement, parameters in seen}
    return {statement: scans for statement, scans in found.items() if scans}


@pytest.fixture
def customer(post_interaction, dispatch_ready) -> Customer:
    """A customer with a phone and an e-mail address, one of them shared with a spouse.

    Each has a survey sent, so every probe of the frequency window has rows to find.
    """
    clock.freeze(NOON)
    for external_id, who in (
        ("CALL-1", {}),
        ("CALL-SPOUSE", {"customer": {"external_id": "C-SPOUSE", "phone": "+8613800138000"}}),
    ):
        answer = post_interaction(
            interaction_body(external_id=external_id, occurred_at=NOON.isoformat(), **who)
        ).get_json()
        if answer["invitation"]:
            sending.send_invitation(answer["invitation"]["id"])
    db.session.expire_all()
    found = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-88231"))
    assert found is not None and len(found.addresses) == 2
    return found


CHECKS: dict[str, Callable[[Customer], object]] = {
    "surveys_since": lambda c: history.surveys_since(c, NOON - timedelta(days=30)),
    "has_open_complaint": history.has_open_complaint,
    # The decision's reads of all three at once, as intake runs them (one statement).
    "decision_facts": lambda c: history.decision_facts(
        c, Interaction(type="inquiry"), NOON - timedelta(days=30)
    ),
    "customer_opted_out": contacts.customer_opted_out,
    "opted_out_address_ids": contacts.opted_out_address_ids,
    # The send's own frequency check, under the contact locks (one statement, two probes).
    "earlier_survey_reached": lambda c: history.earlier_survey_reached(
        db.session.scalars(sa.select(Invitation).where(Invitation.customer_id == c.id)).first(),
        NOON - timedelta(days=30),
    ),
}


@pytest.mark.parametrize("check", CHECKS)
def test_each_eligibility_check_reads_history_through_an_index(customer, check):
    assert _full_scans(lambda: CHECKS[check](customer)) == {}


def test_intakes_read_of_the_customer_with_addresses_uses_indexes(customer):
    def read() -> None:
        with db.session.no_autoflush:
            found = intake._upsert_customer(CustomerInput(external_id="C-88231"))
            assert len(found.addresses) == 2
        db.session.rollback()

    assert _full_scans(read) == {}


@pytest.fixture
def complaining_customer(customer, post_interaction) -> Customer:
    """The customer with a complaint case still open and an old one posted without a case id."""
    for external_id, block in (
        ("CMP-1", {"case_id": "CMP-2026-0042", "opened_at": NOON.isoformat()}),
        ("OLD-CMP-1", {"opened_at": (NOON - timedelta(days=3)).isoformat()}),
        (
            "OLD-CMP-1-DONE",
            {"opened_at": (NOON - timedelta(days=3)).isoformat(), "resolved_at": NOON.isoformat()},
        ),
    ):
        body = interaction_body(
            external_id=external_id,
            occurred_at=NOON.isoformat(),
            type="complaint",
            team="personal-complaints",
            complaint=block,
        )
        assert post_interaction(body).status_code == 201
    db.session.expire_all()
    return customer


def test_the_open_complaint_check_reads_cases_and_complaints_through_indexes(
    complaining_customer,
):
    # Deciding about a post that resolves the open case (not stored: the decision comes
    # before the write): that case is left out of the probe.
    case = db.session.scalars(sa.select(ComplaintCase)).one()
    with db.session.no_autoflush:
        resolving = Interaction(type="complaint", complaint_resolved_at=NOON, complaint_case=case)
        assert history.has_open_complaint(complaining_customer, resolving) is False
        assert (
            _full_scans(lambda: history.has_open_complaint(complaining_customer, resolving)) == {}
        )
    db.session.rollback()
    assert history.has_open_complaint(complaining_customer) is True
    assert _full_scans(lambda: history.has_open_complaint(complaining_customer)) == {}


def test_a_posts_complaint_case_is_found_through_its_unique_index(complaining_customer):
    def find() -> None:
        with db.session.no_autoflush:
            cases.record(
                Interaction(type="complaint"),
                ComplaintInput(case_id="CMP-2026-0042"),
                complaining_customer,
                None,
                None,
            )
        db.session.rollback()

    assert _full_scans(find) == {}


def test_the_frequency_window_is_served_by_the_invitation_and_delivery_indexes(customer, db):
    if db.engine.dialect.name != "sqlite":
        # PostgreSQL picks among the usable indexes by cost: that none is left unused for a
        # full scan is what can be asserted there.
        assert _full_scans(lambda: history.surveys_since(customer, NOON - timedelta(days=30))) == {}
        return
    with statements_sent() as sent:
        history.surveys_since(customer, NOON - timedelta(days=30))
    seen = _on_history(sent)
    with db.engine.connect() as conn:
        plan = " ".join(
            row[3]
            for statement, parameters in seen
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )
    assert "ix_invitation_customer_sent_scheduled" in plan
    assert "ix_delivery_address_created_at" in plan


def test_the_sweeps_due_and_stuck_query_uses_an_index(customer):
    clock.freeze(NOON + timedelta(hours=1))
    assert _full_scans(sending.due_invitation_ids) == {}


def test_the_sweeps_search_for_sends_whose_lease_ran_out_uses_its_index(customer):
    clock.freeze(NOON + timedelta(hours=1))
    assert _full_scans(lease.expired_ids) == {}
    assert "lease_until" in _index_conditions(lease.expired_ids)


def test_the_sweeps_expiry_uses_an_index(customer):
    clock.freeze(NOON + timedelta(days=10))
    assert _full_scans(sending.expire_overdue) == {}
    # A lookup of every sent invitation by state alone also "uses an index"; the expiry
    # time must bound the range, or the sweep reads every link still open.
    assert "expires_at" in _index_conditions(sending.expire_overdue)


def test_the_sweeps_due_reminders_query_uses_an_index(customer):
    clock.freeze(NOON + timedelta(days=1))
    assert _full_scans(reminders.due_invitation_ids) == {}
    assert "reminder_due_at" in _index_conditions(reminders.due_invitation_ids)


def test_the_sweeps_search_for_partials_to_close_uses_an_index(customer):
    clock.freeze(NOON + timedelta(days=2))
    assert _full_scans(partials.due_ids) == {}
    # Only partial responses are read (a bounded set: each closes within the closing hours),
    # never the history of completed ones.
    assert "state" in _index_conditions(partials.due_ids)


def _index_conditions(run: Callable[[], object]) -> str:
    """Return what bounds the index lookups of a check's statements, as one text."""
    with statements_sent() as sent:
        run()
    seen = _on_history(sent)
    found = []
    with db.engine.connect() as conn:
        for statement, parameters in seen:
            if db.engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                found += [row[3] for row in rows if row[3].startswith("SEARCH")]
            else:
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
                found += list(_conditions(plan.scalar_one()[0]["Plan"]))
                conn.rollback()
    return " ".join(found)


def _conditions(node: dict[str, Any]) -> Iterator[str]:
    if "Index Cond" in node:
        yield node["Index Cond"]
    for child in node.get("Plans", ()):
        yield from _conditions(child)
