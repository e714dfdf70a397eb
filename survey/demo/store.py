"""Turn the generated demo into rows for the bulk writer, one interaction's worth at a time."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from survey import workcal
from survey.demo import answers, org
from survey.demo.actions import Timeline
from survey.demo.bulk import BulkWriter, IdBlocks
from survey.demo.interactions import DemoInteraction
from survey.demo.invitations import PlannedInvitation
from survey.funnel import stages
from survey.models import Answer, ComplaintCase, Delivery, Interaction, Invitation, OptOut, Response
from survey.models.invitation import new_token
from survey.scoring import complaint_cases, complaint_outcomes, complaints
from survey.workcal import WorkCalendar

OUTCOME_COLUMNS = ("first_reply_outcome", "final_outcome", "regulator_outcome", "outcomes_basis")
# Parents before children: a batch is written in this order.
TABLES = (ComplaintCase, Interaction, Invitation, Delivery, OptOut, Response, Answer)


@dataclass
class Counts:
    """What was written, for the summary and the rollup phase's total."""

    interactions: int = 0
    complaints: int = 0
    invitations: int = 0
    completed: int = 0
    responses: int = 0
    answers: int = 0
    counted_ratings: int = 0  # answers with a number in counted responses: what the rollup sums
    by_table: dict[str, int] = field(default_factory=dict)


class Store:
    """Write complaint cases, interactions, invitations and their answers through a writer.

    :param commitments: the complaints' limits and working calendar (the settings' by
        default): a resolved case is written with its outcomes against them, as
        ``complaint_outcomes.stamp`` stores them, so nothing is left for ``refresh``.
    """

    def __init__(
        self,
        writer: BulkWriter,
        organisation: org.Organisation,
        setup: org.SurveySetup,
        rng: random.Random,
        as_of: datetime,
        close_hours: int,
        timeline: Timeline | None = None,
        commitments: tuple[complaints.Limits, WorkCalendar] | None = None,
    ) -> None:
        self.writer, self.organisation, self.setup = writer, organisation, setup
        self.commitments = commitments or (complaint_cases.limits(), workcal.from_settings())
        self.basis = complaint_outcomes.basis(*self.commitments)
        self.timeline = timeline
        self.rng, self.as_of, self.close_hours = rng, as_of, close_hours
        self.ids = {model: IdBlocks(model) for model in TABLES if model is not Interaction}
        self.counts = Counts()

    def open_case(self, complaint: DemoInteraction) -> None:
        """Write the complaint case of a complaint just generated (one case per complaint)."""
        complaint.case_id = self.ids[ComplaintCase].take()
        posted = complaint.occurred_at + timedelta(minutes=2)
        outcomes: tuple[str | None, ...] = (None, None, None, None)
        if complaint.resolved_at is not None and complaint.opened_at is not None:
            outcomes = (
                *complaint_outcomes.decided(
                    complaint.opened_at,
                    complaint.first_reply_at,
                    complaint.resolved_at,
                    *self.commitments,
                ),
                self.basis,
            )
        self.writer.add(
            ComplaintCase,
            {
                "id": complaint.case_id,
                "case_id": f"CMP-{complaint.external_id}",
                "customer_id": complaint.customer.id,
                "opened_at": complaint.opened_at,
                "first_reply_at": complaint.first_reply_at,
                "resolved_at": complaint.resolved_at,
                "resolved_first_contact": complaint.resolved_first_contact,
                "cause": complaint.cause,
                "category": complaint.category,
                "business_line_id": self.organisation.line_ids[complaint.line],
                "team_id": self.organisation.team_ids[complaint.team],
                "created_at": posted,
                "updated_at": posted,
                "row_version": 1,
                **dict(zip(OUTCOME_COLUMNS, outcomes, strict=True)),
            },
        )

    def interaction(self, i: DemoInteraction, planned: PlannedInvitation | None) -> None:
        """Write an interaction once its survey is decided, with its invitation and answers."""
        self.counts.interactions += 1
        self.counts.complaints += i.type == "complaint"
        self.writer.add(
            Interaction,
            {
                "id": i.id,
                "external_id": i.external_id,
                "occurred_at": i.occurred_at,
                "channel": i.channel,
                "type": i.type,
                "business_line_id": self.organisation.line_ids[i.line],
                "team_id": self.organisation.team_ids[i.team],
                "agent_id": i.agent_id,
                "category": i.category,
                "wait_seconds": i.wait_seconds,
                "customer_id": i.customer.id,
                "complaint_opened_at": i.opened_at,
                "complaint_first_reply_at": i.first_reply_at,
                "complaint_resolved_at": i.resolved_at,
                "complaint_resolved_first_contact": i.resolved_first_contact,
                "complaint_cause": i.cause,
                "complaint_case_id": i.case_id,
                "suppression_reason": i.suppression_reason,
                # The call-centre system posts a contact a couple of minutes after it ends.
                "created_at": i.occurred_at + timedelta(minutes=2),
            },
        )
        if planned is None:
            return
        given = self._plan_answers(planned)
        ended = self._response_end(planned, given) if given else None
        self._invitation(planned, ended[0] if ended else None)
        if ended:
            self._response(planned, given, *ended)

    def _plan_answers(self, planned: PlannedInvitation) -> list[dict[str, Any]]:
        """Draw the response's answers, before the invitation is written with its times."""
        response = planned.response
        if response is None:
            return []
        interaction = planned.interaction
        skill = self.organisation.agent_skill[interaction.agent_id]
        if self.timeline is not None:
            skill += self.timeline.skill_lift(interaction.line, interaction.occurred_at)
        locale = interaction.customer.locale
        given = answers.answer_rows(self.rng, planned, self.setup.question_ids, skill, locale)
        if response.completed_at is not None:
            # Whatever the draw said, a response is complete only after its last answer.
            response.completed_at = max(response.completed_at, given[-1]["answered_at"])
            planned.completed_at = response.completed_at
        return given

    def _response_end(
        self, planned: PlannedInvitation, given: list[dict[str, Any]]
    ) -> tuple[str, datetime | None, datetime]:
        """Return a response's state, when it was counted, and its last change.

        A response left unfinished is closed and counted as the sweep would have done it:
        ``close_hours`` after its last answer, or at its link's expiry, if that moment is
        before ``as_of``.
        """
        response = planned.response
        assert response is not None
        last = response.completed_at or given[-1]["answered_at"]
        if response.completed_at is not None:
            return "completed", response.completed_at, last
        due = min(last + timedelta(hours=self.close_hours), planned.expires_at)
        return ("closed_partial", due, last) if due <= self.as_of else ("partial", None, last)

    def _invitation(self, planned: PlannedInvitation, response_state: str | None) -> None:
        interaction = planned.interaction
        last_event = planned.completed_at or planned.opened_at or planned.sent_at
        if planned.state == "expired":
            last_event = planned.expires_at
        planned.id = self.ids[Invitation].take()
        self.counts.invitations += 1
        self.counts.completed += planned.state == "completed"
        self.writer.add(
            Invitation,
            {
                "id": planned.id,
                "interaction_id": interaction.id,
                "customer_id": interaction.customer.id,
                "survey_version_id": self.setup.version_id,
                "rule_id": planned.rule_id,
                "complaint_case_id": interaction.case_id,
                "channels": planned.channels,
                "channel": planned.channel,
                "sms_mode": planned.sms_mode,
                "locale": interaction.customer.locale,
                # Tokens come from the secrets module even here: they open real survey pages.
                "token": new_token(),
                "unsubscribe_token": new_token(),
                "state": planned.state,
                "scheduled_at": planned.scheduled_at,
                "sent_at": planned.sent_at,
                "opened_at": planned.opened_at,
                "completed_at": planned.completed_at,
                "expires_at": planned.expires_at,
                "created_at": planned.scheduled_at,
                "updated_at": last_event or planned.scheduled_at,
                **funnel_record(planned, response_state),
            },
        )
        for delivery in planned.deliveries:
            row = {"id": self.ids[Delivery].take(), "invitation_id": planned.id, **delivery}
            self.writer.add(Delivery, row)
        if planned.opt_out:
            self.writer.add(OptOut, {"id": self.ids[OptOut].take(), **planned.opt_out})

    def _response(
        self,
        planned: PlannedInvitation,
        given: list[dict[str, Any]],
        state: str,
        counted_at: datetime | None,
        last: datetime,
    ) -> None:
        """Write a response and its answers, as :meth:`_response_end` ended it."""
        response = planned.response
        assert response is not None
        response_id = self.ids[Response].take()
        self.counts.responses += 1
        self.writer.add(
            Response,
            {
                "id": response_id,
                "invitation_id": planned.id,
                "survey_version_id": self.setup.version_id,
                "survey_channel": response.survey_channel,
                "locale": planned.interaction.customer.locale,
                "started_at": response.started_at,
                "completed_at": response.completed_at,
                "updated_at": last,
                "state": state,
                "counted_at": counted_at,
            },
        )
        for row in given:
            self.writer.add(
                Answer, {"id": self.ids[Answer].take(), "response_id": response_id, **row}
            )
        self.counts.answers += len(given)
        if counted_at is not None:
            self.counts.counted_ratings += sum(1 for row in given if row["value_int"] is not None)


