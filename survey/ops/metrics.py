"""Prometheus metrics: what each process counts, and what the database says at scrape time.

Counters (requests, sends, answers) live in the process that counts them. Under
gunicorn and beside ``survey worker`` several processes count, so when
``PROMETHEUS_MULTIPROC_DIR`` names a folder (``make run`` sets one) prometheus_client
keeps them in files there and a scrape adds up every process's. Figures that are
facts of the database (invitations due but unsent, deliveries in doubt, the
queue's depth) are read when scraped, by whichever process answers, so no
process's restart loses or doubles them.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, Request, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.orm import Session

from survey import clock
from survey.channels.base import SendResult
from survey.extensions import db

DEFAULT_ALLOW = "127.0.0.1/32,::1/128"

REQUESTS = Counter(
    "survey_http_requests_total",
    "HTTP requests answered, by route (the URL rule, never the token in it) and status.",
    ["route", "method", "status"],
)
SENDS = Counter(
    "survey_sends_total",
    "Messages handed to a provider, by survey channel, provider and outcome.",
    ["channel", "provider", "outcome"],
)
ANSWERS = Counter(
    "survey_answers_total",
    "Answers stored (committed), by the channel they were given on.",
    ["survey_channel"],
)


def init_app(app: Flask) -> None:
    """Count every request by its route; count answers when their transaction commits."""

    @app.after_request
    def _count_request(response: Any) -> Any:
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        request_counter(rule, request.method, response.status_code).inc()
        return response

    _listen_for_answers()


# Each route, method and status's counter, kept: REQUESTS.labels checks and joins its labels
# under a lock each time it is asked. A handful of routes and statuses, so a few hundred.
_request_counters: dict[tuple[str, str, int], Any] = {}


def request_counter(rule: str, method: str, status: int) -> Any:
    """The counter of requests to ``rule`` by ``method`` answered ``status``."""
    key = (rule, method, status)
    counter = _request_counters.get(key)
    if counter is None:
        counter = _request_counters[key] = REQUESTS.labels(rule, method, str(status))
    return counter


def count_send(channel: str, provider: str, result: SendResult) -> None:
    """Count one provider call by its verdict."""
    SENDS.labels(channel, provider, outcome_of(result)).inc()


def outcome_of(result: SendResult) -> str:
    """Name a send's verdict as the metric labels it."""
    if result.ok:
        return "accepted"
    if result.unknown:
        return "unknown"
    if result.held:
        return "held"
    return "retryable" if result.retryable else "failed"


_listening = False


def _listen_for_answers() -> None:
    """Count new answers after commit, so a rolled-back answer is never counted."""
    global _listening
    if _listening:
        return
    _listening = True
    from survey.models import Answer

    @event.listens_for(Session, "after_flush")
    def _collect(session: Session, _context: Any) -> None:
        fresh = [obj for obj in session.new if isinstance(obj, Answer)]
        if not fresh:
            return
        pending = session.info.setdefault("survey_new_answers", {})
        for answer in fresh:
            response = sa.inspect(answer).attrs.response.loaded_value
            channel = getattr(response, "survey_channel", None) or "unknown"
            pending[channel] = pending.get(channel, 0) + 1

    @event.listens_for(Session, "after_commit")
    def _count(session: Session) -> None:
        for channel, count in session.info.pop("survey_new_answers", {}).items():
            ANSWERS.labels(channel).inc(count)

    @event.listens_for(Session, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop("survey_new_answers", None)


def may_read(req: Request, config: Mapping[str, Any]) -> bool:
    """Allow an address in SURVEY_METRICS_ALLOW, or a bearer token equal to SURVEY_METRICS_TOKEN."""
    token = config.get("SURVEY_METRICS_TOKEN")
    given = req.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and secrets.compare_digest(given[7:], str(token)):
        return True
    try:
        address = ipaddress.ip_address(req.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in allowed_networks(config))


def allowed_networks(
    config: Mapping[str, Any],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Read SURVEY_METRICS_ALLOW: comma-separated addresses or networks; empty allows none."""
    raw = config.get("SURVEY_METRICS_ALLOW")
    raw = DEFAULT_ALLOW if raw is None else str(raw)
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()
    ]


class DatabaseFacts(Collector):
    """Gauges read from the database and the queue when Prometheus scrapes."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from survey import tasks
        from survey.models import Delivery, Invitation

        now = clock.now()
        due = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Invitation)
            .where(Invitation.state == "scheduled", Invitation.scheduled_at <= now)
        )
        yield GaugeMetricFamily(
            "survey_invitations_due_unsent",
            "Invitations whose send time has passed and that no worker has sent yet.",
            value=due or 0,
        )
        by_state = dict(
            db.session.execute(
                sa.select(Delivery.state, sa.func.count())
                .where(Delivery.state.in_(("unknown", "sending", "held", "retrying")))
                .group_by(Delivery.state)
            ).all()
        )
        deliveries = GaugeMetricFamily(
            "survey_deliveries_in_doubt",
            "Deliveries not settled: unknown (the provider may have it), sending, held, retrying.",
            labels=["state"],
        )
        for state in ("unknown", "sending", "held", "retrying"):
            deliveries.add_metric([state], by_state.get(state, 0))
        yield deliveries
        yield GaugeMetricFamily(
            "survey_queue_depth", "Tasks waiting in the Huey queue.", value=tasks.queue_depth()
        )


def render() -> tuple[bytes, str]:
    """Return the exposition text of every process's counters and the database's gauges."""
    facts = CollectorRegistry(auto_describe=True)
    facts.register(DatabaseFacts())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(facts), CONTENT_TYPE_LATEST
