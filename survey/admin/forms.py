"""The admin pages' forms. Checks that need the database live in the services."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, StopValidation

from survey.auth.forms import LANGUAGE_CHOICES

ROLE_CHOICES = [
    SelectChoice("admin", _l("admin")),
    SelectChoice("manager", _l("manager")),
    SelectChoice("quality", _l("quality")),
]
SCOPE_CHOICES = [
    SelectChoice("interactions", _l("Send interactions")),
    SelectChoice("scores", _l("Read scores")),
]
FUNCTION_CHOICES = [
    SelectChoice("inquiry", _l("Inquiries")),
    SelectChoice("complaint", _l("Complaints")),
    SelectChoice("outbound", _l("Outbound calls")),
]


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="manager")
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="zh")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


def _one_chosen(_form: FlaskForm, field: SelectMultipleField) -> None:
    if not field.data:
        raise StopValidation(_("Choose at least one."))


class ApiKeyForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Give the key a name.")), Length(max=120)],
    )
    scopes = SelectMultipleField(
        _l("What it may do"),
        choices=SCOPE_CHOICES,
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        # Nothing is chosen for the admin, and no ``required`` flag: on a checkbox list the
        # browser would demand every box.
        validators=[_one_chosen],
    )


class BusinessLineForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])


class BusinessLineEditForm(FlaskForm):
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])
    active = BooleanField(_l("Active"))


class TeamForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=60)])
    business_line = SelectField(_l("Business line"), coerce=int)
    function = SelectField(_l("What the team does"), choices=FUNCTION_CHOICES)
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])


class TeamEditForm(FlaskForm):
    function = SelectField(_l("What the team does"), choices=FUNCTION_CHOICES)
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])
    active = BooleanField(_l("Active"))


class AgentForm(FlaskForm):
    code = StringField(_l("Agent code"), validators=[DataRequired(), Length(max=60)])
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])


class AgentEditForm(FlaskForm):
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])
    team = SelectField(_l("Team"), coerce=int)
    active = BooleanField(_l("Active"))


class AgentImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a file."))])


class SettingsForm(FlaskForm):
    bank_name_zh = StringField(_l("Bank name in Chinese"))
    bank_name_en = StringField(_l("Bank name in English"))
    sms_signature = StringField(_l("SMS signature"))
    default_timezone = StringField(_l("Default time zone"))
    allowed_hours_start = StringField(_l("Contact customers from"))
    allowed_hours_end = StringField(_l("Contact customers until"))
    frequency_window_days = StringField(_l("Ask a customer at most once every (days)"))
    min_n = StringField(_l("Minimum answers before a score is shown"))
    link_lifetime_hours = StringField(_l("Survey links work for (hours)"))
    partial_close_hours = StringField(
        _l("Count an unfinished survey after (hours without an answer)")
    )
    holidays = TextAreaField(_l("Holidays"), render_kw={"rows": 6})
    makeup_workdays = TextAreaField(_l("Make-up working days"), render_kw={"rows": 3})
    working_hours_start = StringField(_l("Working day starts at"))
    working_hours_end = StringField(_l("Working day ends at"))
    complaint_first_reply_hours = StringField(_l("First reply to a complaint within (hours)"))
    complaint_final_working_days = StringField(
        _l("Final result of a complaint within (working days)")
    )
    complaint_regulator_days = StringField(_l("The regulator's limit for a complaint (days)"))
    publish_needs_approval = BooleanField(
        _l("A second manager approves each survey before it is published")
    )
    sms_segments_per_second = StringField(_l("SMS segments a second, per sender"))
    calls_per_second = StringField(_l("Calls a second, per account"))
    emails_per_second = StringField(_l("E-mails a second, per mail server"))
    sms_validity_hours = StringField(_l("An SMS may wait in the provider's queue (hours)"))
    pii_retention_days = StringField(_l("Remove customers' personal data after (days)"))
    sms_two_way_mainland = BooleanField(
        _l("Our SMS route receives replies from mainland China numbers (two-way SMS for +86)")
    )
    followup_overall_max = StringField(_l("Overall rating at or below"))
    followup_nps_max = StringField(_l("Likelihood to recommend (NPS) at or below"))
    followup_complaint_max = StringField(_l("Complaint handling at or below"))
    followup_keywords = TextAreaField(_l("Keywords in a comment"), render_kw={"rows": 4})
    followup_due_hours = StringField(_l("A case is due within (working hours)"))
    followup_assignment = SelectField(
        _l("Assign new cases"),
        choices=[
            SelectChoice("round_robin", _l("To each quality user in turn")),
            SelectChoice("business_line", _l("To the quality users of the case's business line")),
        ],
        validate_choice=False,
    )
    followup_line_owners = TextAreaField(
        _l("Quality users of each business line"), render_kw={"rows": 3}
    )


class DayField(DateField):
    """A day typed as 2026-11-29 in a text box, whatever the browser's language.

    A date input shows the browser's own format (mm/dd/yyyy in an English Chrome) even on
    a Chinese page; a text box with the one format the server reads says the same to all.
    """

    widget = widgets.TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {
            "placeholder": "YYYY-MM-DD",
            "inputmode": "numeric",
            "pattern": "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "autocomplete": "off",
            **kwargs.pop("render_kw", {}),
        }
        super().__init__(label, validators, format="%Y-%m-%d", render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_("Use a date like 2026-11-29.")) from error


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    actor = StringField(_l("Who"), validators=[Optional(), Length(max=254)])
    entity_type = SelectField(
        _l("What"), choices=[SelectChoice("", _l("Everything"))], validate_choice=False
    )
    date_from = DayField(_l("From"), validators=[Optional()])
    date_to = DayField(_l("To"), validators=[Optional()])
