"""The data model, one module per aggregate, re-exported here."""

from survey.models import funnel_grains  # noqa: F401  (the coarser funnel tables and their triggers)
from survey.models.action import ImprovementAction
from survey.models.audit import AuditEvent
from survey.models.comment import Comment
from survey.models.complaint_case import ComplaintCase
from survey.models.complaint_rollup import ComplaintRollup
from survey.models.customer import Address, Customer, OptOut, customer_address
from survey.models.export_job import ExportJob
from survey.models.followup import CaseNote, FollowUpCase
from survey.models.funnel import FunnelRollup
from survey.models.import_job import ImportJob
from survey.models.inbound import InboundEvent
from survey.models.interaction import Interaction
from survey.models.invitation import Delivery, Invitation
from survey.models.org import Agent, BusinessLine, Team
from survey.models.outbox import OutboxMessage
from survey.models.password_link import PasswordLink
from survey.models.periodic import PeriodicLease
from survey.models.response import Answer, Response
from survey.models.rollup import Rollup
from survey.models.rule import DispatchRule
from survey.models.setting import Setting
from survey.models.stamp import ConfigStamp
from survey.models.survey import Choice, Question, Survey, SurveyVersion
from survey.models.user import ApiKey, User

__all__ = [
    "Address",
    "Agent",
    "Answer",
    "ApiKey",
    "AuditEvent",
    "BusinessLine",
    "Choice",
    "Comment",
    "ComplaintCase",
    "ComplaintRollup",
    "ConfigStamp",
    "CaseNote",
    "Customer",
    "Delivery",
    "DispatchRule",
    "ExportJob",
    "FunnelRollup",
    "FollowUpCase",
    "ImportJob",
    "ImprovementAction",
    "InboundEvent",
    "Interaction",
    "Invitation",
    "OptOut",
    "OutboxMessage",
    "PasswordLink",
    "PeriodicLease",
    "Question",
    "Response",
    "Rollup",
    "Setting",
    "Survey",
    "SurveyVersion",
    "Team",
    "User",
    "customer_address",
]
