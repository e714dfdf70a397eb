"""The improvement action form. The service checks it again and checks what needs the database."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from survey.actions.service import (
    DESCRIPTION_MAX,
    KIND_LABELS,
    TARGET_KIND_LABELS,
    TITLE_MAX,
    target_choices,
)
from survey.admin.forms import DayField
from survey.models.action import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS


class ActionForm(FlaskForm):
    title_zh = StringField(
        _l("Title in Chinese"),
        validators=[InputRequired(_l("Enter the title in Chinese.")), Length(max=TITLE_MAX)],
    )
    title_en = StringField(
        _l("Title in English"),
        validators=[InputRequired(_l("Enter the title in English.")), Length(max=TITLE_MAX)],
    )
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()]
    )
    started_on = DayField(
        _l("Started on"), validators=[InputRequired(_l("Use a date like 2026-11-29."))]
    )
    target = SelectField(_l("Aimed at"), validate_choice=False)
    window_days = IntegerField(
        _l("Days compared before and after"),
        default=DEFAULT_WINDOW_DAYS,
        validators=[
            InputRequired(_l("Use a whole number of days from 1 to %(n)d.", n=MAX_WINDOW_DAYS)),
            NumberRange(
                min=1,
                max=MAX_WINDOW_DAYS,
                message=_l("Use a whole number of days from 1 to %(n)d.", n=MAX_WINDOW_DAYS),
            ),
        ],
    )
    description_zh = TextAreaField(
        _l("What was done, in Chinese"), validators=[Optional(), Length(max=DESCRIPTION_MAX)]
    )
    description_en = TextAreaField(
        _l("What was done, in English"), validators=[Optional(), Length(max=DESCRIPTION_MAX)]
    )

    def offer_targets(self, locale: str) -> None:
        """Fill the target list, grouped by kind (the service checks the one chosen)."""
        self.target.choices = {
            str(TARGET_KIND_LABELS[kind]): [SelectChoice(v, label) for v, label in options]
            for kind, options in target_choices(locale).items()
        }
