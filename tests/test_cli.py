"""The `survey` console script."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import refresh

from survey.extensions import db
from survey.models import ApiKey, User
from tests.fixtures.access import sign_in


def _users() -> list[User]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(User)))


# `survey user create` ------------------------------------------------------------------------


def test_user_create_makes_an_account_that_can_sign_in(app, runner):
    result = runner.invoke(
        args=[
            "user",
            "create",
            "Zhao.Lei@bank.example",
            "--role",
            "manager",
            "--password",
            "a long enough secret",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "zhao.lei@bank.example" in result.output
    [user] = _users()
    assert (user.email, user.role) == ("zhao.lei@bank.example", "manager")
    response = sign_in(app.test_client(), "zhao.lei@bank.example", "a long enough secret")
    assert response.status_code == 302


def test_user_create_asks_for_the_password_when_not_given(app, runner):
    result = runner.invoke(
        args=["user", "create", "qa@bank.example", "--role", "quality"],
        input="typed at the prompt\ntyped at the prompt\n",
    )
    assert result.exit_code == 0, result.output
    assert "typed at the prompt" not in result.output
    assert sign_in(app.test_client(), "qa@bank.example", "typed at the prompt").status_code == 302


def test_user_create_refuses_an_unknown_role_and_writes_nothing(runner):
    result = runner.invoke(
        args=["user", "create", "x@bank.example", "--role", "teller", "--password", "long secret 1"]
    )
    assert result.exit_code != 0
    assert "teller" in result.output and "admin" in result.output
    assert _users() == []


def test_user_create_refuses_a_second_account_for_an_address(runner):
    args = ["user", "create", "admin@bank.example", "--role", "admin", "--password", "secret one!!"]
    assert runner.invoke(args=args).exit_code == 0
    again = [
        "user",
        "create",
        "ADMIN@bank.example",
        "--role",
        "quality",
        "--password",
        "secret 2!!!",
    ]
    result = runner.invoke(args=again)
    assert result.exit_code != 0
    assert "exists already" in result.output
    [user] = _users()
    assert user.role == "admin" and user.check_password("secret one!!")


def test_user_create_refuses_a_short_password_and_writes_nothing(runner):
    result = runner.invoke(
        args=["user", "create", "a@bank.example", "--role", "admin", "--password", "short"]
    )
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert _users() == []


# `survey apikey create` ----------------------------------------------------------------------


def test_apikey_create_prints_the_key_alone_on_the_last_line_and_it_works(app, runner, api_probe):
    result = runner.invoke(args=["apikey", "create", "Call centre"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("sk_") and " " not in key
    row = db.session.scalar(sa.select(ApiKey))
    assert row.name == "Call centre" and key not in row.key_hash
    response = app.test_client().get(api_probe, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.get_json() == {"key": "Call centre"}


def test_apikey_create_limits_the_key_to_the_scopes_asked_for(app, runner, api_probe):
    result = runner.invoke(args=["apikey", "create", "CRM", "--scope", "interactions"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    response = app.test_client().get(api_probe, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403


def test_apikey_create_refuses_a_blank_name(runner):
    result = runner.invoke(args=["apikey", "create", "  "])
    assert result.exit_code != 0
    assert "name" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


def test_the_command_line_speaks_the_operators_language(runner, monkeypatch, tmp_path):
    bad = tmp_path / "agents.csv"
    bad.write_text("who,what\n", encoding="utf-8")

    def says(**environ: str) -> str:
        for name in ("SURVEY_LANG", "LANG"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        refresh()  # each command is a new process in real life; here they share a context
        return runner.invoke(args=["import", "agents", str(bad)]).output

    assert "缺少" in says(SURVEY_LANG="zh")
    assert "missing" in says(SURVEY_LANG="en", LANG="zh_CN.UTF-8")  # SURVEY_LANG wins
    assert "缺少" in says(LANG="zh_CN.UTF-8")
    assert "missing" in says(LANG="C.UTF-8")
    assert "missing" in says()


def test_rollup_rebuild_recomputes_what_the_dashboards_read(runner, invite, record_response):
    from survey.models import Rollup

    record_response(invite(), {"overall": 5, "attitude": 4}, apply=False)  # not yet rolled up
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rollup)) == 0
    result = runner.invoke(args=["rollup", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "rebuilt from 2 answers" in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.sum(Rollup.n))) == 2


def test_rollup_rebuild_off_a_terminal_reports_progress_as_log_lines(
    runner, invite, record_response
):
    record_response(invite(), {"overall": 5, "attitude": 4}, apply=False)
    result = runner.invoke(args=["rollup", "rebuild"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "rollup: 2 of 2 answers counted (100%)" in lines
    for table in ("rollup", "rollup_bank_day", "rollup_agent_week", "rollup_segment_month"):
        assert any(line.startswith(f"rollup: {table}: ") for line in lines), table


def test_rollup_rebuild_funnel_recounts_what_the_funnel_page_reads(runner, invite, record_response):
    from survey.models import FunnelRollup

    # Written straight to the rows, as a restore would: the kept funnel does not know it yet.
    record_response(invite(), {"overall": 5}, track=False)
    invite()

    def funnel() -> tuple[int, int]:
        db.session.expire_all()
        return tuple(
            db.session.execute(
                sa.select(sa.func.sum(FunnelRollup.invited), sa.func.sum(FunnelRollup.completed))
            ).one()
        )

    assert funnel() == (2, 0)
    result = runner.invoke(args=["rollup", "rebuild-funnel"])
    assert result.exit_code == 0, result.output
    assert "funnel rebuilt: 1 rows" in result.output
    assert "funnel_rollup: 1 rows in " in result.output
    assert funnel() == (2, 1)


def test_rollup_rebuild_funnel_reports_its_progress_as_it_reads(runner, invite, monkeypatch):
    from survey import cli

    invite()
    invite()
    monkeypatch.setattr(cli, "FUNNEL_PROGRESS_SECONDS", 0.0)  # every day, not every 5 s
    result = runner.invoke(args=["rollup", "rebuild-funnel"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("funnel: ")]
    assert lines and lines[-1].startswith("funnel: 2 invitations and suppressions read, up to 20")
