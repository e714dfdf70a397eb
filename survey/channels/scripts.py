"""What a survey says on the two-way SMS and voice channels, in the customer's language.

The designer's previews and the channels that send use these same functions,
so what a manager sees is what a customer gets. The texts follow the
customer's language, not the staff member's, so they are written here in both
languages rather than looked up in the staff catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from survey import settings
from survey.channels.signature import signed_sms
from survey.channels.trust import trust_line
from survey.models import Question, SurveyVersion

SMS_HOW = {
    "zh": {
        "rating_5": "请回复1-5，5为非常满意。",
        "nps_0_10": "请回复0-10，10为非常愿意。",
        "ces_7": "请回复1-7，7为非常同意。",
        "yes_no": "是请回复1，否请回复2。",
        "single_choice": "请回复序号：",
        "text": "请直接回复您的意见。",
        "skip": "回复“跳过”可跳过此题。",
    },
    "en": {
        "rating_5": "Reply 1-5 (5 = very satisfied).",
        "nps_0_10": "Reply 0-10 (10 = extremely likely).",
        "ces_7": "Reply 1-7 (7 = strongly agree).",
        "yes_no": "Reply 1 for yes, 2 for no.",
        "single_choice": "Reply with a number:",
        "text": "Reply with your comments.",
        "skip": "Reply SKIP to skip.",
    },
}

VOICE_HOW = {
    "zh": {
        "rating_5": "请按1到5键，1表示非常不满意，5表示非常满意。",
        "nps_0_10": "请输入0到10的分数，再按井号键。例如10分，请按1、0，再按井号键。",
        "ces_7": "请按1到7键，1表示非常不同意，7表示非常同意。",
        "yes_no": "是请按1，否请按2。",
        "choice": "{label}请按{key}。",
        "skip": "跳过此题请按井号键。",
        "stop": "如不希望再接到调查电话，请随时按星号键。",
    },
    "en": {
        "rating_5": "Press 1 to 5, where 1 means very dissatisfied and 5 means very satisfied.",
        "nps_0_10": "Enter a score from 0 to 10, then press the hash key. For 10, press 1, 0, then hash.",
        "ces_7": "Press 1 to 7, where 1 means strongly disagree and 7 means strongly agree.",
        "yes_no": "Press 1 for yes, 2 for no.",
        "choice": "For {label}, press {key}.",
        "skip": "To skip this question, press the hash key.",
        "stop": "To stop survey calls, press the star key at any time.",
    },
}


def sms_questions(version: SurveyVersion) -> list[Question]:
    """The questions asked by two-way SMS, in order."""
    return [q for q in version.questions if q.ask_sms]


def voice_questions(version: SurveyVersion) -> list[Question]:
    """The questions asked on a voice call, in order (never free text)."""
    return [q for q in version.questions if q.ask_voice and q.kind != "text"]


def sms_question_text(question: Question, lang: str, number: int, total: int) -> str:
    """The body of one two-way SMS question, before the signature and the stop line frame it."""
    parts = [f"({number}/{total}) {question.text(lang)}", sms_how(question, lang)]
    if not question.required:
        parts.append(SMS_HOW[lang]["skip"])
    return " ".join(parts)


def two_way_messages(version: SurveyVersion, lang: str) -> list[str]:
    """Every message of a two-way SMS survey: one per question, then the thanks, each signed.

    The first, the invitation, also says what the bank never asks.
    """
    questions = sms_questions(version)
    texts = [sms_question_text(q, lang, n, len(questions)) for n, q in enumerate(questions, 1)]
    if questions and version.thanks(lang).strip():
        texts.append(version.thanks(lang).strip())
    return [signed_sms(text, lang, trust=n == 0) for n, text in enumerate(texts)]


# What two-way SMS says between the questions, in the customer's language.
SMS_REPLIES = {
    "zh": {
        "reask": "抱歉，未能识别您的回复。{how}",
        "web": "抱歉，仍未能识别您的回复。您可以在网页上完成问卷：{link}",
        "thanks": "感谢您的评价！",
        "stopped": "您已退订，我们不会再向您发送满意度调查。如需恢复，请回复START。",
        "started": "您已恢复接收满意度调查。回复TD可随时退订。",
        "help": "这是{bank}的服务满意度调查，因您近期联系过我们而发送。回复TD退订。",
        "unknown": "您好，这是{bank}的满意度调查号码。我们没有找到需要您回复的问卷。回复TD退订。",
        "done": "您已完成本次问卷，感谢您的评价！",
        "closed": "抱歉，本次问卷已结束。感谢您的关注！",
        "consent": "感谢您的评价。我们可以就此致电与您联系吗？同意请回复1，不同意请回复2。",
        "consent_again": "抱歉，未能识别您的回复。我们可以就此致电与您联系吗？同意请回复1，不同意请回复2。",
    },
    "en": {
        "reask": "Sorry, we could not read that. {how}",
        "web": "Sorry, we still could not read that. You can finish the survey here: {link}",
        "thanks": "Thank you for your feedback!",
        "stopped": "You will get no more surveys from us. Reply START to opt back in.",
        "started": "You will get our satisfaction surveys again. Reply STOP to opt out at any time.",
        "help": "{bank} customer satisfaction survey, sent because you contacted us recently. Reply STOP to opt out.",
        "unknown": "This is {bank}'s survey number. We found no survey waiting for your reply. Reply STOP to opt out.",
        "done": "You have already answered this survey. Thank you!",
        "closed": "Sorry, this survey has closed. Thank you for your time.",
        "consent": "Thank you. May we call you about this? Reply 1 for yes, 2 for no.",
        "consent_again": "Sorry, we could not read that. May we call you about this? Reply 1 for yes, 2 for no.",
    },
}


def sms_reply(name: str, lang: str, **values: str) -> str:
    """One of the conversation's own texts (a re-ask, the thanks, a STOP confirmation), unsigned."""
    return SMS_REPLIES[lang][name].format(bank=settings.get(f"bank_name_{lang}"), **values)


