"""The SMS reply and keypad readers: every accepted and refused form, and hostile text.

Pure functions, so no app fixture: nothing here touches a database.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey.responses.replies import (
    KEYWORDS,
    MAX_TEXT,
    SCALES,
    Keypad,
    Reply,
    keyword,
    normalise,
    parse_keypad,
    parse_sms_answer,
)

KINDS = ("rating_5", "nps_0_10", "ces_7", "yes_no", "single_choice", "text")
CHOICES = [
    ("branch", "网点", "Branch"),
    ("phone", "电话银行", "Phone banking"),
    ("app", "手机银行", "Mobile app"),
]

# No example database: it would write .hypothesis/ into the shared working tree.
PROPERTY = settings(max_examples=300, deadline=None, database=None)
# Hostile text: every code point, lone surrogates, controls and NUL included.
ANY_CHAR = st.characters(exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR)
# Hypothesis draws at most a few thousand characters, so a drawn chunk is repeated to 10,000.
LONG_TEXT = st.text(ANY_CHAR, min_size=1, max_size=64).map(
    lambda chunk: (chunk * (10_000 // len(chunk) + 1))[:10_000]
)
EMOJI = st.sampled_from(["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇨🇳", "❤️", "\U0001f4a9"])
NASTY = st.one_of(
    ANY_TEXT,
    st.lists(st.one_of(EMOJI, st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "５"]))).map(
        "".join
    ),
)

CHINESE = {
    0: "零〇",
    1: "一壹",
    2: "二贰两兩",
    3: "三叁",
    4: "四肆",
    5: "五伍",
    6: "六陆",
    7: "七柒",
    8: "八捌",
    9: "九玖",
    10: "十拾",
}


def fullwidth(text: str) -> str:
    """Return ``text`` with ASCII letters, digits and punctuation in their fullwidth forms."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- normalise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("５", "5"),
        ("ＳＴＯＰ", "STOP"),
        ("\u3000 5\t\n", "5"),
        ("a \u3000  b", "a b"),
        ("5\x00", "5"),
        ("\ud8005", "5"),
        ("S\u200bTOP", "STOP"),
        ("\u202eSTOP", "STOP"),
        ("退订", "退订"),
        ("Stop", "Stop"),
    ],
)
def test_normalise_folds_width_drops_controls_and_collapses_spaces(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@PROPERTY
@given(NASTY)
def test_normalise_is_idempotent_and_leaves_no_controls_or_surrogates(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert not any(c < " " or "\ud800" <= c <= "\udfff" for c in once)


# --- keyword -----------------------------------------------------------------------------

STOP_WORDS = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "TD",
    "退订",
]
START_WORDS = ["START", "UNSTOP", "YES"]
HELP_WORDS = ["HELP", "INFO"]
ALL_KEYWORDS = (
    [(w, "stop") for w in STOP_WORDS]
    + [(w, "start") for w in START_WORDS]
    + [(w, "help") for w in HELP_WORDS]
)


def test_keyword_table_is_exactly_the_documented_words() -> None:
    assert {w.casefold(): k for w, k in ALL_KEYWORDS} == KEYWORDS


@pytest.mark.parametrize(("word", "kind"), ALL_KEYWORDS)
@pytest.mark.parametrize(
    "dress",
    [
        lambda w: w,
        str.lower,
        str.title,
        lambda w: f"  {w}  ",
        lambda w: f"\u3000{w}\u3000",
        fullwidth,
        lambda w: f"{w}.",
        lambda w: f"{w}!",
        lambda w: f"{w}。",
        lambda w: f"{w}！",
        lambda w: f"{fullwidth(w.lower())}！！\n",
    ],
    ids=[
        "as-is",
        "lower",
        "title",
        "spaces",
        "ideographic-spaces",
        "fullwidth",
        "period",
        "bang",
        "ideographic-stop",
        "fullwidth-bang",
        "all-at-once",
    ],
)
def test_keyword_is_recognised_in_any_case_width_spacing_and_trailing_punctuation(
    word: str, kind: str, dress
) -> None:
    assert keyword(dress(word)) == kind


@pytest.mark.parametrize(
    "text",
    [
        "please stop calling me",
        "STOP ALL",
        "T D",
        "退 订",
        "stopp",
        "5",
        "",
        "   ",
        "!STOP",
        "no",
        "Y",
        "HELP ME",
        "STOP 😡",
    ],
)
def test_keyword_refuses_anything_but_the_whole_message_being_one_keyword(text: str) -> None:
    assert keyword(text) is None


@PROPERTY
@given(
    st.sampled_from(ALL_KEYWORDS),
    st.lists(st.booleans(), min_size=11, max_size=11),
    st.booleans(),
    st.text(st.sampled_from(" \t\n\u3000\u00a0"), max_size=4),
    st.text(st.sampled_from(" \t\n\u3000\u00a0"), max_size=4),
    st.text(st.sampled_from(".!?。！？，、~ "), max_size=3),
)
def test_keyword_survives_any_mix_of_case_width_spaces_and_trailing_punctuation(
    word_kind: tuple[str, str],
    upper: list[bool],
    wide: bool,
    before: str,
    after: str,
    punctuation: str,
) -> None:
    word, kind = word_kind
    mixed = "".join(c.upper() if up else c.lower() for c, up in zip(word, upper, strict=False))
    if wide:
        mixed = fullwidth(mixed)
    assert keyword(before + mixed + punctuation + after) == kind


@PROPERTY
@given(NASTY)
def test_keyword_never_raises_and_returns_a_kind_or_none(text: str) -> None:
    assert keyword(text) in (None, "stop", "start", "help")


@settings(PROPERTY, max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(LONG_TEXT)
def test_keyword_reads_ten_thousand_characters_without_raising(text: str) -> None:
    assert keyword(text) in (None, "stop", "start", "help")


def test_keyword_padded_to_ten_thousand_characters_is_still_recognised() -> None:
    assert keyword("\u3000" * 5000 + "STOP" + "!" * 5000) == "stop"
    assert keyword("STOP" * 2500) is None


def test_yes_is_a_start_keyword_but_also_a_yes_answer() -> None:
    # The webhook opts back in only an opted-out number; for anyone else YES answers.
    assert keyword("YES") == "start"
    assert parse_sms_answer("yes_no", "YES") == Reply("answer", 1)
    assert parse_sms_answer("yes_no", "yes") == Reply("answer", 1)


# --- parse_sms_answer: scales ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "5",
        " 5 ",
        "５",
        "5分",
        "5 分",
        "５分",
        "五",
        "伍",
        "五分",
        "5。",
        "5!",
        "5！",
        "5.",
        "5分。",
        "\u30005\u3000",
        "05",
        "five",
        "Five",
        "FIVE",
        "5\x00",
        "\u200b5",
    ],
)
def test_rating_accepts_what_people_type_for_five(text: str) -> None:
    assert parse_sms_answer("rating_5", text) == Reply("answer", 5)


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("nps_0_10", "10", 10),
        ("nps_0_10", "１０", 10),
        ("nps_0_10", "十", 10),
        ("nps_0_10", "拾", 10),
        ("nps_0_10", "十分", 10),
        ("nps_0_10", "0", 0),
        ("nps_0_10", "零", 0),
        ("nps_0_10", "〇", 0),
        ("nps_0_10", "00", 0),
        ("nps_0_10", "ten", 10),
        ("nps_0_10", "zero", 0),
        ("rating_5", "两", 2),
        ("rating_5", "兩", 2),
        ("rating_5", "贰", 2),
        ("rating_5", "一", 1),
        ("ces_7", "7", 7),
        ("ces_7", "七", 7),
        ("ces_7", "柒分", 7),
    ],
)
def test_scale_reads_digits_and_numerals_of_both_languages(
    kind: str, text: str, value: int
) -> None:
    assert parse_sms_answer(kind, text) == Reply("answer", value)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("rating_5", "6"),
        ("rating_5", "0"),
        ("rating_5", "六"),
        ("rating_5", "零"),
        ("rating_5", "十"),
        ("nps_0_10", "11"),
        ("nps_0_10", "100"),
        ("ces_7", "8"),
        ("ces_7", "0"),
        ("rating_5", "-1"),
        ("rating_5", "good"),
        ("rating_5", "5 or 4"),
        ("rating_5", "55"),
        ("rating_5", "5/5"),
        ("rating_5", "5.0"),
        ("rating_5", "4.5"),
        ("rating_5", "五五"),
        ("rating_5", "٥"),  # Arabic-Indic five: int() would read it; we do not
        ("rating_5", "5分5"),
        ("rating_5", ""),
        ("rating_5", "   "),
        ("rating_5", "分"),
        ("rating_5", "。"),
        ("rating_5", "N"),
        ("nps_0_10", "一十"),
    ],
)
def test_scale_refuses_out_of_range_unreadable_and_empty_replies(kind: str, text: str) -> None:
    assert parse_sms_answer(kind, text) == Reply("invalid")


