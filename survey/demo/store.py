"""Write the generated demo into the database, table by table, in bulk."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from survey.demo import answers, invitations, org
from survey.demo.bulk import Progress, insert_rows
from survey.demo.interactions import DemoInteraction
from survey.models import Answer, ComplaintCase, Delivery, Interaction, Invitation, OptOut, Response
from survey.models.invitation import new_token


def _case_rows(complaints: list[DemoInteraction], organisation: org.Organisation) -> list[dict]:
    """One complaint case per demo complaint, known by its complaint system's id."""
    return [
        {
            "case_id": f"CMP-{i.external_id}",
            "customer_id": i.customer.id,
            "opened_at": i.opened_at,
            "first_reply_at": i.first_reply_at,
            "resolved_at": i.resolved_at,
            "resolved_first_contact": i.resolved_first_contact,
            "cause": i.cause,
            "category": i.category,
            "business_line_id": organisation.line_ids[i.line],
            "team_id": organisation.team_ids[i.team],
            "created_at": i.occurred_at + timedelta(minutes=2),
            "updated_at": i.occurred_at + timedelta(minutes=2),
            "row_version": 1,
        }
        for i in complaints
    ]


def insert_interactions(
    found: list[DemoInteraction], organisation: org.Organisation, progress: Progress
) -> None:
    complaints = [i for i in found if i.type == "complaint"]
    case_rows = _case_rows(complaints, organisation)
    rows = [
        {
            "external_id": i.external_id,
            "occurred_at": i.occurred_at,
            "channel": i.channel,
            "type": i.type,
            "business_line_id": organisation.line_ids[i.line],
            "team_id": organisation.team_ids[i.team],
            "agent_id": i.agent_id,
            "category": i.category,
            "wait_seconds": i.wait_seconds,
            "customer_id": i.customer.id,
            "complaint_opened_at": i.opened_at,
            "complaint_first_reply_at": i.first_reply_at,
            "complaint_resolved_at": i.resolved_at,
            "complaint_resolved_first_contact": i.resolved_first_contact,
            "complaint_cause": i.cause,
            "complaint_case_id": None,
            "suppression_reason": i.suppression_reason,
            # The call-centre system posts a contact a couple of minutes after it ends.
            "created_at": i.occurred_at + timedelta(minutes=2),
        }
        for i in found
    ]
    with progress.phase("interactions", len(case_rows) + len(rows)) as step:
        for complaint, case_id in zip(
            complaints, insert_rows(ComplaintCase, case_rows, step) or [], strict=True
        ):
            complaint.case_id = case_id
        for row, interaction in zip(rows, found, strict=True):
            row["complaint_case_id"] = interaction.case_id
        for interaction, new_id in zip(
            found, insert_rows(Interaction, rows, step) or [], strict=True
        ):
            interaction.id = new_id


def insert_invitations(
    sent: invitations.Dispatch, setup: org.SurveySetup, progress: Progress
) -> None:
    rows = []
    for planned in sent.invitations:
        interaction = planned.interaction
        last_event = planned.completed_at or planned.opened_at or planned.sent_at
        if planned.state == "expired":
            last_event = planned.expires_at
        rows.append(
            {
                "interaction_id": interaction.id,
                "customer_id": interaction.customer.id,
                "survey_version_id": setup.version_id,
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
            }
        )
    deliveries = sum(len(p.deliveries) for p in sent.invitations)
    with progress.phase("invitations", len(rows) + deliveries + len(sent.opt_outs)) as step:
        ids = insert_rows(Invitation, rows, step) or []
        for planned, new_id in zip(sent.invitations, ids, strict=True):
            planned.id = new_id
        delivery_rows = [
            {"invitation_id": p.id, **d} for p in sent.invitations for d in p.deliveries
        ]
        insert_rows(Delivery, delivery_rows, step)
        insert_rows(OptOut, sent.opt_outs, step)


def plan_answers(
    rng: random.Random,
    sent: invitations.Dispatch,
    setup: org.SurveySetup,
    organisation: org.Organisation,
) -> list[tuple[invitations.PlannedInvitation, list[dict]]]:
    """Draw every response's answers, before the invitations are written with their times."""
    planned_answers = []
    for planned in sent.invitations:
        response = planned.response
        if response is None:
            continue
        skill = organisation.agent_skill[planned.interaction.agent_id]
        locale = planned.interaction.customer.locale
        given = answers.answer_rows(rng, planned, setup.question_ids, skill, locale)
        if response.completed_at is not None:
            # Whatever the draw said, a response is complete only after its last answer.
            response.completed_at = max(response.completed_at, given[-1]["answered_at"])
            planned.completed_at = response.completed_at
        planned_answers.append((planned, given))
    return planned_answers


def insert_responses(
    planned_answers: list[tuple[invitations.PlannedInvitation, list[dict]]],
    setup: org.SurveySetup,
    progress: Progress,
    as_of: datetime,
    close_hours: int,
) -> int:
    """Insert the responses and their answers; return how many were completed.

    A response left unfinished is closed and counted as the sweep would have done
    it: ``close_hours`` after its last answer, or at its link's expiry, if that
    moment is before ``as_of``.
    """
    rows = []
    for planned, given in planned_answers:
        response = planned.response
        assert response is not None
        last = response.completed_at or given[-1]["answered_at"]
        state, counted_at = "completed", response.completed_at
        if counted_at is None:
            due = min(last + timedelta(hours=close_hours), planned.expires_at)
            state, counted_at = ("closed_partial", due) if due <= as_of else ("partial", None)
        rows.append(
            {
                "invitation_id": planned.id,
                "survey_version_id": setup.version_id,
                "survey_channel": response.survey_channel,
                "locale": planned.interaction.customer.locale,
                "started_at": response.started_at,
                "completed_at": response.completed_at,
                "updated_at": last,
                "state": state,
                "counted_at": counted_at,
            }
        )
    total = len(rows) + sum(len(given) for _planned, given in planned_answers)
    with progress.phase("answers", total) as step:
        ids = insert_rows(Response, rows, step) or []
        answer_rows = [
            {"response_id": response_id, **row}
            for response_id, (_planned, given) in zip(ids, planned_answers, strict=True)
            for row in given
        ]
        insert_rows(Answer, answer_rows, step)
    return sum(1 for planned, _given in planned_answers if planned.state == "completed")