def sms_how(question: Question, lang: str) -> str:
    """How to answer a question by reply, naming the valid range or the options."""
    how = SMS_HOW[lang]
    text = how[question.kind]
    if question.kind == "single_choice":
        sep = "；" if lang == "zh" else "; "
        text += " " + sep.join(f"{i} {c.label(lang)}" for i, c in enumerate(question.choices, 1))
    return text


# What a call says around the questions, in the customer's language.
VOICE_REPLIES = {
    "zh": {
        "again": "抱歉，没有收到有效的按键。",
        "stopped": "好的，我们不会再就满意度调查与您联系。再见。",
        "thanks": "感谢您的评价，再见。",
        "goodbye": "感谢您的接听，再见。",
        "done": "您已完成本次问卷，感谢您的评价。再见。",
        "closed": "抱歉，本次问卷已结束。再见。",
        "consent": "感谢您的评价。我们可以就此致电与您联系吗？同意请按1，不同意请按2。",
    },
    "en": {
        "again": "Sorry, we did not get a valid key.",
        "stopped": "We will not call you about surveys again. Goodbye.",
        "thanks": "Thank you for your feedback. Goodbye.",
        "goodbye": "Thank you for taking our call. Goodbye.",
        "done": "You have already answered this survey. Thank you, goodbye.",
        "closed": "Sorry, this survey has closed. Goodbye.",
        "consent": "Thank you. Press 1 if we may call you about this, or 2 if not.",
    },
}


def voice_reply(name: str, lang: str) -> str:
    """One of the call's own sentences (a repeat, the goodbye), in the customer's language."""
    return VOICE_REPLIES[lang][name]


@dataclass(frozen=True)
class VoicePrompt:
    """One question as spoken, and what the caller does on the keypad to answer it."""

    question: Question
    text: str
    key_presses: int  # the most keys an answer needs, a closing # included


def key_presses(question: Question) -> int:
    """The most keys an answer to the question takes on a phone keypad."""
    if question.kind == "nps_0_10":
        return 3  # "1", "0", "#": two digits need a terminator to tell 1 from 10
    if question.kind == "single_choice" and len(question.choices) > 9:
        return 3
    return 1


def voice_prompt(question: Question, lang: str) -> VoicePrompt:
    """Say one question and how to answer it on the keypad."""
    how = VOICE_HOW[lang]
    if question.kind == "single_choice":
        spoken = [
            how["choice"].format(label=c.label(lang), key=i)
            for i, c in enumerate(question.choices, 1)
        ]
        options = ("" if lang == "zh" else " ").join(spoken)
    else:
        options = how[question.kind]
    parts = [question.text(lang), options]
    if not question.required:
        parts.append(how["skip"])
    joiner = "" if lang == "zh" else " "
    return VoicePrompt(question, joiner.join(parts), key_presses(question))


def voice_opening(version: SurveyVersion, lang: str) -> str:
    """What the call says before the first question: who calls, why, what we never ask, how to stop."""
    bank = settings.get(f"bank_name_{lang}")
    joiner = "" if lang == "zh" else " "
    greeting = f"您好，这里是{bank}。" if lang == "zh" else f"Hello, this is {bank}."
    parts = (greeting, version.intro(lang).strip(), trust_line(lang, bank), VOICE_HOW[lang]["stop"])
    return joiner.join(p for p in parts if p)


def voice_script(version: SurveyVersion, lang: str) -> tuple[str, Sequence[VoicePrompt], str]:
    """The whole call: the opening, each question with its keypad options, the thanks."""
    prompts = [voice_prompt(q, lang) for q in voice_questions(version)]
    return voice_opening(version, lang), prompts, version.thanks(lang).strip()
