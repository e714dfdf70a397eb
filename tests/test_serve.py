"""`make run`'s server: gunicorn and a worker that come back when they die, and stop together.

Each test starts scripts/serve.sh as a process of its own on a free port and a fresh instance
folder, and signals only the PIDs that the script printed or that it started.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has ended; it only waits for its parent to read its status.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


class Served:
    """The serve script's process and what it has said so far."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, after: int = 0, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                found = re.search(pattern, line)
                if found:
                    return found
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not seen in:\n{''.join(self.lines)}")

    def get(self, path: str) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as answer:
            return answer.status

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz") == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server did not answer /healthz:\n" + "".join(self.lines))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    instance = tmp_path / "instance"
    port = _free_port()
    env = {
        **os.environ,
        "SURVEY_INSTANCE_PATH": str(instance),
        "SURVEY_PORT": str(port),
        "SURVEY_BIN": str(BIN),
        "SURVEY_WEB_WORKERS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([BIN / "survey", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "serve.sh")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Served(process, port)
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_make_run_serves_with_gunicorn_and_a_worker(served: Served) -> None:
    served.wait_until_serving()
    served.wait_for(r"web server started \(gunicorn pid \d+, 2 workers\)")
    served.wait_for(r"worker started \(pid \d+\)")
    assert served.get("/auth/login") == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/healthz", timeout=5) as answer:
        server = answer.headers.get("Server", "")
    assert "gunicorn" not in server.lower() and not any(c.isdigit() for c in server)


def test_a_killed_worker_is_started_again_and_the_site_keeps_serving(served: Served) -> None:
    served.wait_until_serving()
    first = int(served.wait_for(r"worker started \(pid (\d+)\)").group(1))
    seen = len(served.lines)
    os.kill(first, signal.SIGKILL)
    served.wait_for(rf"worker \(pid {first}\) stopped with status 137; starting it again", seen)
    again = int(served.wait_for(r"worker started \(pid (\d+)\)", seen).group(1))
    assert again != first and _alive(again)
    assert served.get("/healthz") == 200


def test_sigterm_stops_the_web_server_and_the_worker_together(served: Served) -> None:
    served.wait_until_serving()
    web = int(served.wait_for(r"gunicorn pid (\d+)").group(1))
    worker = int(served.wait_for(r"worker started \(pid (\d+)\)").group(1))
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_alive(web) or _alive(worker)):
        time.sleep(0.1)
    assert not _alive(web) and not _alive(worker)
    with pytest.raises(OSError):
        served.get("/healthz")


