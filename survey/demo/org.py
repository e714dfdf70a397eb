"""The demo bank: business lines, teams, agents, staff sign-ins, the survey and its rules."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from survey import clock
from survey.auth import service as auth_service
from survey.designer import service as designer_service
from survey.designer.starters import POST_INTERACTION
from survey.dispatch.rules import create_default_rule
from survey.extensions import db
from survey.models import Agent, BusinessLine, DispatchRule, Survey, Team

DEMO_PASSWORD = "demo-password-2026"
STAFF = (
    ("admin", "admin@demo.bank", "演示管理员 Demo admin"),
    ("manager", "manager@demo.bank", "演示经理 Demo manager"),
    ("quality", "quality@demo.bank", "演示质检 Demo quality"),
)
API_KEY_NAME = "Demo call-centre system / 演示呼叫中心系统"

BUSINESS_LINES = (
    ("personal", "个人金融", "Personal banking"),
    ("corporate", "公司金融", "Corporate banking"),
    ("credit_card", "信用卡中心", "Credit-card centre"),
)
TEAM_KINDS = (
    # function, code suffix, zh suffix, en suffix
    ("inquiry", "inquiries", "咨询组", "inquiries"),
    ("complaint", "complaints", "投诉组", "complaints"),
    ("outbound", "outbound", "外呼组", "outbound calls"),
)
# Agents per team code, in the order their codes A1001… are handed out. A1042 sits in
# personal-complaints, as in the API contract's example.
AGENTS: dict[str, tuple[str, ...]] = {
    "personal-inquiries": ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "Emily Chen"),
    "personal-complaints": ("黄丽", "周杰", "吴敏", "徐婷", "孙浩"),
    "personal-outbound": ("胡雪", "朱琳", "高峰"),
    "corporate-inquiries": ("林晓", "何婷婷", "郭强", "马丽"),
    "corporate-complaints": ("罗斌", "梁静", "宋佳"),
    "corporate-outbound": ("郑凯", "谢芳"),
    "credit_card-inquiries": ("韩雪", "唐磊", "冯涛", "于洋", "董丹", "David Wong", "程亮"),
    "credit_card-complaints": ("曹颖", "袁杰", "邓超", "许晴", "萧然"),
    "credit_card-outbound": ("傅明", "沈洁", "曾伟", "彭丽"),
}
LATE_AGENTS = (("personal-complaints", "吕斌"),)  # joined last: A1042
# Pinyin of every character in the agents' names, for their English names ("Wang Fang").
_PINYIN_TEXT = (
    "王Wang 芳Fang 李Li 娜Na 张Zhang 伟Wei 刘Liu 洋Yang 陈Chen 静Jing 杨Yang 帆Fan 赵Zhao 磊Lei "
    "黄Huang 丽Li 周Zhou 杰Jie 吴Wu 敏Min 徐Xu 婷Ting 孙Sun 浩Hao 胡Hu 雪Xue 朱Zhu 琳Lin 高Gao "
    "峰Feng 林Lin 晓Xiao 何He 郭Guo 强Qiang 马Ma 罗Luo 斌Bin 梁Liang 宋Song 佳Jia 郑Zheng 凯Kai "
    "谢Xie 韩Han 唐Tang 冯Feng 涛Tao 于Yu 董Dong 丹Dan 程Cheng 亮Liang 曹Cao 颖Ying 袁Yuan 邓Deng "
    "超Chao 许Xu 晴Qing 萧Xiao 然Ran 傅Fu 明Ming 沈Shen 洁Jie 曾Zeng 彭Peng 吕Lyu "
)
PINYIN = {pair[0]: pair[1:] for pair in _PINYIN_TEXT.split()}


def english_name(name_zh: str) -> str:
    """Return the pinyin of a Chinese name, family name first, as the bank writes it."""
    if name_zh.isascii():
        return name_zh
    given = "".join(PINYIN[char] for char in name_zh[1:])
    return f"{PINYIN[name_zh[0]]} {given.capitalize()}"


TEAM_SIZE = 10  # agents a team leader looks after; a bigger roster is split into more teams


@dataclass
class Organisation:
    """Ids the generators need, and who is good at the job."""

    line_ids: dict[str, int]
    team_ids: dict[str, int]
    agents_by_team: dict[str, list[int]]
    # How much better (or worse) than usual customers rate each agent, in scale points.
    agent_skill: dict[int, float]
    # (business line, team kind suffix) -> every (team code, agent id) that takes such contacts
    pools: dict[tuple[str, str], list[tuple[str, int]]]


def _extra_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Draw (Chinese name, English name) pairs for the agents a bigger bank hires."""
    from survey.demo.people import GIVEN_NAMES, SURNAMES

    names = []
    for _ in range(count):
        (surname, surname_py), (given, given_py) = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
        names.append((surname + given, f"{surname_py.capitalize()} {given_py.capitalize()}"))
    return names


