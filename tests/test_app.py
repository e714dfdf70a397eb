"""The app factory: configuration precedence and the instance folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

import survey
from survey import create_app
from survey.extensions import db


def test_config_precedence_defaults_instance_file_environment_test_config(
    tmp_path: Path, monkeypatch
):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text(
        "SURVEY_TIMEZONE = 'Europe/London'\nSURVEY_PUBLIC_URL = 'https://from-file.example'\n"
        "SURVEY_SMTP_URL = 'smtp://file'\n"
    )
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("SURVEY_PUBLIC_URL", "https://from-env.example/")
    monkeypatch.setenv("SURVEY_SMTP_URL", "smtp://env")
    app = create_app({"SURVEY_SMTP_URL": "smtp://test", "SURVEY_QUEUE_URL": "memory://"})
    assert app.instance_path == str(instance)
    assert app.config["SURVEY_TIMEZONE"] == "Europe/London"  # file beats default
    assert app.config["SURVEY_PUBLIC_URL"] == "https://from-env.example"  # env beats file
    assert app.config["SURVEY_SMTP_URL"] == "smtp://test"  # test_config beats env
    assert app.config["TWILIO_API_URL"] == "https://api.twilio.com"  # default stays


def test_embedded_defaults_live_in_the_instance_folder(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "fresh"))
    monkeypatch.delenv("SURVEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("SURVEY_QUEUE_URL", raising=False)
    monkeypatch.delenv("SURVEY_SECRET_KEY", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/fresh/survey.sqlite3")
    assert app.config["SURVEY_QUEUE_URL"].endswith("/fresh/queue.sqlite3")
    secret = (tmp_path / "fresh" / "secret_key").read_text().strip()
    assert app.config["SECRET_KEY"] == secret and len(secret) >= 40
    assert create_app().config["SECRET_KEY"] == secret  # kept, not regenerated


def test_sign_in_page_answers_in_both_databases(client):
    response = client.get("/auth/login", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_public_url_follows_the_served_port_unless_set(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SURVEY_PUBLIC_URL", raising=False)
    monkeypatch.setenv("SURVEY_PORT", "5077")
    assert create_app().config["SURVEY_PUBLIC_URL"] == "http://127.0.0.1:5077"
    monkeypatch.setenv("SURVEY_PUBLIC_URL", "https://survey.bank.example/")
    assert create_app().config["SURVEY_PUBLIC_URL"] == "https://survey.bank.example"


def test_an_id_too_large_for_the_database_is_not_found(client_as):
    admin = client_as("admin")
    assert admin.get("/admin/users/99999999999999999999").status_code == 404
    assert admin.get("/admin/users/2147483648").status_code == 404


def test_a_web_worker_does_not_load_what_only_migrations_and_exports_need(tmp_path: Path):
    # Flask-Migrate brings Alembic, Mako and Pygments (11 MB a process), xlsxwriter 2 MB:
    # each gunicorn worker would carry them for nothing (bench/load.py: RSS ≤ 120 MB).
    probe = (
        "import sys, survey.wsgi; "
        "print(' '.join(m for m in ('flask_migrate', 'alembic', 'mako', 'xlsxwriter') "
        "if m in sys.modules))"
    )
    env = {
        **os.environ,
        "SURVEY_INSTANCE_PATH": str(tmp_path / "inst"),
        "SURVEY_SECRET_KEY": "test",
        "SURVEY_QUEUE_URL": "memory://",
        "PYTHONPATH": str(Path(survey.__file__).resolve().parents[1]),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_migrations_still_run_from_the_command_line_and_from_flask_migrate(tmp_path: Path):
    env = {
        **os.environ,
        "SURVEY_INSTANCE_PATH": str(tmp_path / "inst"),
        "SURVEY_SECRET_KEY": "test",
        "SURVEY_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "SURVEY_QUEUE_URL": "memory://",
        "PYTHONPATH": str(Path(survey.__file__).resolve().parents[1]),
    }
    survey_cli = Path(sys.executable).with_name("survey")
    for args in (["db", "upgrade"], ["db", "current"]):
        done = subprocess.run(
            [str(survey_cli), *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    assert "(head)" in done.stdout
    from flask_migrate import upgrade

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/direct.sqlite3",
            "SURVEY_QUEUE_URL": "memory://",
            "INSTANCE_PATH": str(tmp_path / "inst2"),
        }
    )
    with app.app_context():
        upgrade()
        tables = sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
    assert "invitation" in tables and "alembic_version" in tables


def test_a_nul_in_any_form_body_is_refused_and_a_json_body_is_left_to_the_api(client):
    """Form fields (url-encoded or multipart) with NUL are a 400 before any view reads them."""
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        refused = client.post(
            "/auth/login",
            data={"email": "a\x00@b.example", "password": "x"},
            content_type=content_type,
        )
        assert refused.status_code == 400, content_type
    named = client.post(
        "/api/v1/interactions", data='{"external_id": "A\\u0000"}', content_type="application/json"
    )
    assert named.status_code == 401  # the key is checked first; the field is named after it