def _zone_where_it_is_day() -> str:
    """A customer zone where it is now between 09:00 and 20:00, so the survey goes at once."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    for zone in ("Asia/Shanghai", "Europe/London", "America/New_York", "Pacific/Auckland",
                 "Asia/Kolkata", "America/Los_Angeles", "Europe/Moscow", "Asia/Tokyo"):  # fmt: skip
        if 9 <= now.astimezone(ZoneInfo(zone)).hour < 20:
            return zone
    raise AssertionError("no zone in the list has daytime now")


def test_the_scaled_stack_takes_a_post_to_a_score_through_twilio_redis_and_many_processes(
    tmp_path: Path, run_id: str, prism
) -> None:
    """make run-scaled with 2 web and 2 queue processes on PostgreSQL and Redis: API → dispatch →
    SMS through Twilio's contract mock → signed SMS replies → score, the SMS sent exactly once."""
    import json
    import urllib.parse
    from datetime import UTC, datetime

    import redis
    import sqlalchemy as sa
    from twilio.request_validator import RequestValidator

    from tests.conftest import PG_SERVER, REDIS_URL
    from tests.fixtures.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, twilio_sid

    name = f"survey_{run_id}_scaled"
    url = sa.engine.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    prefix = f"survey_{run_id}_scaled"
    port = _free_port()
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": url,
        "SURVEY_QUEUE_URL": f"{REDIS_URL}?prefix={prefix}",
        "SURVEY_WEB_WORKERS": "2",
        "SURVEY_QUEUE_WORKERS": "2",
        "SURVEY_INSTANCE_PATH": str(tmp_path / "instance"),
        "SURVEY_PORT": str(port),
        "SURVEY_BIN": str(BIN),
        "SURVEY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_URL": prism.url,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    process = None
    try:

        def survey(*args: str) -> str:
            done = subprocess.run([BIN / "survey", *args], env=env, cwd=ROOT, check=True,
                                  capture_output=True, text=True, timeout=300)  # fmt: skip
            return done.stdout

        survey("db", "upgrade")
        survey("demo", "--size", "200")
        key = survey("apikey", "create", "scaled-test").strip().splitlines()[-1]
        data = sa.create_engine(url)
        with data.begin() as connection:  # the manager's choice: inquiries by two-way SMS
            connection.execute(
                sa.text("UPDATE dispatch_rule SET sms_mode = 'two_way', channels = :channels "
                        "WHERE filters IS NULL OR CAST(filters AS TEXT) NOT LIKE '%complaint%'"),
                {"channels": json.dumps(["sms"])},
            )  # fmt: skip
        process = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "run-scaled.sh")],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        served = Served(process, port)
        served.wait_until_serving(timeout=120)
        assert len(re.findall(r"worker started \(pid \d+\)", "".join(served.lines))) == 2

        body = {
            "external_id": f"SCALED-{run_id}",
            "occurred_at": datetime.now(UTC).isoformat(),
            "channel": "phone",
            "type": "inquiry",
            "business_line": "personal",
            "team": "personal-inquiries",
            "customer": {"external_id": f"C-SCALED-{run_id}", "phone": "+85291234567",
                         "locale": "en", "timezone": _zone_where_it_is_day()},
        }  # fmt: skip
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/interactions",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            invitation = json.loads(answer.read())["invitation"]
        assert invitation is not None and invitation["waits_for_allowed_hours"] is False

        def invitation_row() -> Any:
            with data.connect() as connection:
                return connection.execute(
                    sa.text("SELECT state, channel FROM invitation WHERE id = :id"),
                    {"id": invitation["id"]},
                ).one()

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and invitation_row().state != "sent":
            time.sleep(0.5)
        assert invitation_row() == ("sent", "sms"), "no worker sent the SMS through the queue"
        with data.connect() as connection:
            deliveries = connection.execute(
                sa.text("SELECT provider, state FROM delivery WHERE invitation_id = :id"),
                {"id": invitation["id"]},
            ).all()
        assert deliveries == [("twilio", "sent")]  # once, by one of the two workers, to Twilio

        # The customer answers by SMS, each reply posted by "Twilio" and signed as it signs.
        validator = RequestValidator(AUTH_TOKEN)
        hook = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
        for _ in range(12):
            if invitation_row().state == "completed":
                break
            params = {"From": "+85291234567", "To": FROM_NUMBER, "Body": "5",
                      "MessageSid": twilio_sid("SM"), "AccountSid": ACCOUNT_SID}  # fmt: skip
            signed = urllib.request.Request(
                hook,
                data=urllib.parse.urlencode(params).encode(),
                headers={"X-Twilio-Signature": validator.compute_signature(hook, params)},
            )
            with urllib.request.urlopen(signed, timeout=30) as answer:
                assert answer.status == 200 and b"<Response>" in answer.read()
        assert invitation_row().state == "completed"
        data.dispose()

        scores = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/scores?group_by=survey_channel",
            headers={"Authorization": f"Bearer {key}"},
        )
        with urllib.request.urlopen(scores, timeout=30) as answer:
            groups = {g["key"]["survey_channel"]: g for g in json.loads(answer.read())["groups"]}
        assert groups["sms"]["n"] >= 1

        # The send was counted in a queue worker's process; a web process serves the sum.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            metrics = answer.read().decode()
        assert re.search(r'survey_sends_total\{[^}]*provider="twilio"[^}]*\} 1\.0', metrics)
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
        queue = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        for stale in queue.scan_iter(f"*{prefix}*"):
            queue.delete(stale)
