"""Improvement actions: recorded (checked, audited), judged from the rollups, marked on trends.

The bank below answers on two days, one in each window of an action that starts on
1 November with 7-day windows (before 25–31 October, after 1–7 November):

    overall 4–5 of n      before    after
    personal (A1001)      10/20     18/20
    corporate (A2001)     12/20     12/20
    no business line       1/1       1/1

    wait time             10/40     30/40
    attitude              30/40     28/40
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.actions import effect, service
from survey.extensions import db
from survey.models import ImprovementAction

Z = 1.959963984540054
EN = {"Accept-Language": "en"}


def _answers(i: int, overall: int, wait: int, attitude: int) -> dict[str, int]:
    return {
        "overall": 5 if i < overall else 2,
        "wait_time": 4 if i < wait else 2,
        "attitude": 4 if i < attitude else 1,
    }


@pytest.fixture
def bank(db, invite, record_response):
    # (satisfied on overall, on wait time, on attitude) of 20 answers per agent and window.
    windows = {
        datetime(2026, 10, 28, 4, 0, tzinfo=UTC): {"A1001": (10, 5, 15), "A2001": (12, 5, 15)},
        datetime(2026, 11, 4, 4, 0, tzinfo=UTC): {"A1001": (18, 15, 14), "A2001": (12, 15, 14)},
    }
    for at, agents in windows.items():
        clock.freeze(at)
        for agent, counts in agents.items():
            for i in range(20):
                record_response(invite(agent=agent), _answers(i, *counts))
        record_response(invite(agent=None), {"overall": 5})
    clock.freeze(datetime(2026, 11, 20, 4, 0, tzinfo=UTC))


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


def test_an_action_page_compares_the_target_with_the_rest_of_the_bank(bank, client_as):
    action = _action()
    page = client_as("quality").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
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


def test_a_dimension_is_compared_with_the_other_dimensions(bank, client_as):
    action = _action(target_kind="dimension", target_code="wait_time", title_en="More staff")
    page = client_as("manager").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
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


def test_a_target_that_is_the_whole_bank_leaves_no_rest_and_is_not_enough(bank, client_as):
    # Every answer is about an account: the rest of the bank has no answers at all.
    action = _action(target_kind="category", target_code="account")
    page = client_as("quality").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    assert 'data-verdict="not_enough"' in page
    assert _cells(page, "rest")["before"] == {"n": "0", "value": ""}
    assert "Not enough answers yet: each of the four windows needs at least 5" in page
    assert 'data-testid="did"' not in page


def test_a_window_under_min_n_holds_the_verdict_back(bank, db, client_as):
    settings.put("min_n", 21)
    db.session.commit()
    action = _action()
    page = client_as("quality").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    assert 'data-verdict="not_enough"' in page
    assert "n = 20 &lt; 21" in page
    assert _cells(page, "rest")["before"] == {"n": "21", "value": str(13 / 21)}


def test_an_after_window_still_running_is_not_judged(bank, client_as):
    clock.freeze(datetime(2026, 11, 7, 4, 0, tzinfo=UTC))  # the after window's last day
    action = _action()
    page = client_as("quality").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    assert 'data-verdict="open"' in page
    assert "Not judged yet: the after window is still open until 2026-11-07." in page
    clock.freeze(datetime(2026, 11, 7, 16, 0, tzinfo=UTC))  # 00:00 on the 8th in Shanghai
    page = client_as("manager").get(f"/actions/{action.id}", headers=EN).get_data(as_text=True)
    assert 'data-verdict="improved"' in page


def test_windows_are_thirty_days_each_unless_changed():
    action = ImprovementAction(started_on=date(2026, 11, 1), window_days=30)
    found = effect.windows(action, date(2026, 11, 30))
    assert found.before == (date(2026, 10, 2), date(2026, 10, 31))
    assert found.after == (date(2026, 11, 1), date(2026, 11, 30))
    assert not found.finished
    assert effect.windows(action, date(2026, 12, 1)).finished


def test_the_list_shows_each_action_with_its_verdict(bank, client_as):
    improved, whole = _action(), _action(target_kind="category", target_code="account")
    page = client_as("quality").get("/actions", headers=EN).get_data(as_text=True)
    assert re.search(rf'<tr data-key="{improved.id}">.*?data-value="improved"', page, re.S)
    assert re.search(rf'<tr data-key="{whole.id}">.*?data-value="not_enough"', page, re.S)
    zh = client_as("admin").get("/actions?lang=zh").get_data(as_text=True)
    assert "信用卡中心服务培训" in zh and "改进措施" in zh


# --- the form ----------------------------------------------------------------------------


def _form(**changes: str) -> dict[str, str]:
    return {
        "title_zh": "投诉处理流程优化",
        "title_en": "Complaint process change",
        "kind": "process_change",
        "target": "team:corporate-complaints",
        "started_on": "2026-11-10",
        "window_days": "30",
        "description_zh": "",
        "description_en": "Second-level review of every complaint.",
        **changes,
    }


@pytest.mark.parametrize("role", ["admin", "manager", "quality"])
def test_each_dashboard_role_records_an_action_on_record(role, scoring_org, client_as, audit_log):
    clock.freeze(datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
    client = client_as(role)
    response = client.post("/actions/new", data=_form(), headers=EN)
    assert response.status_code == 302
    action = db.session.scalar(sa.select(ImprovementAction))
    assert response.headers["Location"].endswith(f"/actions/{action.id}")
    assert (action.target_kind, action.target_code, action.window_days) == (
        "team",
        "corporate-complaints",
        30,
    )
    (event,) = audit_log("action.create")
    assert event.actor_label == f"{role}@bank.example"
    assert event.after["started_on"] == "2026-11-10"
    assert event.after["title_zh"] == "投诉处理流程优化"


def test_changing_an_action_records_what_changed(scoring_org, client_as, audit_log):
    client = client_as("quality")
    client.post("/actions/new", data=_form(), headers=EN)
    action = db.session.scalar(sa.select(ImprovementAction))
    form = client.get(f"/actions/{action.id}/edit", headers=EN).get_data(as_text=True)
    assert 'value="2026-11-10"' in form and "selected" in form
    response = client.post(
        f"/actions/{action.id}/edit", data=_form(started_on="2026-11-12", window_days="14")
    )
    assert response.status_code == 302
    (event,) = audit_log("action.update")
    assert event.before == {"started_on": "2026-11-10", "window_days": 30}
    assert event.after == {"started_on": "2026-11-12", "window_days": 14}
    client.post(f"/actions/{action.id}/edit", data=_form(started_on="2026-11-12", window_days="14"))
    assert len(audit_log("action.update")) == 1  # saving nothing new records nothing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title_zh": " "}, "title_zh", "Enter the title in Chinese."),
        ({"title_en": ""}, "title_en", "Enter the title in English."),
        ({"started_on": "11/10/2026"}, "started_on", "Use a date like 2026-11-29."),
        ({"started_on": "2000-06-01"}, "started_on", "Use a day from 2000-12-31 to"),
        (
            {"target": "team:no-such-team"},
            "target",
            "Choose a target from the list: this one does not exist.",
        ),
        ({"target": "dimension:overall"}, "target", "Choose one of the four rated dimensions."),
        ({"target": "nonsense"}, "target", "Choose the business line, team, agent"),
        ({"kind": "party"}, "kind", "Not a valid choice"),
        ({"window_days": "0"}, "window_days", "Use a whole number of days from 1 to 365."),
        ({"title_en": "x" * 201}, "title_en", "200"),
    ],
)
def test_a_wrong_field_is_refused_beside_it_and_nothing_is_saved(
    changes, field, message, scoring_org, client_as, audit_log
):
    response = client_as("manager").post("/actions/new", data=_form(**changes), headers=EN)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in html.unescape(error.group(1)), page[:3000]
    assert db.session.scalar(sa.select(sa.func.count(ImprovementAction.id))) == 0
    assert audit_log("action.create") == []


def test_a_wrong_field_is_explained_in_chinese(scoring_org, client_as):
    page = client_as("quality").post("/actions/new?lang=zh", data=_form(title_zh=""))
    assert page.status_code == 400
    assert 'id="title_zh-error">请输入中文标题。' in page.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(app, scoring_org):
    client = app.test_client()
    for path in ("/actions", "/actions/new"):
        assert "/auth/login" in client.get(path).headers["Location"]
    assert "/auth/login" in client.post("/actions/new", data=_form()).headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count(ImprovementAction.id))) == 0


def test_an_unknown_action_is_not_found(client_as, db):
    assert client_as("quality").get("/actions/999").status_code == 404


# --- marks on the trend charts ----------------------------------------------------------


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


def test_trend_charts_mark_each_action_in_range_that_the_filters_reach(bank, client_as):
    _action()  # personal banking, 1 November
    _action(target_kind="team", target_code="corporate-complaints", title_en="Complaint review",
            started_on=date(2026, 11, 5))  # fmt: skip
    _action(target_kind="dimension", target_code="wait_time", title_en="More staff",
            started_on=date(2026, 10, 20))  # fmt: skip
    _action(title_en="Last year", started_on=date(2025, 11, 1))
    _action(target_kind="category", target_code="loan", title_en="Loan leaflet",
            started_on=date(2026, 11, 2))  # fmt: skip
    client = client_as("quality")
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


def test_a_chart_with_no_action_in_range_has_no_marks(bank, client_as):
    page = client_as("quality").get(f"/?{PERIOD}", headers=EN).get_data(as_text=True)
    assert _marked(page) == {}
    assert 'data-testid="marked-actions"' not in page


def test_marks_follow_the_service_for_a_chinese_title(bank, client_as):
    _action()
    page = client_as("quality").get(f"/?{PERIOD}&lang=zh").get_data(as_text=True)
    assert _marked(page) == {"2026-11-01": "信用卡中心服务培训"}
    assert [a.id for a in service.marked(date(2026, 11, 1), date(2026, 11, 1), {})] == [1]
