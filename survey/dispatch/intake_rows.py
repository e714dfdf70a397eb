"""Writing a decided interaction and its invitation as two plain INSERTs.

Intake builds the interaction and its invitation as ORM objects, since the decision
reads them, but most posts need none of what the unit of work gives: the rows are new,
nothing else points at them, and nothing is read back. The ORM's flush of the two
(dependency sort, attribute history, one INSERT each) cost about a quarter of a post's
CPU, inside the write transaction, which on SQLite holds the database's one write lock.
Here each is one Core ``INSERT … RETURNING id`` built once and bound to the objects'
values, and the objects, never added to the session, are only told their ids.

Posts that join a complaint case or name an agent we do not know yet stay on the ORM
path (``direct`` says which): those rows are linked to others that the session tracks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Interaction, Invitation

if TYPE_CHECKING:
    from survey.dispatch.intake import InteractionInput

_INTERACTION = Interaction.__table__
_INVITATION = Invitation.__table__

# Every column a new row sets, bound by name: one statement shape, compiled once.
_INTERACTION_COLUMNS = (
    "external_id",
    "occurred_at",
    "channel",
    "type",
    "business_line_id",
    "team_id",
    "agent_id",
    "category",
    "wait_seconds",
    "customer_id",
    "complaint_opened_at",
    "complaint_first_reply_at",
    "complaint_resolved_at",
    "complaint_resolved_first_contact",
    "complaint_cause",
    "payload_digest",
    "suppression_reason",
    "created_at",
)
_INVITATION_COLUMNS = (
    "interaction_id",
    "customer_id",
    "survey_version_id",
    "rule_id",
    "channels",
    "sms_mode",
    "locale",
    "token",
    "unsubscribe_token",
    "state",
    "scheduled_at",
    "expires_at",
    "created_at",
    "updated_at",
    "funnel_channel",
    "funnel_stages",
)
_INSERT_INTERACTION = (
    sa.insert(_INTERACTION)
    .values(
        {name: sa.bindparam(name, type_=_INTERACTION.c[name].type) for name in _INTERACTION_COLUMNS}
    )
    .returning(_INTERACTION.c.id)
)
_INSERT_INVITATION = (
    sa.insert(_INVITATION)
    .values(
        {name: sa.bindparam(name, type_=_INVITATION.c[name].type) for name in _INVITATION_COLUMNS}
    )
    .returning(_INVITATION.c.id)
)


def direct(data: InteractionInput) -> bool:
    """Whether a post's rows can be written as plain INSERTs (no case to join, no new agent)."""
    has_case = data.complaint is not None and data.complaint.case_id is not None
    new_agent = data.agent_id is None and bool(data.new_agent_code) and data.team_id is not None
    return not has_case and not new_agent


def insert(interaction: Interaction, invitation: Invitation | None) -> None:
    """Write the new interaction (and invitation) kept out of the session; give them their ids.

    The session is flushed first: a new customer record or address of the post is
    written there, so the interaction can point at it.
    """
    session = db.session()
    session.flush()
    connection = session.connection()
    interaction.customer_id = interaction.customer.id
    values = {name: getattr(interaction, name) for name in _INTERACTION_COLUMNS}
    interaction.id = connection.execute(_INSERT_INTERACTION, values).scalar_one()
    if invitation is None:
        return
    invitation.interaction_id = interaction.id
    invitation.customer_id = interaction.customer_id
    invitation.updated_at = invitation.created_at
    values = {name: getattr(invitation, name) for name in _INVITATION_COLUMNS}
    invitation.id = connection.execute(_INSERT_INVITATION, values).scalar_one()
