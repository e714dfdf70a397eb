"""Card, resident ID and phone numbers in comments are masked; ordinary numbers are not."""

from __future__ import annotations

import time

import pytest

from survey.masking import for_viewer, luhn_valid, mask, resident_id_valid

# Published test card numbers (Visa, Amex 15, UnionPay 16 and 19, Discover), all Luhn-valid.
CARDS = (
    "4111111111111111",
    "378282246310005",
    "6200000000000005",
    "6205500000000000004",
    "6011111111111117",
)
# GB 11643 sample numbers: the check character follows MOD 11-2 and the birth date is real.
IDS = ("11010519491231002X", "440308199901101512", "320106198506152349", "510107200002290037")


def _digits_left(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@pytest.mark.parametrize("card", CARDS)
def test_a_luhn_valid_card_number_is_masked_to_its_last_four_digits(card):
    masked = mask(f"我的卡号{card}被扣了两次")
    assert card not in masked
    assert masked == f"我的卡号{'*' * (len(card) - 4)}{card[-4:]}被扣了两次"


def test_a_card_number_written_in_groups_keeps_its_grouping_and_last_four():
    assert mask("卡 4111 1111 1111 1111 谢谢") == "卡 **** **** **** 1111 谢谢"
    assert mask("card 4111-1111-1111-1111.") == "card ****-****-****-1111."


def test_a_run_of_card_length_that_fails_luhn_is_left_alone():
    assert not luhn_valid("4111111111111112")
    assert mask("流水号4111111111111112") == "流水号4111111111111112"


def test_a_run_longer_than_nineteen_digits_is_not_a_card():
    text = "单号" + "4111111111111111" + "0000"
    assert mask(text) == text


@pytest.mark.parametrize("number", IDS)
def test_a_resident_id_with_a_valid_check_character_is_masked(number):
    assert resident_id_valid(number)
    masked = mask(f"身份证号{number}，请核实")
    assert number not in masked
    assert masked == f"身份证号{'*' * 14}{number[-4:]}，请核实"


def test_a_resident_id_with_a_lower_case_x_or_in_groups_is_masked():
    assert mask("11010519491231002x") == "*" * 14 + "002x"
    assert mask("110105 19491231 002X") == "****** ******** 002X"


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002Y"[:17] + "3",  # wrong check character
        "110105194912320026",  # 32 December: no such birth date
        "110105180001010018",  # born 1800: outside the numbers' range
    ],
)
def test_an_eighteen_digit_run_that_is_not_a_resident_id_is_not_masked_as_one(number):
    assert not resident_id_valid(number)
    assert mask(number) == number or luhn_valid(number)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("请回电13800138000", "请回电*******8000"),
        ("电话：138-0013-8000", "电话：***-****-8000"),
        ("电话 138 0013 8000 找王先生", "电话 *** **** 8000 找王先生"),
        ("+86 138 0013 8000", "+** *** **** 8000"),
        ("+8613800138000", "+*********8000"),
        ("0086 13800138000", "**** *******8000"),
        ("座机 010-65528888", "座机 ***-****8888"),
        ("(0755) 8888 1234", "(****) **** 1234"),
        ("call me on +1 415 555 2671", "call me on +* *** *** 2671"),
        ("+44 20 7946 0958", "+** ** **** 0958"),
    ],
)
def test_phone_numbers_are_masked_to_their_last_four_digits(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "5 分",
        "给5分",
        "打10分，服务很好",
        "2026年12月6日",
        "2026-12-06 10:15 打的电话",
        "转账1000元，手续费12.50元",
        "订单号 12345678",
        "工号A1042态度很好",
        "排队等了45分钟，打了3次",
        "客服热线95588",
        "400-820-8888 的服务不错",
        "12345678901",  # eleven digits, but not a mobile (12…)
        "Rated 4/5, waited 20 minutes",
    ],
)
def test_ordinary_numbers_are_not_masked(text):
    assert mask(text) == text


def test_full_width_digits_count_as_digits_and_are_masked():
    # Chinese input methods can type full-width digits; a number is a number however typed.
    assert mask("卡号４１１１１１１１１１１１１１１１") == "卡号" + "*" * 12 + "１１１１"
    assert mask("手机１３８００１３８０００") == "手机" + "*" * 7 + "８０００"
    assert mask("５ 分") == "５ 分"


def test_digits_glued_to_chinese_and_latin_letters_are_still_found():
    assert mask("卡6200000000000005谢谢") == "卡************0005谢谢"
    assert mask("tel13800138000ok") == "tel*******8000ok"


def test_two_numbers_side_by_side_are_each_masked():
    assert mask("4111111111111111 13800138000") == "************1111 *******8000"
    assert mask("13800138000,13900139000") == "*******8000,*******9000"


def test_email_addresses_are_hidden_whole():
    assert mask("请发到 wang.fang@example.cn 谢谢") == "请发到 *** 谢谢"


@pytest.mark.parametrize(
    "text",
    [
        "12 " * 666,  # groups that chain into every length a number can have
        "1 " * 1000,
        "1234567890" * 200,  # one run far too long to be a number
        "a" * 2000,  # the start of an e-mail address that never comes
        "13800138000 " * 166,
    ],
    ids=["pairs", "singles", "long-run", "letters", "phones"],
)
def test_the_longest_comment_of_hostile_digits_is_masked_quickly(text):
    # A comment holds at most 2,000 characters (survey/respond/service.py MAX_TEXT).
    assert len(text) <= 2000
    started = time.perf_counter()
    mask(text)
    assert time.perf_counter() - started < 0.2


def test_a_very_long_text_is_masked_whole():
    text = "还行 5 分 1000元 13800138000 " * 10_000
    masked = mask(text)
    assert "13800138000" not in masked
    assert masked.count("*******8000") == 10_000
    assert masked.count("5 分 1000元") == 10_000


def test_nothing_but_the_numbers_changes():
    text = "<script>alert(1)</script> 卡号4111111111111111 ‮"
    masked = mask(text)
    assert masked.replace("*" * 12, "411111111111") == text
    assert _digits_left(masked).endswith("1111")


def test_for_viewer_masks_unless_the_viewer_may_read_it_unmasked():
    text = "回电13800138000"
    assert for_viewer(text) == "回电*******8000"
    assert for_viewer(text, unmasked=False) == "回电*******8000"
    assert for_viewer(text, unmasked=True) == text
    assert for_viewer(None) is None
