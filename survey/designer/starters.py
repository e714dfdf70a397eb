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

COMPLAINT_RESOLUTION: dict[str, Any] = {
    "key": "complaint_resolution",
    "name": "Complaint resolution / 投诉处理回访",
    "title_zh": "投诉处理回访",
    "title_en": "How was your complaint handled?",
    "intro_zh": "您近期向我们反映的问题已处理完毕。请告诉我们您对处理过程的感受，帮助我们改进。",
    "intro_en": "We have finished handling the issue you raised with us. Please tell us how it went, so we can do better.",
    "thanks_zh": "感谢您的反馈。如问题仍未解决，我们的专员会尽快与您联系。",
    "thanks_en": "Thank you. If your issue is still not solved, one of our specialists will contact you soon.",
    "questions": [
        {
            "key": "resolved",
            "kind": "yes_no",
            "dimension": "complaint_handling",
            "text_zh": "您反映的问题是否已经解决？",
            "text_en": "Has the issue you raised been resolved?",
        },
        {
            "key": "speed",
            "kind": "rating_5",
            "dimension": "wait_time",
            "text_zh": "您对问题处理的速度满意吗？",
            "text_en": "How satisfied are you with how quickly your issue was handled?",
        },
        {
            "key": "handling",
            "kind": "rating_5",
            "dimension": "complaint_handling",
            "text_zh": "总体而言，您对本次投诉的处理满意吗？",
            "text_en": "Overall, how satisfied are you with how your complaint was handled?",
        },
        {
            "key": "what_went_wrong",
            "kind": "text",
            "dimension": None,
            "required": False,
            "condition": {"question": "handling", "op": "<=", "value": 2},
            "text_zh": "很抱歉让您失望了。请告诉我们哪里做得不好？",
            "text_en": "We are sorry we let you down. What went wrong?",
        },
    ],
}

RELATIONSHIP_NPS: dict[str, Any] = {
    "key": "relationship_nps",
    "name": "Relationship NPS / 客户推荐度调查",
    "title_zh": "您会向亲友推荐我们吗？",
    "title_en": "Would you recommend us?",
    "intro_zh": "作为我行的客户，您的意见对我们很重要。本调查只有两个问题。",
    "intro_en": "As our customer, your opinion matters to us. This survey has only two questions.",
    "thanks_zh": "感谢您抽出宝贵时间！",
    "thanks_en": "Thank you for your time!",
    "questions": [
        {
            "key": "nps",
            "kind": "nps_0_10",
            "dimension": "overall",
            "text_zh": "您有多大可能向亲友推荐我行？（0 = 完全不可能，10 = 非常可能）",
            "text_en": "How likely are you to recommend us to a friend or family member? (0 = not at all, 10 = extremely likely)",
        },
        {
            "key": "reason",
            "kind": "text",
            "dimension": None,
            "required": False,
            "text_zh": "您给出这个分数的主要原因是什么？",
            "text_en": "What is the main reason for your score?",
        },
    ],
}

SELF_SERVICE_CES: dict[str, Any] = {
    "key": "self_service_ces",
    "name": "Effort after self-service / 自助服务便捷度",
    "title_zh": "自助服务体验",
    "title_en": "Your self-service experience",
    "intro_zh": "您刚刚通过手机银行或网上银行办理了业务。请告诉我们办理是否方便。",
    "intro_en": "You have just completed a task in our mobile or online banking. Please tell us how easy it was.",
    "thanks_zh": "感谢您的反馈，我们会让自助服务更简单好用。",
    "thanks_en": "Thank you. We will use your feedback to make self-service simpler.",
    "questions": [
        {
            "key": "effort",
            "kind": "ces_7",
            "dimension": "products",
            "text_zh": "“银行让我轻松地办完了这项业务。”您在多大程度上同意？（1 = 非常不同意，7 = 非常同意）",
            "text_en": '"The bank made it easy for me to complete this task." How much do you agree? (1 = strongly disagree, 7 = strongly agree)',
        },
        {
            "key": "completed",
            "kind": "yes_no",
            "dimension": None,
            "text_zh": "您是否顺利办完了想办的业务？",
            "text_en": "Were you able to finish what you set out to do?",
        },
        {
            "key": "obstacle",
            "kind": "single_choice",
            "dimension": None,
            "required": False,
            "ask_voice": False,
            "condition": {"question": "completed", "op": "==", "value": 0},
            "text_zh": "是什么让您没能办完？",
            "text_en": "What stopped you?",
            "choices": [
                {
                    "value": "1",
                    "label_zh": "找不到入口",
                    "label_en": "I could not find where to do it",
                },
                {
                    "value": "2",
                    "label_zh": "操作步骤太复杂",
                    "label_en": "Too many or confusing steps",
                },
                {
                    "value": "3",
                    "label_zh": "系统出错或太慢",
                    "label_en": "An error, or it was too slow",
                },
                {"value": "4", "label_zh": "其他原因", "label_en": "Something else"},
            ],
        },
    ],
}

STARTERS: dict[str, dict[str, Any]] = {
    s["key"]: s
    for s in (POST_INTERACTION, COMPLAINT_RESOLUTION, RELATIONSHIP_NPS, SELF_SERVICE_CES)
}
