"""SMS segment counting: what a message really costs to send."""

from __future__ import annotations

import pytest

from survey.channels.segments import count, total_segments


def test_plain_ascii_fits_160_characters_in_one_gsm7_segment():
    result = count("a" * 160)
    assert (result.encoding, result.units, result.segments) == ("GSM-7", 160, 1)


def test_ascii_over_160_characters_is_split_into_153_character_segments():
    assert count("a" * 161).segments == 2
    assert count("a" * 306).segments == 2
    assert count("a" * 307).segments == 3


def test_one_chinese_character_makes_the_whole_message_ucs2():
    result = count("Reply 1-5. 谢谢")
    assert result.encoding == "UCS-2"
    assert result.units == 13
    assert result.segments == 1


def test_chinese_fits_70_characters_then_splits_into_67():
    assert count("好" * 70).segments == 1
    assert count("好" * 71).segments == 2
    assert count("好" * 134).segments == 2
    assert count("好" * 135).segments == 3


def test_emoji_is_ucs2_and_counts_as_two_code_units():
    result = count("Thanks 😀")
    assert result.encoding == "UCS-2"
    assert result.units == 9
    assert count("😀" * 35).segments == 1
    assert count("😀" * 36).segments == 2


def test_gsm_extension_characters_count_twice_but_stay_gsm7():
    result = count("Cost: 5€ [ok]")
    assert result.encoding == "GSM-7"
    assert result.units == 16
    assert count("{" * 80).segments == 1
    assert count("{" * 81).segments == 2


def test_accented_latin_in_the_gsm_alphabet_stays_gsm7_but_others_do_not():
    assert count("café à Zürich").encoding == "GSM-7"
    assert count("naïve").encoding == "UCS-2"


def test_mixed_chinese_and_english_question_costs_what_the_carrier_charges():
    text = "【示例银行】您对本次服务满意吗？回复1-5分，5分最满意。Reply 1-5. 回复TD退订"
    result = count(text)
    assert result.encoding == "UCS-2"
    assert result.segments == (1 if result.units <= 70 else 2)


@pytest.mark.parametrize("messages,expected", [([], 0), (["hi", "好" * 71], 3)])
def test_a_conversation_costs_the_sum_of_its_messages(messages, expected):
    assert total_segments(messages) == expected


def test_empty_message_costs_nothing():
    assert count("").segments == 0
