"""Surveys to start from, written in both languages.

A starter is plain data; ``service.create_from_starter`` turns one into a survey.
"""

from __future__ import annotations

from typing import Any

POST_INTERACTION: dict[str, Any] = {
    "key": "post_interaction",
    "name": "Post-interaction satisfaction / 服务后满意度回访",
    "title_zh": "服务满意度回访",
    "title_en": "How did we do?",
    "intro_zh": "感谢您近期联系我们。请花一分钟告诉我们这次服务的感受。",
    "intro_en": "Thank you for contacting us recently. Please take a minute to tell us how it went.",
    "thanks_zh": "感谢您的反馈！我们会认真阅读每一条意见。",
    "thanks_en": "Thank you for your feedback. We read every comment.",
    "questions": [
        {
            "key": "attitude",
            "kind": "rating_5",
            "dimension": "attitude",
            "text_zh": "您对客服人员的服务态度满意吗？",
            "text_en": "How satisfied are you with the attitude of the staff who served you?",
        },
        {
            "key": "wait_time",
            "kind": "rating_5",
            "dimension": "wait_time",
            "text_zh": "您对本次等待时间满意吗？",
            "text_en": "How satisfied are you with how long you had to wait?",
        },
        {
            "key": "products",
            "kind": "rating_5",
            "dimension": "products",
            "text_zh": "您对我们提供的产品种类满意吗？",
            "text_en": "How satisfied are you with the range of products we offer?",
        },
        {
            "key": "complaint_handling",
            "kind": "rating_5",
            "dimension": "complaint_handling",
            "required": False,
            "text_zh": "如果您本次反映了问题或投诉，您对处理结果满意吗？",
            "text_en": "If you raised a problem or complaint, how satisfied are you with how it was handled?",
        },
        {
            "key": "overall",
            "kind": "rating_5",
            "dimension": "overall",
            "text_zh": "总体而言，您对本次服务满意吗？",
            "text_en": "Overall, how satisfied are you with this service?",
        },
        {
            "key": "nps",
            "kind": "nps_0_10",
            "dimension": None,
            "text_zh": "您有多大可能向亲友推荐我行？（0 = 完全不可能，10 = 非常可能）",
            "text_en": "How likely are you to recommend us to a friend or family member? (0 = not at all, 10 = extremely likely)",
        },
        {
            "key": "comment",
            "kind": "text",
            "dimension": None,
            "required": False,
            "ask_voice": False,
            "ask_sms": False,
            "text_zh": "还有什么想告诉我们的吗？",
            "text_en": "Is there anything else you would like to tell us?",
        },
    ],
}

STARTERS: dict[str, dict[str, Any]] = {POST_INTERACTION["key"]: POST_INTERACTION}
