"""The comments browser: Chinese search, masking, escaping, order, filters, paging, export."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import openpyxl
import pytest
import sqlalchemy as sa

from survey import clock
from survey.dashboard import comments
from survey.extensions import db
from survey.models import Comment, User
from survey.scoring.queries import ScoreQuery

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
PERIOD = "from=2026-11-01&to=2026-11-29"
EN = {"Accept-Language": "en"}
CARD = "6200000000000005"  # a UnionPay test number, Luhn-valid
RESIDENT_ID = "11010519491231002X"
MOBILE = "13800138000"


@pytest.fixture(autouse=True)
def _fixed_now():
    clock.freeze(NOW)
    yield
    clock.unfreeze()


@pytest.fixture
def said(invite, record_response):
    """Record comments with their overall score; return {comment: response id}."""

    def record(
        text: str,
        overall: int | None = 3,
        agent: str = "A1001",
        days_ago: float = 1,
        **more: int,
    ) -> int:
        answers: dict[str, object] = {"comment": text, **more}
        if overall is not None:
            answers["overall"] = overall
        at = NOW - timedelta(days=days_ago)
        return record_response(invite(agent=agent), answers, completed_at=at).id

    return record


def _texts(page: str) -> list[str]:
    """The comments a page shows, in order, as a person reads them."""
    found = re.findall(r'<p class="comment-text" data-testid="comment-text">(.*?)</p>', page, re.S)
    return [unescape(t) for t in found]


def _get(client, query: str, status: int = 200) -> str:
    got = client.get(f"/comments?lang=en&{PERIOD}&{query}", headers=EN)
    assert got.status_code == status, got.get_data(as_text=True)[:2000]
    return got.get_data(as_text=True)


@pytest.fixture
def chinese(said):
    said("网点排队一个多小时，太慢了。", overall=1)
    said("客服态度很差，很不耐烦。", overall=2)
    said("非常满意，问题很快就解决了，谢谢！", overall=5)
    said("The queue was ridiculous, almost gave up.", overall=2)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("慢", ["网点排队一个多小时，太慢了。"]),  # one character
        ("态度", ["客服态度很差，很不耐烦。"]),  # two characters
        ("非常满意", ["非常满意，问题很快就解决了，谢谢！"]),  # four characters
        ("很", ["非常满意，问题很快就解决了，谢谢！", "客服态度很差，很不耐烦。"]),
        ("不满意", []),  # three characters that are in no comment, whole
    ],
)
def test_chinese_search_finds_one_two_and_four_character_words(chinese, client_as, word, expected):
    page = _get(client_as("quality"), f"q={word}")
    assert sorted(_texts(page)) == sorted(expected)
    if not expected:
        assert "No comment contains" in page


@pytest.mark.parametrize("word", ["queue", "QUEUE", "Queue Was"])
def test_english_search_ignores_capitals(chinese, client_as, word):
    page = _get(client_as("quality"), f"q={word}")
    assert _texts(page) == ["The queue was ridiculous, almost gave up."]


def test_like_wildcards_in_the_search_are_taken_literally(said, client_as):
    said("100% satisfied")
    said("1000 satisfied")
    said("a_b works")
    said("axb works")
    client = client_as("quality")
    assert _texts(_get(client, "q=100%25")) == ["100% satisfied"]
    assert _texts(_get(client, "q=a_b")) == ["a_b works"]
    assert _texts(_get(client, "q=%25")) == ["100% satisfied"]
    assert _texts(_get(client, "q=_")) == ["a_b works"]


def test_card_id_and_phone_numbers_are_masked_on_the_page(said, client_as):
    said(f"卡号{CARD}被扣了两次，身份证{RESIDENT_ID}，请回电{MOBILE}，给5分")
    page = _get(client_as("quality"), "")
    for secret in (CARD, RESIDENT_ID, MOBILE, CARD[:8], "13800138"):
        assert secret not in page
    assert _texts(page) == [
        "卡号************0005被扣了两次，身份证**************002X，请回电*******8000，给5分"
    ]


def test_search_cannot_find_a_comment_by_a_masked_number(said, client_as):
    said(f"请回电{MOBILE}，等了很久")
    client = client_as("quality")
    assert _texts(_get(client, "q=1380013")) == []
    assert _texts(_get(client, "q=8000")) == ["请回电*******8000，等了很久"]
    assert _texts(_get(client, "q=等了很久")) == ["请回电*******8000，等了很久"]


def test_a_comment_is_shown_as_text_never_as_markup(said, client_as):
    said('<script>alert("x")</script><img src=x onerror=alert(1)>')
    page = _get(client_as("quality"), "")
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert _texts(page) == ['<script>alert("x")</script><img src=x onerror=alert(1)>']


def test_lowest_overall_score_first_puts_unscored_comments_last(said, client_as):
    said("五分", overall=5, days_ago=1)
    said("一分", overall=1, days_ago=3)
    said("没打分", overall=None, days_ago=0.5)
    said("三分", overall=3, days_ago=2)
    said("也是一分，更新", overall=1, days_ago=0.2)
    client = client_as("quality")
    assert _texts(_get(client, "sort=lowest")) == [
        "也是一分，更新",
        "一分",
        "三分",
        "五分",
        "没打分",
    ]
    assert _texts(_get(client, "")) == ["也是一分，更新", "没打分", "五分", "三分", "一分"]


def test_each_comment_shows_its_scores_segment_and_time_in_the_viewers_zone(said, client_as):
    said("服务一般", overall=2, attitude=1, nps=3, agent="A2001")
    page = _get(client_as("quality"), "")
    assert 'data-score="overall" data-value="2"' in page
    assert 'data-score="attitude" data-value="1"' in page
    assert 'data-score="nps" data-value="3"' in page
    assert "Corporate banking" in page and "Han Meimei (A2001)" in page
    assert "2026-11-28 12:00" in page  # 04:00 UTC, in Shanghai


def test_the_dashboard_filters_choose_the_comments(said, client_as):
    said("个人客户的意见", agent="A1001")
    said("公司客户的意见", agent="A2001")
    said("上个月的意见", agent="A1001", days_ago=40)
    client = client_as("quality")
    assert _texts(_get(client, "agent=A2001")) == ["公司客户的意见"]
    assert _texts(_get(client, "business_line=personal")) == ["个人客户的意见"]
    assert _texts(_get(client, "business_line=personal&q=意见")) == ["个人客户的意见"]
    older = client.get("/comments?lang=en&from=2026-10-01&to=2026-10-31", headers=EN)
    assert _texts(older.get_data(as_text=True)) == ["上个月的意见"]


@pytest.mark.parametrize("sort", ["newest", "lowest"])
def test_pages_follow_one_another_without_gaps_or_repeats(said, client_as, sort):
    for i in range(45):
        said(f"第{i:02d}条", overall=1 + i % 5, days_ago=1 + (i // 3) / 24)
    client = client_as("quality")
    seen: list[str] = []
    url = f"/comments?lang=en&{PERIOD}&sort={sort}"
    pages = 0
    while url:
        page = client.get(url, headers=EN).get_data(as_text=True)
        seen.extend(_texts(page))
        pages += 1
        nxt = re.search(r'<a rel="next" href="([^"]+)"', page)
        url = unescape(nxt.group(1)) if nxt else None
    assert pages == 3
    assert sorted(seen) == sorted(f"第{i:02d}条" for i in range(45))
    assert len(set(seen)) == 45


def _lowest_first_pages(search: comments.CommentSearch, size: int) -> list[list[str]]:
    pages: list[list[str]] = []
    while True:
        found = comments.page(search, size=size)
        pages.append([c.text for c in found.comments])
        if found.next is None:
            return pages
        search = dataclasses.replace(search, after=found.next)


@pytest.mark.parametrize(("text", "window"), [("", 100), ("意见", 100), ("", 15), ("意见", 15)])
def test_lowest_first_reads_score_by_score_in_the_order_of_one_sort(said, db, text, window):
    # Scores 1–5 and none, out of order, several comments at one time (the id decides
    # then), pages that end inside a score and across one, some scores missing in a page.
    scores = [3, None, 1, 5, 1, 2, None, 4, 1, 3, 5, 2, 1, None, 4, 4, 2, 1, 3, 5, None, 2, 1]
    for i, overall in enumerate(scores):
        said(f"第{i:02d}条{'意见' if i % 3 else ''}", overall=overall, days_ago=1 + (i // 3) / 24)
    # The window is the newest comments in the filters; the words are looked for in it.
    window_rows = (
        sa.select(Comment)
        .order_by(Comment.counted_at.desc(), Comment.id.desc())
        .limit(window)
        .subquery()
    )
    one_sort = db.session.scalars(
        sa.select(window_rows.c.text)
        .where(window_rows.c.text.contains(text))
        .order_by(
            sa.func.coalesce(window_rows.c.overall, comments.NO_SCORE),
            window_rows.c.counted_at.desc(),
            window_rows.c.id.desc(),
        )
    ).all()
    assert len(one_sort) > 8
    query = ScoreQuery(date_from=date(2026, 11, 1), date_to=date(2026, 11, 29))
    search = comments.CommentSearch(query=query, text=text, sort="lowest", window=window)
    pages = _lowest_first_pages(search, size=4)
    assert [t for page in pages for t in page] == one_sort
    assert all(len(page) == 4 for page in pages[:-1])


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_comment_counted_at_text"),
        ({"business_line": ("personal",)}, "ix_comment_business_line_counted_at_text"),
        ({"team": ("personal-inquiries",)}, "ix_comment_team_counted_at_text"),
    ],
)
@pytest.mark.parametrize(("text", "sort"), [("龘", "newest"), ("", "lowest"), ("zebra", "lowest")])
# SQLite's plans only: PostgreSQL reads the table's rows (bench/RESULTS.md: within its goal).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_reads_a_window_from_an_index_that_holds_the_text(
    said, db, filters, index, text, sort
):
    """A search that finds nothing reads its whole window: from the index, not row by row."""
    assert db.engine.dialect.name == "sqlite"
    for i in range(4):
        said(f"第{i}条", overall=1 + i % 2, days_ago=1 + i)
    seen: list[tuple[str, object]] = []

    def remember(_conn, _cursor, statement, parameters, *_rest) -> None:
        if "comment.text" in statement and "FROM comment" in statement:
            seen.append((statement, parameters))

    query = ScoreQuery(date_from=date(2026, 11, 1), date_to=date(2026, 11, 29), filters=filters)
    search = comments.CommentSearch(query=query, text=text, sort=sort, window=3)
    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        comments.page(search)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    assert seen
    with db.engine.connect() as conn:
        for statement, parameters in seen:
            explained = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = [row[3] for row in explained]
            # One step: no table row read, no sort of the window (lowest first included).
            assert len(plan) == 1, plan
            assert plan[0].startswith(f"SEARCH comment USING COVERING INDEX {index} ("), plan


def test_a_search_reads_only_the_window_and_says_when_older_comments_were_left(said, db):
    for i in range(5):
        said(f"等待{i}", days_ago=1 + i)
    query = ScoreQuery(date_from=date(2026, 11, 1), date_to=date(2026, 11, 29))
    wide = comments.page(comments.CommentSearch(query=query, text="等待", window=10))
    assert [c.text for c in wide.comments] == [f"等待{i}" for i in range(5)]
    assert not wide.window_full
    narrow = comments.page(comments.CommentSearch(query=query, text="等待", window=3))
    assert [c.text for c in narrow.comments] == ["等待0", "等待1", "等待2"]
    assert narrow.window_full


@pytest.mark.parametrize(
    ("query", "field"),
    [("q=" + "慢" * 51, "q"), ("sort=worst", "sort"), ("after=nonsense", "after")],
)
def test_a_wrong_search_gets_its_message_and_a_400(said, client_as, query, field):
    said("太慢了")
    page = _get(client_as("quality"), query, status=400)
    assert 'data-testid="filter-errors"' in page
    assert f"({field})" in page


@pytest.mark.parametrize("role", ["admin", "manager", "quality"])
def test_staff_read_the_comments_and_find_them_in_the_dashboard_nav(said, client_as, role):
    said("还行")
    page = _get(client_as(role), "")
    assert re.search(r'<a href="/comments\?[^"]*" aria-current="page">Comments</a>', page)
    assert _texts(page) == ["还行"]


def test_the_comments_page_is_for_signed_in_staff_only(said, client_as):
    said("还行")
    assert client_as(None).get("/comments").status_code in (302, 401)


def test_the_comments_page_speaks_chinese(said, client_as):
    said("还行")
    page = client_as("quality").get(f"/comments?lang=zh&{PERIOD}").get_data(as_text=True)
    assert "<h1>评论</h1>" in page


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_comments_export_is_masked_and_safe_for_excel(said, client_as):
    said(f'=HYPERLINK("http://evil.example","{MOBILE}")', overall=1)
    said(f"卡号 {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]} 被盗刷", overall=2)
    said("服务很好", overall=5)
    client = client_as("quality")
    got = client.get(f"/export/comments.csv?{PERIOD}&sort=lowest", headers=EN)
    assert got.status_code == 200
    rows = _csv_rows(got.data)
    column = rows[0].index("Comment")
    texts = [r[column] for r in rows[1:]]
    assert texts == [
        '\'=HYPERLINK("http://evil.example","*******8000")',
        "卡号 **** **** **** 0005 被盗刷",
        "服务很好",
    ]
    assert [r[rows[0].index("Overall score")] for r in rows[1:]] == ["1", "2", "5"]
    xlsx = client.get(f"/export/comments.xlsx?{PERIOD}&q=卡号", headers=EN)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[1][cells[0].index("Comment")] == "卡号 **** **** **** 0005 被盗刷"
    assert len(cells) == 2
    for text in (got.data.decode("utf-8-sig"), str(cells)):
        assert MOBILE not in text and CARD[:8] not in text


def test_the_responses_export_masks_comments_with_the_same_masker(said, client_as):
    said(f"身份证{RESIDENT_ID}，给5分", overall=1)
    got = client_as("quality").get(f"/export/responses.csv?{PERIOD}", headers=EN)
    rows = _csv_rows(got.data)
    comment = rows[1][rows[0].index("comment")]
    assert comment == "身份证**************002X，给5分"


def test_a_comment_is_searchable_once_its_response_is_counted(invite, record_response, client_as):
    from survey.scoring import rollup

    response = record_response(invite(), {"overall": 2, "comment": "还没算进来"}, apply=False)
    client = client_as("quality")
    assert _texts(_get(client, "q=算进")) == []
    rollup.apply_response(response)  # as answers.complete and partials.close do
    db.session.commit()
    assert _texts(_get(client, "q=算进")) == ["还没算进来"]


def test_rollup_rebuild_rebuilds_the_comments_index(invite, record_response, runner, client_as):
    record_response(invite(), {"overall": 2, "comment": "重建以后才有"}, apply=False)
    result = runner.invoke(args=["rollup", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "comments index rebuilt: 1 comments" in result.output
    assert _texts(_get(client_as("quality"), "")) == ["重建以后才有"]


def test_a_comment_with_a_case_links_to_it_and_only_its_owner_reads_it_whole(said, client_as):
    from survey.models import FollowUpCase, Response

    response_id = said(f"卡号{CARD}被扣了两次，请回电{MOBILE}", overall=1)
    said("另一条，没有回访", overall=4)
    owner = client_as("quality")
    owner_user = db.session.scalar(sa.select(User).where(User.role == "quality"))
    response = db.session.get_one(Response, response_id)
    case = FollowUpCase(
        response_id=response_id,
        customer_id=response.invitation.customer_id,
        owner_id=owner_user.id,
        due_at=NOW + timedelta(hours=24),
    )
    db.session.add(case)
    db.session.commit()
    other = client_as("admin")  # admins see contact details, but the comment stays masked

    mine = _get(owner, "")
    assert f"/followups/{case.id}" in mine and mine.count('data-testid="open-case"') == 1
    assert CARD in mine and MOBILE in mine  # the case's owner reads it whole
    theirs = _get(other, "")
    assert f"/followups/{case.id}" in theirs
    assert CARD not in theirs and MOBILE not in theirs
