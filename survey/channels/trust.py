"""What the bank never asks in a survey: the anti-fraud line on every page and message.

One wording, in the customer's language, for the survey pages, the e-mail (HTML
and text), the voice call's introduction and, shortened to spare a segment,
every survey SMS. It names the bank from the settings, so a customer can tell
the survey from a fraudster's imitation of it.
"""

from __future__ import annotations

from survey import settings

TRUST = {
    "zh": "{bank}不会在调查中索取密码、验证码或银行卡号。",
    "en": "{bank} never asks for passwords, verification codes or card numbers in a survey.",
}
# An SMS pays for every character (70 Chinese characters a segment): the same promise, shorter.
TRUST_SMS = {
    "zh": "{bank}不会索取密码、验证码或卡号。",
    "en": "{bank} never asks for passwords, codes or card numbers.",
}
# Where the bank's name cannot be read (an error page whose database failed).
TRUST_UNNAMED = {
    "zh": "本行不会在调查中索取密码、验证码或银行卡号。",
    "en": "We never ask for passwords, verification codes or card numbers in a survey.",
}


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def trust_line(lang: str, bank: str | None = None) -> str:
    """The full line, for a page, an e-mail or a call; ``bank`` defaults to the settings'."""
    lang = _lang(lang)
    name = settings.get(f"bank_name_{lang}") if bank is None else bank
    return TRUST[lang].format(bank=name) if name else TRUST_UNNAMED[lang]


def sms_trust_line(lang: str) -> str:
    """The short line every survey SMS carries before how to stop."""
    lang = _lang(lang)
    return TRUST_SMS[lang].format(bank=settings.get(f"bank_name_{lang}"))