@PROPERTY
@given(st.data())
def test_scale_answer_in_range_round_trips_as_ascii_fullwidth_or_chinese(
    data: st.DataObject,
) -> None:
    kind = data.draw(st.sampled_from(sorted(SCALES)), label="kind")
    value = data.draw(st.sampled_from(list(SCALES[kind])), label="value")
    typed = data.draw(
        st.sampled_from([str(value), fullwidth(str(value)), *CHINESE[value]]), label="typed"
    )
    suffix = data.draw(st.sampled_from(["", "分", " 分", "。", "!", "！", "分。"]), label="suffix")
    spaces = data.draw(st.sampled_from(["", " ", "\u3000", "\n"]), label="spaces")
    assert parse_sms_answer(kind, spaces + typed + suffix + spaces) == Reply("answer", value)


# --- parse_sms_answer: yes/no ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("2", 0),
        ("１", 1),
        ("２", 0),
        ("是", 1),
        ("是的", 1),
        ("对", 1),
        ("對", 1),
        ("否", 0),
        ("不是", 0),
        ("不", 0),
        ("没有", 0),
        ("yes", 1),
        ("YES", 1),
        ("Yes!", 1),
        ("y", 1),
        ("Y", 1),
        ("no", 0),
        ("No.", 0),
        ("n", 0),
        ("N", 0),
        ("ｎｏ", 0),
        (" 是。", 1),
    ],
)
def test_yes_no_reads_numbers_and_words_of_both_languages(text: str, value: int) -> None:
    assert parse_sms_answer("yes_no", text) == Reply("answer", value)