def funnel_record(planned: PlannedInvitation, response_state: str | None) -> dict[str, Any]:
    """The invitation's funnel record (channel and steps reached), as the rebuild would set it.

    The facts are those ``stages.facts()`` reads from the rows written for it: its deliveries,
    its response's state, and its customer's opt-out while its link was open. The only opt-out
    that can fall in that time is the invitation's own: the next survey to the customer comes
    a frequency window later, after this link has expired (the loader checks the settings
    allow no other case; see ``survey.demo.records_are_exact``). The demo sends no reminders.
    """
    channel, sent_at = planned.channel, planned.sent_at
    opt_out = planned.opt_out
    facts = SimpleNamespace(
        sent_channel=channel,
        channels=planned.channels,
        state=planned.state,
        suppression_reason=None,
        sent_at=sent_at,
        opened_at=planned.opened_at,
        response_state=response_state,
        reached=channel is not None
        and any(
            d["channel"] == channel and d["state"] in stages.REACHED.get(channel, ())
            for d in planned.deliveries
        ),
        opted_out=opt_out is not None
        and sent_at is not None
        and sent_at <= opt_out["created_at"] < planned.expires_at,
        reminded=False,
        reminded_before_start=False,
    )
    return {"funnel_channel": stages.channel_of(facts), "funnel_stages": stages.stages_of(facts)}
