"""Forms of the survey designer; each error is shown beside its field, in the user's language."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, ListWidget

from survey.designer import conditions
from survey.models import Question
from survey.models.rule import REMINDER_CHANNELS

KIND_LABELS = {
    "rating_5": _l("5-point rating (CSAT)"),
    "nps_0_10": _l("0–10 likelihood to recommend (NPS)"),
    "ces_7": _l("1–7 effort (CES)"),
    "yes_no": _l("Yes / no"),
    "single_choice": _l("Single choice"),
    "text": _l("Free text"),
}
DIMENSION_LABELS = {
    "": _l("None"),
    "attitude": _l("Service attitude"),
    "wait_time": _l("Wait time"),
    "products": _l("Products"),
    "complaint_handling": _l("Complaint handling"),
    "overall": _l("Overall"),
}
INTERACTION_CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "chat": _l("Chat"),
    "email": _l("E-mail"),
    "branch": _l("Branch"),
    "app": _l("App"),
}
INTERACTION_TYPE_LABELS = {
    "inquiry": _l("Inquiry"),
    "complaint": _l("Complaint"),
    "outbound": _l("Outbound call"),
}
CATEGORY_LABELS = {
    "account": _l("Account"),
    "credit_card": _l("Credit card"),
    "e_banking": _l("E-banking"),
    "loan": _l("Loan"),
    "other": _l("Other"),
}
COMPLAINT_STATE_LABELS = {
    "open": _l("Open (the survey waits for the resolution)"),
    "resolved": _l("Resolved"),
}
FILTER_LABELS = {
    "channel": _l("Interaction channel"),
    "type": _l("Interaction type"),
    "business_line": _l("Business line"),
    "team": _l("Team"),
    "category": _l("Category"),
    "complaint_state": _l("Complaint state"),
}
FILTER_VALUE_LABELS = {
    "channel": INTERACTION_CHANNEL_LABELS,
    "type": INTERACTION_TYPE_LABELS,
    "category": CATEGORY_LABELS,
    "complaint_state": COMPLAINT_STATE_LABELS,
}
OPERATOR_LABELS = {"<=": "≤", "<": "<", "==": "=", "!=": "≠", ">=": "≥", ">": ">"}


def options(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs, or a dict, into select choices."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in items]


class DraftForm(FlaskForm):
    """Carries which saved state of the draft the page showed."""

    lock_version = HiddenField()
    seen = HiddenField()

    def seen_lock(self) -> int:
        try:
            return int(self.lock_version.data)
        except (TypeError, ValueError):
            return -1

    def seen_snapshot(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.seen.data or "")
        except ValueError:
            return None


class NewSurveyForm(FlaskForm):
    name = StringField(_l("Name (for staff)"), validators=[DataRequired(), Length(max=200)])
    starter = RadioField(_l("Start from"), validators=[InputRequired()], default="blank")


class DuplicateForm(FlaskForm):
    name = StringField(_l("Name of the copy"), validators=[DataRequired(), Length(max=200)])


class DetailsForm(DraftForm):
    name = StringField(_l("Name (for staff)"), validators=[DataRequired(), Length(max=200)])
    title_zh = StringField(_l("Title in Chinese"), validators=[Length(max=200)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=200)])
    intro_zh = TextAreaField(_l("Introduction in Chinese"))
    intro_en = TextAreaField(_l("Introduction in English"))
    thanks_zh = TextAreaField(_l("Thank-you message in Chinese"))
    thanks_en = TextAreaField(_l("Thank-you message in English"))


class QuestionForm(DraftForm):
    kind = SelectField(_l("Kind of answer"), choices=options(KIND_LABELS))
    dimension = SelectField(_l("Measures"), choices=options(DIMENSION_LABELS))
    text_zh = TextAreaField(_l("Question in Chinese"), validators=[Length(max=1000)])
    text_en = TextAreaField(_l("Question in English"), validators=[Length(max=1000)])
    choices = TextAreaField(_l("Choices, one a line: Chinese | English"), validators=[Optional()])
    required = BooleanField(_l("An answer is required"), default=True)
    ask_web = BooleanField(_l("Web page (opened from e-mail and SMS links)"), default=True)
    ask_sms = BooleanField(_l("Two-way SMS"), default=True)
    ask_voice = BooleanField(_l("Voice call (keypad)"), default=True)
    # Both are checked in _validate_condition, against the earlier questions, with clearer words.
    condition_question = SelectField(
        _l("Ask only when the answer to"), choices=[], validate_choice=False
    )
    condition_op = SelectField(_l("is"), choices=options(OPERATOR_LABELS), validate_choice=False)
    condition_value = StringField(_l("Value"), validators=[Length(max=40)])

    def __init__(self, *args: Any, earlier: list[Question] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.earlier = earlier or []
        self.condition_question.choices = options(
            [("", _l("(always ask)"))]
            + [
                (q.key, f"{q.position}. {q.text_zh or q.text_en}"[:80])
                for q in self.earlier
                if q.kind != "text"
            ]
        )

    @classmethod
    def for_question(cls, question: Question, earlier: list[Question], **kw: Any) -> QuestionForm:
        condition = question.condition or {}
        return cls(
            earlier=earlier,
            data={
                "kind": question.kind,
                "dimension": question.dimension or "",
                "text_zh": question.text_zh,
                "text_en": question.text_en,
                "choices": "\n".join(f"{c.label_zh} | {c.label_en}" for c in question.choices),
                "required": question.required,
                "ask_web": question.ask_web,
                "ask_sms": question.ask_sms,
                "ask_voice": question.ask_voice,
                "condition_question": condition.get("question", ""),
                "condition_op": condition.get("op", "<="),
                "condition_value": str(condition.get("value", "")),
            },
            **kw,
        )

    def parsed_choices(self) -> list[tuple[str, str]]:
        lines = [line.strip() for line in (self.choices.data or "").splitlines() if line.strip()]
        parsed = []
        for line in lines:
            zh, _sep, en = line.partition("|")
            parsed.append((zh.strip(), en.strip()))
        return parsed

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if not (self.text_zh.data or "").strip() and not (self.text_en.data or "").strip():
            self.text_zh.errors.append(_l("Write the question in at least one language."))
            ok = False
        if self.kind.data == "text" and self.ask_voice.data:
            self.ask_voice.errors.append(_l("A free-text answer cannot be given on a voice call."))
            ok = False
        if not (self.ask_web.data or self.ask_sms.data or self.ask_voice.data):
            self.ask_web.errors.append(_l("Choose at least one place to ask this question."))
            ok = False
        if self.kind.data == "single_choice":
            choices = self.parsed_choices()
            if len(choices) < 2:
                self.choices.errors.append(_l("Give at least two choices."))
                ok = False
            elif len(choices) > 9 and self.ask_voice.data:
                self.choices.errors.append(_l("A voice question can offer at most 9 choices."))
                ok = False
        return self._validate_condition() and ok

    def _validate_condition(self) -> bool:
        key = self.condition_question.data
        if not key:
            return True
        source = next((q for q in self.earlier if q.key == key), None)
        if source is None:
            self.condition_question.errors.append(_l("Choose an earlier question."))
            return False
        if self.condition_op.data not in OPERATOR_LABELS:
            self.condition_op.errors.append(_l("Choose a comparison."))
            return False
        try:
            value = conditions.parse_value(source, self.condition_value.data or "")
        except ValueError:
            self.condition_value.errors.append(
                _l("Use %(answers)s.", answers=conditions.describe_answers(source))
            )
            return False
        text = conditions.problem(self.condition(value), self.earlier)
        if text:
            self.condition_value.errors.append(text)
            return False
        return True

    def condition(self, value: Any = None) -> dict[str, Any] | None:
        key = self.condition_question.data
        if not key:
            return None
        if value is None:
            source = next(q for q in self.earlier if q.key == key)
            value = conditions.parse_value(source, self.condition_value.data or "")
        return {"question": key, "op": self.condition_op.data or "==", "value": value}

    def spec(self) -> dict[str, Any]:
        """Return the question as the service saves it."""
        return {
            "kind": self.kind.data,
            "dimension": self.dimension.data or None,
            "text_zh": (self.text_zh.data or "").strip(),
            "text_en": (self.text_en.data or "").strip(),
            "required": bool(self.required.data),
            "ask_web": bool(self.ask_web.data),
            "ask_sms": bool(self.ask_sms.data),
            "ask_voice": bool(self.ask_voice.data),
            "condition": self.condition(),
            "choices": self.parsed_choices(),
        }


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


CHANNEL_CHOICES = [
    ("", _l("(none)")),
    ("sms", _l("SMS")),
    ("email", _l("E-mail")),
    ("voice", _l("Voice call")),
]


class RuleForm(FlaskForm):
    name = StringField(_l("Rule name"), validators=[DataRequired(), Length(max=200)])
    survey_id = SelectField(_l("Survey"), coerce=int, validators=[InputRequired()])
    channel = MultiCheckboxField(FILTER_LABELS["channel"])
    type = MultiCheckboxField(FILTER_LABELS["type"])
    business_line = MultiCheckboxField(FILTER_LABELS["business_line"])
    team = MultiCheckboxField(FILTER_LABELS["team"])
    category = MultiCheckboxField(FILTER_LABELS["category"])
    complaint_state = MultiCheckboxField(
        FILTER_LABELS["complaint_state"], choices=options(COMPLAINT_STATE_LABELS)
    )
    delay_minutes = IntegerField(
        _l("Delay after the interaction (minutes)"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=60 * 24 * 14)],
    )
    channel_1 = SelectField(_l("First choice"), choices=options(CHANNEL_CHOICES[1:]))
    channel_2 = SelectField(_l("Then"), choices=options(CHANNEL_CHOICES), validators=[Optional()])
    channel_3 = SelectField(_l("Then"), choices=options(CHANNEL_CHOICES), validators=[Optional()])
    sms_mode = RadioField(
        _l("SMS mode"),
        choices=options(
            [
                ("link", _l("A link to the web page (the only mode for mainland-China numbers)")),
                ("two_way", _l("Two-way: questions answered by reply")),
            ]
        ),
        default="link",
    )
    sample_percent = IntegerField(
        _l("Sample (percent of matching interactions)"),
        default=100,
        validators=[InputRequired(), NumberRange(min=0, max=100)],
    )
    reminder_hours = IntegerField(
        _l("Remind after (hours, empty for no reminder)"),
        validators=[Optional(), NumberRange(min=1, max=24 * 14)],
    )
    reminder_channel = RadioField(
        _l("Reminder goes by"),
        choices=options(
            [
                ("same", _l("The channel the survey was sent on")),
                ("next", _l("The next channel of this rule (the same one if none is left)")),
            ]
        ),
        default="same",
        # Checked below instead: a form posted without it (older clients) keeps "same".
        validate_choice=False,
    )
    link_lifetime_hours = IntegerField(
        _l("Link lifetime (hours, empty for the organisation's default)"),
        validators=[Optional(), NumberRange(min=1, max=24 * 60)],
    )
    active = BooleanField(_l("Active"), default=True)

    def ordered_channels(self) -> list[str]:
        picked: list[str] = []
        for value in (self.channel_1.data, self.channel_2.data, self.channel_3.data):
            if value and value not in picked:
                picked.append(value)
        return picked

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if (
            self.reminder_hours.data
            and self.link_lifetime_hours.data
            and self.reminder_hours.data >= self.link_lifetime_hours.data
        ):
            self.reminder_hours.errors.append(_l("A reminder must come before the link expires."))
            ok = False
        if self.reminder_channel.data not in (None, "", *REMINDER_CHANNELS):
            self.reminder_channel.errors = [_l("Not a valid choice.")]
            ok = False
        return ok


class TestSendForm(FlaskForm):
    email = StringField(
        _l("Your e-mail address"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    phone = StringField(
        _l("Your mobile number for the SMS (optional)"),
        validators=[
            Optional(),
            Regexp(
                r"^\+[1-9]\d{6,14}$",
                message=_l("Write the number with its country code, e.g. +8613800138000."),
            ),
        ],
    )
    lang = SelectField(_l("Language"), choices=options([("zh", "中文"), ("en", "English")]))