@pytest.mark.parametrize("text", ["0", "3", "yes no", "maybe", "好", "", "yess", "1分"])
def test_yes_no_refuses_anything_else(text: str) -> None:
    assert parse_sms_answer("yes_no", text) == Reply("invalid")


def test_n_means_no_and_never_skip() -> None:
    assert parse_sms_answer("yes_no", "N", required=False) == Reply("answer", 0)
    assert parse_sms_answer("rating_5", "N", required=False) == Reply("invalid")


# --- parse_sms_answer: single choice -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", "branch"),
        ("2", "phone"),
        ("3", "app"),
        ("３", "app"),
        ("三", "app"),
        ("2。", "phone"),
        ("网点", "branch"),
        ("手机银行", "app"),
        ("Branch", "branch"),
        ("branch", "branch"),
        ("PHONE BANKING", "phone"),
        ("  phone   banking. ", "phone"),
        ("ｍｏｂｉｌｅ ａｐｐ", "app"),
        ("app", "app"),
        ("APP", "app"),
    ],
)
def test_single_choice_reads_its_number_label_in_either_language_or_value(
    text: str, value: str
) -> None:
    assert parse_sms_answer("single_choice", text, CHOICES) == Reply("answer", value)


@pytest.mark.parametrize("text", ["0", "4", "10", "网", "bank", "", "1 2", "branch or app"])
def test_single_choice_refuses_numbers_out_of_range_and_unknown_text(text: str) -> None:
    assert parse_sms_answer("single_choice", text, CHOICES) == Reply("invalid")


def test_single_choice_number_wins_over_a_label_that_is_a_number() -> None:
    # The message lists choices by number; a label "1" must not steal the first one.
    choices = [("none", "0", "0"), ("once", "1", "1"), ("more", "2+", "2+")]
    assert parse_sms_answer("single_choice", "1", choices) == Reply("answer", "none")
    assert parse_sms_answer("single_choice", "2+", choices) == Reply("answer", "more")


def test_single_choice_text_naming_two_choices_is_invalid() -> None:
    choices = [("a", "同上", "Same"), ("b", "同上", "Other")]
    assert parse_sms_answer("single_choice", "同上", choices) == Reply("invalid")


def test_single_choice_label_that_is_a_skip_word_is_an_answer() -> None:
    choices = [("passed", "通过", "Pass"), ("failed", "未通过", "Fail")]
    assert parse_sms_answer("single_choice", "pass", choices) == Reply("answer", "passed")


def test_single_choice_without_choices_reads_nothing() -> None:
    assert parse_sms_answer("single_choice", "1") == Reply("invalid")


# --- parse_sms_answer: skip --------------------------------------------------------------


