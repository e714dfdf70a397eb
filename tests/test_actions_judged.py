"""Improvement actions judged from the rollups and marked on the trend charts.

The bank below answers on two days, one in each window of an action that starts on
1 November with 7-day windows (before 25–31 October, after 1–7 November):

    overall 4–5 of n      before    after
    personal (A1001)      10/20     18/20
    corporate (A2001)     12/20     12/20
    no business line       1/1       1/1

    wait time             10/40     30/40
    attitude              30/40     28/40

It is answered once per database for the module (``module_app``); each test records the
actions it judges, and they are removed after it, with the minimum n it may have changed.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.actions import effect, service
from survey.extensions import db
from survey.models import ImprovementAction
from tests.fixtures.scoring import (
    add_two_lines,
    invitation_maker,
    publish_post_interaction,
    record_completed,
)

Z = 1.959963984540054
EN = {"Accept-Language": "en"}
JUDGED_ON = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _each_test_on_the_bank_alone() -> Iterator[None]:
    """Each test reads the bank on 20 November with its own actions and the default min n."""
    clock.freeze(JUDGED_ON)
    min_n = settings.get("min_n")
    yield
    db.session.rollback()
    db.session.execute(sa.delete(ImprovementAction))
    settings.put("min_n", min_n)
    db.session.commit()


def _answers(i: int, overall: int, wait: int, attitude: int) -> dict[str, int]:
    return {
        "overall": 5 if i < overall else 2,
        "wait_time": 4 if i < wait else 2,
        "attitude": 4 if i < attitude else 1,
    }


@pytest.fixture(scope="module")
def bank(module_app) -> None:
    invite = invitation_maker(publish_post_interaction(), add_two_lines())
    # (satisfied on overall, on wait time, on attitude) of 20 answers per agent and window.
    windows = {
        datetime(2026, 10, 28, 4, 0, tzinfo=UTC): {"A1001": (10, 5, 15), "A2001": (12, 5, 15)},
        datetime(2026, 11, 4, 4, 0, tzinfo=UTC): {"A1001": (18, 15, 14), "A2001": (12, 15, 14)},
    }
    for at, agents in windows.items():
        clock.freeze(at)
        for agent, counts in agents.items():
            for i in range(20):
                record_completed(invite(agent=agent), _answers(i, *counts))
        record_completed(invite(agent=None), {"overall": 5})
    clock.freeze(JUDGED_ON)


def _action(**fields) -> ImprovementAction:
    values = {
        "title_zh": "信用卡中心服务培训",
        "title_en": "Service training",
        "kind": "training",
        "started_on": date(2026, 11, 1),
        "target_kind": "business_line",
        "target_code": "personal",
        "window_days": 7,
        **fields,
    }
    action = ImprovementAction(**values)
    db.session.add(action)
    db.session.commit()
    return action


def _hand(shares):
    """The difference in differences of four (top, n), written out as the module docstring says."""
    p = [top / n for top, n in shares]
    estimate = (p[1] - p[0]) - (p[3] - p[2])
    se = math.sqrt(sum(q * (1 - q) / n for q, (_top, n) in zip(p, shares, strict=True)))
    return estimate, estimate - Z * se, estimate + Z * se


def _cells(page: str, row: str) -> dict[str, dict[str, str]]:
    body = re.search(rf'<tr data-key="{row}">(.*?)</tr>', page, re.S).group(1)
    return {
        m.group(1): {"n": m.group(2), "value": m.group(3)}
        for m in re.finditer(
            r'<td data-metric="(before|after)" data-n="(\d+)" data-value="([^"]*)"', body
        )
    }


def test_an_action_page_compares_the_target_with_the_rest_of_the_bank(bank, clients_once):
    action = _action()
    page = clients_once("quality").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    # The rest is the bank less the target: corporate and the answer with no business line.
    assert _cells(page, "target") == {
        "before": {"n": "20", "value": str(10 / 20)},
        "after": {"n": "20", "value": str(18 / 20)},
    }
    assert _cells(page, "rest") == {
        "before": {"n": "21", "value": str(13 / 21)},
        "after": {"n": "21", "value": str(13 / 21)},
    }
    # .5 -> .9 against 13/21 both times: .4; variance .0125 + .0045 + 2 · (13/21)(8/21)/21.
    estimate, low, high = _hand([(10, 20), (18, 20), (13, 21), (13, 21)])
    assert low > 0  # the case is one the interval decides
    did = re.search(r'data-estimate="([^"]+)" data-low="([^"]+)" data-high="([^"]+)"', page)
    assert [float(x) for x in did.groups()] == pytest.approx([estimate, low, high])
    assert 'data-verdict="improved"' in page
    # The chart: the target and the rest before and after, and the target had it moved as
    # the rest did (dashed), all in percent.
    target, rest, expected = _figure(page)["data"]
    assert (target["name"], rest["name"]) == ("Personal banking", "The rest of the bank")
    assert target["y"] == pytest.approx([50.0, 90.0])
    assert rest["y"] == pytest.approx([1300 / 21, 1300 / 21])
    assert expected["y"] == pytest.approx([50.0, 50.0]) and expected["line"]["dash"] == "dash"
    sentence = html.unescape(re.search(r'data-testid="sentence">([^<]*)<', page).group(1))
    assert sentence == (
        f"CSAT of Personal banking rose {estimate * 100:.1f} points more than the rest of the "
        f"bank (95% interval {low * 100:.1f} to {high * 100:.1f}): improved."
    )


def test_a_dimension_is_compared_with_the_other_dimensions(bank, clients_once):
    action = _action(target_kind="dimension", target_code="wait_time", title_en="More staff")
    page = clients_once("manager").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    # Wait time 10/40 -> 30/40 against attitude 30/40 -> 28/40 (no other dimension answered);
    # overall is not among the rest.
    assert _cells(page, "target")["before"]["n"] == "40"
    assert _cells(page, "rest")["after"] == {"n": "40", "value": str(28 / 40)}
    estimate, low, high = _hand([(10, 40), (30, 40), (30, 40), (28, 40)])
    did = re.search(r'data-estimate="([^"]+)" data-low="([^"]+)" data-high="([^"]+)"', page)
    assert [float(x) for x in did.groups()] == pytest.approx([estimate, low, high])
    assert "than the other dimensions" in page
    assert "Every customer answers every dimension" in page


def test_a_team_or_agent_target_reads_the_same_counts_as_its_business_line(bank):
    today = date(2026, 11, 20)
    line = effect.judge(_action(), today, 5)[1]
    team = effect.judge(_action(target_kind="team", target_code="personal-inquiries"), today, 5)[1]
    agent = effect.judge(_action(target_kind="agent", target_code="A1001"), today, 5)[1]
    assert line == team == agent
    other = effect.judge(_action(target_kind="agent", target_code="A2001"), today, 5)[1]
    assert (other.target_before.top, other.target_before.n) == (12, 20)
    assert (other.rest_after.top, other.rest_after.n) == (19, 21)


def test_a_target_that_is_the_whole_bank_leaves_no_rest_and_is_not_enough(bank, clients_once):
    # Every answer is about an account: the rest of the bank has no answers at all.
    action = _action(target_kind="category", target_code="account")
    page = clients_once("quality").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    assert 'data-verdict="not_enough"' in page
    assert _cells(page, "rest")["before"] == {"n": "0", "value": ""}
    assert "Not enough answers yet: each of the four windows needs at least 5" in page
    assert 'data-testid="did"' not in page


def test_a_window_under_min_n_holds_the_verdict_back(bank, clients_once):
    settings.put("min_n", 21)
    db.session.commit()
    action = _action()
    page = clients_once("quality").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    assert 'data-verdict="not_enough"' in page
    assert "n = 20 &lt; 21" in page
    assert _cells(page, "rest")["before"] == {"n": "21", "value": str(13 / 21)}


def test_an_after_window_still_running_is_not_judged(bank, clients_once):
    clock.freeze(datetime(2026, 11, 7, 4, 0, tzinfo=UTC))  # the after window's last day
    action = _action()
    page = clients_once("quality").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    assert 'data-verdict="open"' in page
    assert "Not judged yet: the after window is still open until 2026-11-07." in page
    clock.freeze(datetime(2026, 11, 7, 16, 0, tzinfo=UTC))  # 00:00 on the 8th in Shanghai
    page = clients_once("manager").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    assert 'data-verdict="improved"' in page


def test_windows_are_thirty_days_each_unless_changed():
    action = ImprovementAction(started_on=date(2026, 11, 1), window_days=30)
    found = effect.windows(action, date(2026, 11, 30))
    assert found.before == (date(2026, 10, 2), date(2026, 10, 31))
    assert found.after == (date(2026, 11, 1), date(2026, 11, 30))
    assert not found.finished
    assert effect.windows(action, date(2026, 12, 1)).finished


def test_the_list_shows_each_action_with_its_verdict(bank, clients_once):
    improved, whole = _action(), _action(target_kind="category", target_code="account")
    page = clients_once("quality").get("/actions", headers=EN).get_data(as_text=True)
    assert re.search(rf'<tr data-key="{improved.id}">.*?data-value="improved"', page, re.S)
    assert re.search(rf'<tr data-key="{whole.id}">.*?data-value="not_enough"', page, re.S)
    zh = clients_once("admin").get("/actions?lang=zh").get_data(as_text=True)
    assert "信用卡中心服务培训" in zh and "改进措施" in zh


def _figure(page: str) -> dict:
    raw = re.search(r'<div class="chart" data-figure="([^"]*)"', page).group(1)
    return json.loads(html.unescape(raw))


def _marked(page: str) -> dict[str, str]:
    layout = _figure(page)["layout"]
    lines = {s["x0"] for s in layout.get("shapes", [])}
    labels = {a["x"]: a["hovertext"] for a in layout.get("annotations", [])}
    assert lines == set(labels)
    return labels


PERIOD = "from=2026-10-01&to=2026-11-20"


def test_trend_charts_mark_each_action_in_range_that_the_filters_reach(bank, clients_once):
    _action()  # personal banking, 1 November
    _action(target_kind="team", target_code="corporate-complaints", title_en="Complaint review",
            started_on=date(2026, 11, 5))  # fmt: skip
    _action(target_kind="dimension", target_code="wait_time", title_en="More staff",
            started_on=date(2026, 10, 20))  # fmt: skip
    _action(title_en="Last year", started_on=date(2025, 11, 1))
    _action(target_kind="category", target_code="loan", title_en="Loan leaflet",
            started_on=date(2026, 11, 2))  # fmt: skip
    client = clients_once("quality")
    for path in ("/", "/dimensions"):
        page = client.get(f"{path}?{PERIOD}", headers=EN).get_data(as_text=True)
        assert _marked(page) == {
            "2026-10-20": "More staff",
            "2026-11-01": "Service training",
            "2026-11-02": "Loan leaflet",
            "2026-11-05": "Complaint review",
        }, path
        assert 'data-testid="marked-actions"' in page
    # A team's view: its own business line's action and the bank-wide ones, not another team's.
    page = client.get(f"/?{PERIOD}&team=personal-inquiries", headers=EN).get_data(as_text=True)
    assert set(_marked(page).values()) == {"More staff", "Service training", "Loan leaflet"}
    page = client.get(f"/?{PERIOD}&agent=A2001", headers=EN).get_data(as_text=True)
    assert set(_marked(page).values()) == {"More staff", "Complaint review", "Loan leaflet"}
    page = client.get(f"/?{PERIOD}&category=account", headers=EN).get_data(as_text=True)
    assert "Loan leaflet" not in _marked(page).values()
    page = client.get("/?from=2026-11-03&to=2026-11-20", headers=EN).get_data(as_text=True)
    assert set(_marked(page).values()) == {"Complaint review"}


def test_a_chart_with_no_action_in_range_has_no_marks(bank, clients_once):
    page = clients_once("quality").get(f"/?{PERIOD}", headers=EN).get_data(as_text=True)
    assert _marked(page) == {}
    assert 'data-testid="marked-actions"' not in page


def test_marks_follow_the_service_for_a_chinese_title(bank, clients_once):
    action = _action()
    page = clients_once("quality").get(f"/?{PERIOD}&lang=zh").get_data(as_text=True)
    assert _marked(page) == {"2026-11-01": "信用卡中心服务培训"}
    assert [a.id for a in service.marked(date(2026, 11, 1), date(2026, 11, 1), {})] == [action.id]