def create_organisation(rng: random.Random, scale: float = 1.0) -> Organisation:
    """Create the business lines, their inquiry, complaint and outbound teams, and their agents.

    At ``scale`` 1 there are nine teams and 42 agents; a bigger bank has ``scale`` times as many
    agents in each kind of team, split into teams of about ``TEAM_SIZE``.
    """
    lines = {
        code: BusinessLine(code=code, name_zh=zh, name_en=en) for code, zh, en in BUSINESS_LINES
    }
    rosters: dict[str, list[tuple[str, str]]] = {
        team: [(name, english_name(name)) for name in names] for team, names in AGENTS.items()
    }
    for names in rosters.values():
        names.extend(_extra_names(rng, round(len(names) * scale) - len(names)))
    teams: dict[str, Team] = {}
    seats: list[tuple[int, str, str, str]] = []  # (order, team code, name zh, name en)
    pool_of: dict[str, tuple[str, str]] = {}
    for code, line in lines.items():
        for function, suffix, zh, en in TEAM_KINDS:
            roster = rosters[f"{code}-{suffix}"]
            count = max(1, -(-len(roster) // TEAM_SIZE)) if scale > 1 else 1
            for number in range(1, count + 1):
                # The first team keeps the plain code the API's callers know.
                team_code = f"{code}-{suffix}" if number == 1 else f"{code}-{suffix}-{number}"
                teams[team_code] = Team(
                    code=team_code,
                    business_line=line,
                    function=function,
                    name_zh=line.name_zh + zh + ("" if number == 1 else f"{number}"),
                    name_en=f"{line.name_en} {en}" + ("" if number == 1 else f" {number}"),
                )
                pool_of[team_code] = (code, suffix)
            for n, (name_zh, name_en) in enumerate(roster):
                team_code = (
                    f"{code}-{suffix}" if n % count == 0 else f"{code}-{suffix}-{n % count + 1}"
                )
                # The named agents keep their places (A1001…); everyone hired comes after.
                named = n < len(AGENTS[f"{code}-{suffix}"])
                order = _NAMED[(f"{code}-{suffix}", n)] if named else len(_NAMED) + len(seats)
                seats.append((order, team_code, name_zh, name_en))
    # The 41 named agents first (A1001…), then the one who joined last (A1042, as in the API
    # contract's example), then everyone a bigger bank hired.
    seats.sort()
    named = [s[1:] for s in seats if s[0] < len(_NAMED)]
    hired = [s[1:] for s in seats if s[0] >= len(_NAMED)]
    late = [(team, name, english_name(name)) for team, name in LATE_AGENTS]
    agents: list[Agent] = []
    for team_code, name_zh, name_en in named + late + hired:
        agents.append(
            Agent(
                code=f"A{1001 + len(agents)}",
                team=teams[team_code],
                name_zh=name_zh,
                name_en=name_en,
            )
        )
    db.session.add_all([*lines.values(), *teams.values(), *agents])
    db.session.flush()

    agents_by_team: dict[str, list[int]] = {code: [] for code in teams}
    pools: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for agent in agents:
        agents_by_team[agent.team.code].append(agent.id)
        pools.setdefault(pool_of[agent.team.code], []).append((agent.team.code, agent.id))
    # A few stars and a few who need coaching, so the agent ranking has something to show.
    skill = {agent.id: rng.gauss(0, 0.25) for agent in agents}
    outliers = max(3, len(agents) // 14)
    for agent in rng.sample(agents, outliers):
        skill[agent.id] = 0.5
    for agent in rng.sample([a for a in agents if skill[a.id] < 0.5], outliers):
        skill[agent.id] = -0.8
    return Organisation(
        line_ids={code: line.id for code, line in lines.items()},
        team_ids={code: team.id for code, team in teams.items()},
        agents_by_team=agents_by_team,
        agent_skill=skill,
        pools=pools,
    )


_NAMED = {
    seat: n
    for n, seat in enumerate((team, i) for team, names in AGENTS.items() for i in range(len(names)))
}


def create_staff() -> tuple[dict[str, int], str]:
    """Create the three demo sign-ins and the call-centre system's API key; return ids and key."""
    ids = {}
    for role, email, name in STAFF:
        user = auth_service.create_user(email, role, DEMO_PASSWORD, name=name)
        db.session.flush()
        ids[role] = user.id
    _row, key = auth_service.create_api_key(API_KEY_NAME, ("interactions", "scores"))
    return ids, key


@dataclass
class SurveySetup:
    survey_id: int
    version_id: int
    question_ids: dict[str, int]  # by question key
    default_rule_id: int
    complaint_rule_id: int


def create_survey(manager_id: int, published_at: datetime) -> SurveySetup:
    """Publish the bilingual post-interaction survey and the rules that send it."""
    # It went live a week before the demo's first interaction, not when the demo was loaded:
    # the survey, its version and their audit events all say so (the survey list and the
    # audit trail show the same times).
    with clock.backdated(published_at - timedelta(days=2)):
        survey = designer_service.create_from_starter(POST_INTERACTION, created_by_id=manager_id)
        db.session.flush()
    version = survey.versions[0]
    with clock.backdated(published_at):
        designer_service.publish(version, user_id=manager_id)
    default_rule = _default_rule(survey)
    # Complaints are surveyed by a phone callback first, then by SMS: answered by reply where
    # two-way SMS works (numbers abroad), by its link on mainland-China numbers.
    complaint_rule = DispatchRule(
        position=1,
        name="Complaints: phone callback, then SMS / 投诉：电话回访，其次短信",
        filters={"type": ["complaint"]},
        survey=survey,
        delay_minutes=60,
        channels=["voice", "sms"],
        sms_mode="two_way",
        sample_rate=1.0,
    )
    default_rule.position = 2
    db.session.add(complaint_rule)
    db.session.flush()
    return SurveySetup(
        survey_id=survey.id,
        version_id=version.id,
        question_ids={q.key: q.id for q in version.questions},
        default_rule_id=default_rule.id,
        complaint_rule_id=complaint_rule.id,
    )


def _default_rule(survey: Survey) -> DispatchRule:
    """Return the rule that surveys every interaction, made as the product makes it."""
    rule = create_default_rule(survey)
    db.session.flush()
    return rule