@pytest.mark.parametrize(
    "word", ["跳过", "跳過", "skip", "SKIP", "Skip.", "ｓｋｉｐ", "pass", "PASS!"]
)
@pytest.mark.parametrize("kind", KINDS)
def test_skip_word_skips_an_optional_question(kind: str, word: str) -> None:
    assert parse_sms_answer(kind, word, CHOICES, required=False) == Reply("skip")


@pytest.mark.parametrize("kind", KINDS)
def test_skip_word_on_a_required_question_is_invalid(kind: str) -> None:
    assert parse_sms_answer(kind, "跳过", CHOICES, required=True) == Reply("invalid")


# --- parse_sms_answer: text --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "comment"),
    [
        ("  服务很好  ", "服务很好"),
        ("Great service!", "Great service!"),
        ("line one\r\nline two", "line one\nline two"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("a\x00b\x07c", "abc"),
        ("tab\there", "tab here"),
        ("ｆｕｌｌ", "full"),
        ("\u202eevil", "evil"),
        ("\ud800ok", "ok"),
        ("👨\u200d👩\u200d👧 家人", "👨\u200d👩\u200d👧 家人"),
        ("5", "5"),
        ("?!", "?!"),
        ("STOP doing that", "STOP doing that"),
    ],
)
def test_text_reply_is_the_cleaned_comment_with_line_breaks(text: str, comment: str) -> None:
    assert parse_sms_answer("text", text) == Reply("answer", comment)


def test_score_padded_to_ten_thousand_characters_is_still_read() -> None:
    assert parse_sms_answer("rating_5", " " * 9999 + "5") == Reply("answer", 5)
    assert parse_sms_answer("rating_5", "5" * 10_000) == Reply("invalid")


def test_text_reply_is_cut_at_two_thousand_characters() -> None:
    reply = parse_sms_answer("text", "意" * 5000)
    assert reply == Reply("answer", "意" * MAX_TEXT)


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01", "\u200b", "\n\n"])
def test_empty_text_reply_is_invalid_when_required_and_a_skip_when_not(text: str) -> None:
    assert parse_sms_answer("text", text, required=True) == Reply("invalid")
    assert parse_sms_answer("text", text, required=False) == Reply("skip")


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown question kind"):
        parse_sms_answer("stars", "5")
    with pytest.raises(ValueError, match="unknown question kind"):
        parse_keypad("stars", "5")


# --- parse_sms_answer: hostile text ------------------------------------------------------


def _check_reply(kind: str, reply: Reply) -> None:
    assert isinstance(reply, Reply)
    assert reply.state in ("answer", "skip", "invalid")
    if reply.state != "answer":
        assert reply.value is None
    elif kind in SCALES:
        assert type(reply.value) is int and reply.value in SCALES[kind]
    elif kind == "yes_no":
        assert reply.value in (0, 1) and type(reply.value) is int
    elif kind == "single_choice":
        assert reply.value in {value for value, _, _ in CHOICES}
    else:
        assert isinstance(reply.value, str) and 0 < len(reply.value) <= MAX_TEXT
        assert not any(
            (c < " " and c != "\n") or "\ud800" <= c <= "\udfff" or c == "\u202e"
            for c in reply.value
        )


@PROPERTY
@given(st.sampled_from(KINDS), NASTY, st.booleans())
def test_sms_answer_never_raises_and_returns_the_declared_types(
    kind: str, text: str, required: bool
) -> None:
    _check_reply(kind, parse_sms_answer(kind, text, CHOICES, required))


@settings(PROPERTY, max_examples=10, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), LONG_TEXT)
def test_sms_answer_reads_ten_thousand_characters_without_raising(kind: str, text: str) -> None:
    _check_reply(kind, parse_sms_answer(kind, text, CHOICES))


@PROPERTY
@given(
    st.lists(st.tuples(ANY_TEXT, ANY_TEXT, ANY_TEXT), max_size=5),
    NASTY,
    st.booleans(),
)
def test_single_choice_with_hostile_labels_never_raises(
    choices: list[tuple[str, str, str]], text: str, required: bool
) -> None:
    reply = parse_sms_answer("single_choice", text, choices, required)
    assert reply.state in ("answer", "skip", "invalid")
    if reply.state == "answer":
        assert reply.value in {value for value, _, _ in choices}


