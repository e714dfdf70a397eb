"""The frequency window's probe of an address's sharers, planned with the statistics of a busy night.

Its own module, on a database of its own: the test gathers the planner's statistics (ANALYZE),
which outlive it and changed the plans other modules check (the sweep's expiry read its index
by state alone when it ran after this test in the same database).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey.models import Customer, Interaction, Invitation
from tests import test_dispatch_queries as queries
from tests.conftest import _migrate, make_test_config, migrated_postgresql_database
from tests.sent import statements_sent

NOON = queries.NOON
CHECKS = queries.CHECKS
customer = queries.customer  # the same fixture: a customer with history and shared addresses


@pytest.fixture(scope="module")
def own_database(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, run_id: str
) -> Iterator[str]:
    """A migrated database for this module alone, dropped (with its statistics) afterwards."""
    instance = tmp_path_factory.mktemp("plan-statistics")
    if database_url.startswith("sqlite"):
        url = "sqlite:///" + str(instance / "survey.sqlite3")
        _migrate(url, instance)
        yield url
        return
    with migrated_postgresql_database(f"survey_{run_id}_planstats", instance) as url:
        yield url


@pytest.fixture
def app_config(own_database: str, tmp_path: Path) -> dict:
    return make_test_config(own_database, tmp_path / "instance")


@pytest.mark.parametrize("check", ["surveys_since", "decision_facts"])
def test_the_frequency_window_never_reads_everyones_pending_invitations_by_state(
    customer, db, check
):
    # Pending invitations of other customers, and the planner told about them, as a
    # bank's night of surveys waiting for the allowed hours leaves them: the probe of the
    # addresses' sharers must still start from the addresses, not from every pending one.
    others = [Customer(external_id=f"C-OTHER-{n}", name="", locale="zh") for n in range(200)]
    db.session.add_all(others)
    db.session.flush()
    template = db.session.scalars(sa.select(Invitation)).first()
    for n, other in enumerate(others):
        db.session.add(
            Invitation(
                interaction=Interaction(
                    external_id=f"CALL-OTHER-{n}",
                    occurred_at=NOON,
                    channel="phone",
                    type="inquiry",
                    customer_id=other.id,
                ),
                customer_id=other.id,
                survey_version_id=template.survey_version_id,
                rule_id=template.rule_id,
                channels=["sms"],
                sms_mode="link",
                locale="zh",
                token=f"other-token-{n}",
                unsubscribe_token=f"other-unsubscribe-{n}",
                state="scheduled",
                scheduled_at=NOON,
                expires_at=NOON + timedelta(days=3),
            )
        )
    db.session.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with statements_sent() as sent:
        CHECKS[check](customer)
    seen = queries._on_history(sent)
    assert seen
    by_state = []
    with db.engine.connect() as conn:
        for statement, parameters in seen:
            if db.engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = [row[3] for row in rows]
            else:
                rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
                plan = [row[0] for row in rows]
            by_state += [step for step in plan if "ix_invitation_state_" in step]
    assert by_state == []
