"""Honest previews of every channel, and the warnings a manager sees before publishing."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from survey.channels import scripts, segments
from survey.designer import conditions
from survey.models import Invitation, SurveyVersion
from survey.models.invitation import new_token

LANGS = ("zh", "en")
MAX_TWO_WAY_QUESTIONS = 3
MAX_SEGMENTS = 2


@dataclass
class SmsMessage:
    text: str
    count: segments.SegmentCount


@dataclass
class SmsPreview:
    mode: str  # "two_way" or "link"
    lang: str
    messages: list[SmsMessage] = field(default_factory=list)

    @property
    def total_segments(self) -> int:
        return sum(m.count.segments for m in self.messages)


def _sms(mode: str, lang: str, texts: list[str]) -> SmsPreview:
    return SmsPreview(mode, lang, [SmsMessage(t, segments.count(t)) for t in texts])


def link_sms_text(version: SurveyVersion, lang: str, mainland: bool = False) -> str:
    """The link-mode invitation exactly as the sending channel renders it."""
    from survey.channels import messages

    # A stand-in invitation, never stored: the real renderer, with a token of the real length.
    invitation = Invitation(token=new_token(), unsubscribe_token=new_token(), locale=lang)
    invitation.version = version
    return messages.sms_text(invitation, mainland=mainland)


def sms_previews(version: SurveyVersion, lang: str) -> list[SmsPreview]:
    """Every SMS form in one language, message by message, each with its segment count.

    Two-way and link mode where replies reach us, and the fixed link template that
    mainland China numbers get (Twilio cannot receive their replies).
    """
    return [
        _sms("two_way", lang, scripts.two_way_messages(version, lang)),
        _sms("link", lang, [link_sms_text(version, lang)]),
        _sms("link_mainland", lang, [link_sms_text(version, lang, mainland=True)]),
    ]


def condition_problems(version: SurveyVersion) -> dict[str, str]:
    """What is wrong with each question's condition, by question key."""
    return conditions.version_problems(version.questions)


def warnings(version: SurveyVersion) -> list[str]:
    """What a manager should know before publishing; none of these stops publication."""
    found = []
    sms_count = len(scripts.sms_questions(version))
    if sms_count > MAX_TWO_WAY_QUESTIONS:
        found.append(
            _(
                "Two-way SMS asks %(n)d questions: customers rarely answer more than %(max)d by text. "
                "Ask fewer by SMS, or send this survey by link.",
                n=sms_count,
                max=MAX_TWO_WAY_QUESTIONS,
            )
        )
    for lang in LANGS:
        for preview in sms_previews(version, lang):
            for number, message in enumerate(preview.messages, 1):
                if message.count.segments > MAX_SEGMENTS:
                    found.append(
                        _(
                            "%(mode)s SMS %(number)d in %(lang)s needs %(segments)d segments "
                            "(more than %(max)d): shorten it.",
                            mode={
                                "two_way": _("Two-way"),
                                "link": _("Link"),
                                "link_mainland": _("Mainland link"),
                            }[preview.mode],
                            number=number,
                            lang=_("Chinese") if lang == "zh" else _("English"),
                            segments=message.count.segments,
                            max=MAX_SEGMENTS,
                        )
                    )
    for question in scripts.voice_questions(version):
        if scripts.key_presses(question) > 1:
            found.append(
                _(
                    "Question %(n)d needs more than one key press on a voice call: the caller keys "
                    "the number, then #. The script says so; consider a 5-point question for voice.",
                    n=question.position,
                )
            )
    by_key = {q.key: q.position for q in version.questions}
    for key, text in condition_problems(version).items():
        found.append(_("Question %(n)d: %(problem)s", n=by_key[key], problem=text))
    return found