# --- parse_keypad ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "digits", "finished", "value"),
    [
        ("rating_5", "1", None, 1),
        ("rating_5", "5", None, 5),
        ("rating_5", "5#", None, 5),
        ("rating_5", "5", "#", 5),
        ("ces_7", "7", None, 7),
        ("nps_0_10", "0", "#", 0),
        ("nps_0_10", "10", "#", 10),
        ("nps_0_10", "10#", None, 10),
        ("nps_0_10", "9", None, 9),
        ("nps_0_10", "05", "#", 5),
        ("nps_0_10", "00", "#", 0),
        ("yes_no", "1", None, 1),
        ("yes_no", "2", None, 0),
        ("single_choice", "3", None, 3),
    ],
)
def test_keypad_reads_digits_in_range(
    kind: str, digits: str, finished: str | None, value: int
) -> None:
    assert parse_keypad(kind, digits, finished, n_choices=3) == Keypad("answer", value)


@pytest.mark.parametrize(
    ("kind", "digits"),
    [
        ("rating_5", "0"),
        ("rating_5", "6"),
        ("rating_5", "9"),
        ("ces_7", "8"),
        ("nps_0_10", "11"),
        ("nps_0_10", "100"),
        ("nps_0_10", "#5"),
        ("nps_0_10", "1#0"),
        ("yes_no", "0"),
        ("yes_no", "3"),
        ("single_choice", "0"),
        ("single_choice", "4"),
        ("rating_5", "a"),
        ("rating_5", "５"),
        ("rating_5", "٥"),
        ("rating_5", "1 2"),
        ("text", "5"),
    ],
)
def test_keypad_refuses_out_of_range_and_non_digits(kind: str, digits: str) -> None:
    assert parse_keypad(kind, digits, None, n_choices=3) == Keypad("invalid")


@pytest.mark.parametrize(
    ("digits", "finished"),
    [("*", None), ("5*", None), ("*5", None), ("1*0#", None), ("", "*"), ("5", "*")],
)
@pytest.mark.parametrize("kind", KINDS)
def test_keypad_star_anywhere_stops_calls(kind: str, digits: str, finished: str | None) -> None:
    assert parse_keypad(kind, digits, finished, n_choices=3) == Keypad("stop")
    assert parse_keypad(kind, digits, finished, n_choices=3, required=False) == Keypad("stop")


@pytest.mark.parametrize(("digits", "finished"), [("", "#"), (None, "#"), ("#", None), ("#", "#")])
def test_keypad_hash_alone_skips_an_optional_question_and_is_invalid_on_a_required_one(
    digits: str | None, finished: str | None
) -> None:
    assert parse_keypad("rating_5", digits, finished, required=False) == Keypad("skip")
    assert parse_keypad("rating_5", digits, finished, required=True) == Keypad("invalid")


@pytest.mark.parametrize(("digits", "finished"), [("", None), (None, None), ("", ""), (None, "")])
@pytest.mark.parametrize("required", [True, False])
def test_keypad_nothing_pressed_is_silence(
    digits: str | None, finished: str | None, required: bool
) -> None:
    assert parse_keypad("nps_0_10", digits, finished, required=required) == Keypad("silence")


@PROPERTY
@given(
    st.sampled_from(KINDS),
    st.one_of(st.none(), NASTY, st.text(st.sampled_from("0123456789*#"), max_size=4)),
    st.one_of(st.none(), st.sampled_from(["", "#", "*"]), ANY_TEXT),
    st.integers(min_value=0, max_value=12),
    st.booleans(),
)
def test_keypad_never_raises_and_returns_the_declared_types(
    kind: str, digits: str | None, finished: str | None, n_choices: int, required: bool
) -> None:
    result = parse_keypad(kind, digits, finished, n_choices, required)
    assert isinstance(result, Keypad)
    assert result.state in ("answer", "skip", "silence", "invalid", "stop")
    if result.state != "answer":
        assert result.value is None
    elif kind == "single_choice":
        assert type(result.value) is int and 1 <= result.value <= n_choices
    elif kind == "yes_no":
        assert result.value in (0, 1)
    else:
        assert type(result.value) is int and result.value in SCALES[kind]


@PROPERTY
@given(st.data())
def test_keypad_value_in_range_round_trips_with_or_without_a_closing_hash(
    data: st.DataObject,
) -> None:
    kind = data.draw(st.sampled_from(sorted(SCALES)), label="kind")
    value = data.draw(st.sampled_from(list(SCALES[kind])), label="value")
    closing = data.draw(st.sampled_from([("", None), ("", "#"), ("#", None)]), label="closing")
    digits = str(value) + closing[0]
    assert parse_keypad(kind, digits, closing[1]) == Keypad("answer", value)
