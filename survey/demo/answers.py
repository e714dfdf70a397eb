"""Demo answers whose scores follow from what happened, so the dashboards tell a true story.

Long waits score lower on wait time; complaints not settled at first handling,
or settled late, score lower on complaint handling; a complaint about attitude
scores lower on attitude; some agents are better liked than others; overall
follows the dimensions and the recommendation score follows overall.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from survey.demo.interactions import DemoInteraction
from survey.demo.invitations import PlannedInvitation

# Questions in the order the starter survey asks them.
RATINGS = ("attitude", "wait_time", "products", "complaint_handling", "overall")
OTHERS_RATE_COMPLAINT_HANDLING = 0.12  # non-complaints that say they raised a problem
PRODUCT_MOOD = {"loan": -0.35, "e_banking": -0.15, "credit_card": 0.1}

COMMENTS = {
    ("zh", "good"): (
        "客服非常耐心，问题很快就解决了，谢谢！",
        "服务态度很好，讲解清楚。",
        "接通很快，效率很高，点赞。",
        "很专业，一次就帮我办好了。",
        "满意，希望继续保持。",
    ),
    ("en", "good"): (
        "The agent was patient and sorted it out quickly. Thank you!",
        "Friendly and clear, very helpful.",
        "Got through fast and the problem was fixed on the first call.",
        "Very professional service.",
    ),
    ("zh", "meh"): (
        "还行吧，流程有点复杂。",
        "问题解决了，但花的时间有点长。",
        "一般，希望手机银行更好用一些。",
    ),
    ("en", "meh"): (
        "It was OK, but the process is a bit complicated.",
        "Solved in the end, but it took a while.",
        "Fine. The app could be easier to use.",
    ),
    ("zh", "wait_time"): (
        "排队等了太久才接通，浪费时间。",
        "打了好几次电话都占线，等待时间太长了。",
        "等了很久才有人回复。",
    ),
    ("en", "wait_time"): (
        "I waited far too long before anyone answered.",
        "The queue was ridiculous, almost gave up.",
    ),
    ("zh", "wait_time_branch"): ("网点排队一个多小时，太慢了。", "取号后等了很久，窗口开得太少。"),
    ("en", "wait_time_branch"): ("Queued at the branch for over an hour.",),
    ("zh", "attitude"): (
        "客服态度很差，很不耐烦。",
        "工作人员说话很冲，感觉不被尊重。",
        "问了两遍就开始不耐烦了，体验很差。",
    ),
    ("en", "attitude"): (
        "The agent was rude and impatient.",
        "I did not feel listened to at all.",
    ),
    ("zh", "complaint_handling"): (
        "投诉到现在还没有结果，一直让我等。",
        "问题反复反映了好几次都没解决。",
        "处理太慢了，答应的回电也没有回。",
    ),
    ("en", "complaint_handling"): (
        "My complaint is still not resolved after days of waiting.",
        "Nobody called back as promised.",
    ),
    ("zh", "products"): (
        "信用卡额度太低，产品选择太少。",
        "贷款利率没有竞争力，产品不够灵活。",
    ),
    ("en", "products"): (
        "Too few products for my needs, and the loan rates are not competitive.",
        "The credit card limit is too low.",
    ),
}


def _rate(rng: random.Random, latent: float, spread: float = 0.55) -> int:
    return min(5, max(1, round(latent + rng.gauss(0, spread))))


def _complaint_handling(interaction: DemoInteraction, skill: float, mood: float) -> float:
    if interaction.type != "complaint":
        return 4.0 + mood
    if interaction.resolved_first_contact:
        latent = 4.4
    elif (interaction.resolved_in_working_days or 99) <= 5:
        latent = 3.1
    else:
        latent = 2.0
    first_reply = interaction.first_reply_at
    if first_reply is None or first_reply - interaction.occurred_at > timedelta(hours=24):
        latent -= 0.5
    if interaction.cause == "system":
        latent -= 0.2
    return latent + 0.6 * skill + mood


def _wait_time(wait_seconds: int | None, mood: float) -> float:
    if wait_seconds is None:
        return 4.3 + 0.5 * mood
    for limit, latent in ((60, 4.7), (180, 4.3), (300, 3.7), (600, 3.0)):
        if wait_seconds < limit:
            return latent + 0.5 * mood
    return 2.3 + 0.5 * mood


def scores(rng: random.Random, interaction: DemoInteraction, skill: float) -> dict[str, int | None]:
    """Return the 5-point ratings (complaint handling may be skipped) and the 0–10 NPS."""
    mood = rng.gauss(0, 0.45)
    attitude = 4.35 + mood + skill
    if interaction.type == "complaint":
        attitude -= 1.3 if interaction.cause == "attitude" else 0.3
    answered_handling = (
        interaction.type == "complaint" or rng.random() < OTHERS_RATE_COMPLAINT_HANDLING
    )
    latent = {
        "attitude": attitude,
        "wait_time": _wait_time(interaction.wait_seconds, mood),
        "products": 4.0 + mood + PRODUCT_MOOD.get(interaction.category, 0.0),
        "complaint_handling": (
            _complaint_handling(interaction, skill, mood) if answered_handling else None
        ),
    }
    rated: dict[str, int | None] = {
        key: None if value is None else _rate(rng, value) for key, value in latent.items()
    }
    weights = {"attitude": 0.35, "wait_time": 0.25, "products": 0.15, "complaint_handling": 0.25}
    given = {k: w for k, w in weights.items() if rated[k] is not None}
    blended = sum(rated[k] * w for k, w in given.items()) / sum(given.values())  # type: ignore[operator]
    rated["overall"] = _rate(rng, blended, 0.4)
    rated["nps"] = min(10, max(0, round(2.4 * rated["overall"] - 1.6 + rng.gauss(0, 1.2))))
    return rated


def comment(
    rng: random.Random, locale: str, rated: dict[str, int | None], channel: str
) -> str | None:
    """Return a comment that matches the scores, or None for the many who leave none."""
    overall = rated["overall"] or 3
    if rng.random() >= (0.45 if overall <= 2 else 0.25 if overall == 3 else 0.3):
        return None
    if overall >= 4:
        mood = "good"
    else:
        dims = [k for k in RATINGS[:-1] if rated[k] is not None]
        worst = min(dims, key=lambda k: (rated[k], RATINGS.index(k)))
        mood = worst if (rated[worst] or 5) <= 2 else "meh"
        if mood == "wait_time" and channel == "branch":
            mood = "wait_time_branch"
    return rng.choice(COMMENTS[(locale, mood)])


def answer_rows(
    rng: random.Random,
    invitation: PlannedInvitation,
    question_ids: dict[str, int],
    skill: float,
    locale: str,
) -> list[dict[str, Any]]:
    """Return one response's answer rows, less their response id (an abandoned one stops early)."""
    response = invitation.response
    assert response is not None
    rated = scores(rng, invitation.interaction, skill)
    values: list[tuple[str, int | None, str | None]] = [
        (key, rated[key], None) for key in (*RATINGS, "nps") if rated[key] is not None
    ]
    if response.survey_channel == "web":  # the comment box is asked on the web page only
        text = comment(rng, locale, rated, invitation.interaction.channel)
        if text:
            values.append(("comment", None, text))
    if response.completed_at is None:
        values = values[: rng.randint(1, 3)]
    at: datetime = response.started_at
    rows = []
    for key, number, text in values:
        at += timedelta(seconds=rng.randint(5, 30))
        rows.append(
            {
                "question_id": question_ids[key],
                "value_int": number,
                "value_text": text,
                "answered_at": at,
            }
        )
    return rows
