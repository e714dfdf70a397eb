"""Turn the generated demo into rows for the bulk writer, one interaction's worth at a time."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from survey.demo import answers, org
from survey.demo.actions import Timeline
from survey.demo.bulk import BulkWriter, IdBlocks
from survey.demo.interactions import DemoInteraction
from survey.demo.invitations import PlannedInvitation
from survey.models import Answer, ComplaintCase, Delivery, Interaction, Invitation, OptOut, Response
from survey.models.invitation import new_token

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
    """Write complaint cases, interactions, invitations and their answers through a writer."""

    def __init__(
        self,
        writer: BulkWriter,
        organisation: org.Organisation,
        setup: org.SurveySetup,
        rng: random.Random,
        as_of: datetime,
        close_hours: int,
        timeline: Timeline | None = None,
    ) -> None:
        self.writer, self.organisation, self.setup = writer, organisation, setup
        self.timeline = timeline
        self.rng, self.as_of, self.close_hours = rng, as_of, close_hours
        self.ids = {model: IdBlocks(model) for model in TABLES if model is not Interaction}
        self.counts = Counts()

    def open_case(self, complaint: DemoInteraction) -> None:
        """Write the complaint case of a complaint just generated (one case per complaint)."""
        complaint.case_id = self.ids[ComplaintCase].take()
        posted = complaint.occurred_at + timedelta(minutes=2)
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
        self._invitation(planned)
        if given:
            self._response(planned, given)

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

    def _invitation(self, planned: PlannedInvitation) -> None:
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
            },
        )
        for delivery in planned.deliveries:
            row = {"id": self.ids[Delivery].take(), "invitation_id": planned.id, **delivery}
            self.writer.add(Delivery, row)
        if planned.opt_out:
            self.writer.add(OptOut, {"id": self.ids[OptOut].take(), **planned.opt_out})

    def _response(self, planned: PlannedInvitation, given: list[dict[str, Any]]) -> None:
        """Write a response and its answers.

        A response left unfinished is closed and counted as the sweep would have done it:
        ``close_hours`` after its last answer, or at its link's expiry, if that moment is
        before ``as_of``.
        """
        response = planned.response
        assert response is not None
        last = response.completed_at or given[-1]["answered_at"]
        state, counted_at = "completed", response.completed_at
        if counted_at is None:
            due = min(last + timedelta(hours=self.close_hours), planned.expires_at)
            state, counted_at = ("closed_partial", due) if due <= self.as_of else ("partial", None)
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
