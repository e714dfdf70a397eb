"""The templates managers start from are complete in both languages and publish as they are."""

from __future__ import annotations

import re

import pytest

from survey.designer import conditions, service
from survey.designer.starters import STARTERS
from survey.extensions import db
from survey.models.survey import DIMENSIONS, QUESTION_KINDS

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("key", sorted(STARTERS))
def test_every_template_text_exists_in_chinese_and_english(key):
    starter = STARTERS[key]
    for field in ("title", "intro", "thanks"):
        assert HAN.search(starter[f"{field}_zh"]), f"{key}.{field}_zh is not Chinese"
        assert starter[f"{field}_en"].strip() and not HAN.search(starter[f"{field}_en"])
    for q in starter["questions"]:
        assert q["kind"] in QUESTION_KINDS
        assert q.get("dimension") in (*DIMENSIONS, None)
        assert HAN.search(q["text_zh"]), q["key"]
        assert q["text_en"].strip() and not HAN.search(q["text_en"]), q["key"]
        for choice in q.get("choices", []):
            assert HAN.search(choice["label_zh"]) and choice["label_en"].strip()


def test_the_four_templates_the_bank_asked_for_exist():
    assert set(STARTERS) == {
        "post_interaction",
        "complaint_resolution",
        "relationship_nps",
        "self_service_ces",
    }
    dims = {q.get("dimension") for q in STARTERS["post_interaction"]["questions"]}
    assert {"attitude", "wait_time", "products", "complaint_handling", "overall"} <= dims
    assert any(q["kind"] == "text" for q in STARTERS["post_interaction"]["questions"])
    kinds = [q["kind"] for q in STARTERS["complaint_resolution"]["questions"]]
    assert "yes_no" in kinds and "rating_5" in kinds
    assert STARTERS["relationship_nps"]["questions"][0]["kind"] == "nps_0_10"
    assert STARTERS["self_service_ces"]["questions"][0]["kind"] == "ces_7"


@pytest.mark.parametrize("key", sorted(STARTERS))
def test_every_template_publishes_without_problems(app, key):
    survey = service.create_from_starter(STARTERS[key])
    db.session.flush()
    version = survey.versions[0]
    assert service.publish_problems(version) == []
    assert conditions.version_problems(version.questions) == {}
    assert not any(q.ask_voice for q in version.questions if q.kind == "text")
    service.publish(version)
    db.session.commit()
    assert survey.published() is version
