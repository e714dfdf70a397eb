"""Large exports prepared by a worker: progress, a complete file or none, for who asked, a day."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
import sqlalchemy as sa

from survey import clock, tasks
from survey.dashboard import exports as export_views
from survey.exports import jobs, writers
from survey.extensions import db
from survey.models import ExportJob
from tests.fixtures.access import sign_in

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
BOM = "\ufeff".encode()
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}
DAYS = {"from": "2026-11-01", "to": "2026-11-29"}
FORMULA = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture(autouse=True)
def _fixed_now():
    clock.freeze(NOW)
    yield
    clock.unfreeze()


@pytest.fixture
def answered(invite, record_response):
    """Five responses in November (one comment a formula, one Chinese), one in October."""
    comments = [FORMULA, "服务很好，谢谢", "-1+1", "@SUM(A1)", "ok"]
    made = []
    for i, comment in enumerate(comments):
        invitation = invite(agent="A1001" if i % 2 else "A2001", channel="phone")
        made.append(
            record_response(
                invitation,
                {"overall": 1 + i % 5, "comment": comment},
                completed_at=NOW - timedelta(days=1 + i),
            )
        )
    old = invite(agent="A1001")
    made.append(record_response(old, {"overall": 4}, completed_at=NOW - timedelta(days=45)))
    return made


def _prepare(client, fmt: str, headers=EN, **filters) -> int:
    got = client.post(
        "/export/responses/prepare", data={"format": fmt, **DAYS, **filters}, headers=headers
    )
    assert got.status_code == 303, got.get_data(as_text=True)[:500]
    return int(urlsplit(got.location).path.rsplit("/", 1)[-1])


def _committed(job_id: int) -> tuple[str, int, int]:
    """What another process (the progress poll) reads of a job at this moment."""
    with db.engine.connect() as connection:
        row = connection.execute(
            sa.select(ExportJob.state, ExportJob.rows_done, ExportJob.rows_total).where(
                ExportJob.id == job_id
            )
        ).one()
    return tuple(row)


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"))))


def test_a_prepared_csv_is_written_in_batches_reporting_progress_then_downloaded(
    client_as, answered, monkeypatch, audit_log
):
    monkeypatch.setattr(jobs, "PROGRESS_ROWS", 2)
    client = client_as("quality")
    job_id = _prepare(client, "csv", headers=ZH, agent="A1001,A2001")
    page = client.get(f"/export/jobs/{job_id}", headers=EN).get_data(as_text=True)
    assert "waiting for a worker" in page and "Refresh to see how far it has got" in page
    assert 'http-equiv="refresh"' in page  # the page moves on by itself without script
    assert client.get(f"/export/jobs/{job_id}/download").status_code == 409

    seen: list[tuple[int, tuple[str, int, int]]] = []
    jobs.run(job_id, progress=lambda done: seen.append((done, _committed(job_id))))
    assert seen == [
        (2, ("running", 2, 5)),
        (4, ("running", 4, 5)),
        (5, ("done", 5, 5)),
    ]
    assert client.get(f"/export/jobs/{job_id}.json").get_json() == {
        "state": "done",
        "finished": True,
        "total_rows": 5,
        "done_rows": 5,
    }
    page = client.get(f"/export/jobs/{job_id}", headers=EN).get_data(as_text=True)
    assert "5 of 5 responses written." in page and "Refresh to see" not in page
    got = client.get(f"/export/jobs/{job_id}/download")
    assert got.status_code == 200
    assert got.headers["Content-Type"].startswith("text/csv")
    assert "filename=responses-2026-11-01-2026-11-29-" in got.headers["Content-Disposition"]
    rows = _csv(got.data)
    got.close()
    header, body = rows[0], rows[1:]
    assert header[:3] == ["答卷", "计入时间（银行时区）", "状态"]  # the language of who asked
    assert len(body) == 5  # October's response is outside the days asked for
    comments = {r[header.index("comment")] for r in body}
    assert {"'" + FORMULA, "服务很好，谢谢", "'-1+1", "'@SUM(A1)", "ok"} == comments
    prepared, downloaded = audit_log("export.prepare"), audit_log("export.download")
    assert prepared[0].after["filters"] == {"agent": ["A1001", "A2001"]}
    assert prepared[0].after["format"] == "csv"
    assert [(e.entity_id, e.actor_label) for e in downloaded] == [
        (str(job_id), "quality@bank.example")
    ]


def test_a_prepared_xlsx_keeps_chinese_escapes_formulas_and_starts_new_sheets(
    client_as, answered, monkeypatch
):
    monkeypatch.setattr(writers, "SHEET_ROWS", 3)  # a header and two responses a sheet
    client = client_as("manager")
    job_id = _prepare(client, "xlsx", headers=ZH)
    assert jobs.run(job_id).state == "done"
    got = client.get(f"/export/jobs/{job_id}/download")
    assert got.status_code == 200
    assert got.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(got.data))
    got.close()
    assert [s.title for s in book.worksheets] == ["responses", "responses 2", "responses 3"]
    sheets = [list(s.iter_rows(values_only=True)) for s in book.worksheets]
    assert [len(s) for s in sheets] == [3, 3, 2]
    assert all(s[0][:2] == ("答卷", "计入时间（银行时区）") for s in sheets)
    header = sheets[0][0]
    comments = {row[header.index("comment")] for s in sheets for row in s[1:]}
    assert comments == {"'" + FORMULA, "服务很好，谢谢", "'-1+1", "'@SUM(A1)", "ok"}
    assert not any(
        cell.data_type == "f" for s in book.worksheets for row in s.iter_rows() for cell in row
    )


def test_the_job_page_keeps_the_language_the_export_page_was_shown_in(client_as, answered):
    """The export form carries its page's language to the job and the job's page, so a
    browser whose session lost the choice (a late response's cookie) still reads Chinese."""
    client = client_as("quality")
    page = client.get("/export?lang=zh&from=2026-11-01&to=2026-11-29", headers=EN)
    form = re.search(
        r'<form method="post" action="([^"]*prepare[^"]*)"', page.get_data(as_text=True)
    )
    assert form and "lang=zh" in form.group(1)
    with client.session_transaction() as session:
        session.pop("lang", None)
    got = client.post(html.unescape(form.group(1)), data={"format": "csv", **DAYS}, headers=EN)
    assert got.status_code == 303
    job_page = client.get(got.location, headers=EN).get_data(as_text=True)
    assert "后台导出" in job_page


def test_only_who_asked_and_admins_see_a_job_or_download_its_file(
    client_as, make_user, answered, app
):
    owner = client_as("quality")
    job_id = _prepare(owner, "csv")
    jobs.run(job_id)
    other = app.test_client()
    make_user("quality", email="other.quality@bank.example")
    assert sign_in(other, "other.quality@bank.example").status_code == 302
    for path in ("", ".json", "/download"):
        assert other.get(f"/export/jobs/{job_id}{path}").status_code == 404, path
    assert "responses-2026" not in other.get("/export", headers=EN).get_data(as_text=True)
    assert "responses-2026" in owner.get("/export", headers=EN).get_data(as_text=True)
    assert client_as("admin").get(f"/export/jobs/{job_id}/download").status_code == 200
    assert client_as(None).get(f"/export/jobs/{job_id}/download").status_code == 302


def test_a_job_whose_worker_died_is_written_again_from_the_start(client_as, answered):
    client = client_as("quality")
    job_id = _prepare(client, "csv")
    job = db.session.get(ExportJob, job_id)
    job.state, job.attempt, job.rows_done = "running", 1, 3  # a worker stopped mid-file
    db.session.commit()
    half = jobs.folder() / f".{job_id}-1.part"
    half.write_bytes(BOM + b"half a file")
    assert jobs.run(job_id).state == "running", "a job that may still be running is left alone"
    assert jobs.unfinished_job_ids() == []
    assert client.get(f"/export/jobs/{job_id}/download").status_code == 409

    clock.advance(jobs.STALLED_AFTER + timedelta(seconds=1))
    assert jobs.unfinished_job_ids() == [job_id]  # the sweep enqueues it again
    job = jobs.run(job_id)
    assert (job.state, job.attempt, job.rows_done) == ("done", 2, 5)
    assert not half.exists()
    assert sorted(p.name for p in jobs.folder().iterdir()) == [f"{job_id}-2.csv"]
    assert len(_csv(client.get(f"/export/jobs/{job_id}/download").data)) == 6
    assert jobs.unfinished_job_ids() == []


def test_a_worker_that_was_taken_over_stops_and_leaves_no_file(client_as, answered, monkeypatch):
    monkeypatch.setattr(jobs, "PROGRESS_ROWS", 2)
    job_id = _prepare(client_as("quality"), "xlsx")

    def taken_over(done: int) -> None:
        # Another worker thought this one dead and claimed the job meanwhile.
        db.session.execute(
            sa.update(ExportJob).where(ExportJob.id == job_id).values(attempt=ExportJob.attempt + 1)
        )
        db.session.commit()

    job = jobs.run(job_id, progress=taken_over)
    assert (job.state, job.attempt, job.file_name) == ("running", 2, None)
    assert list(jobs.folder().iterdir()) == []


def test_a_queued_job_whose_queue_message_was_lost_is_taken_up_by_the_sweep(client_as, answered):
    job_id = _prepare(client_as("quality"), "csv")
    assert jobs.unfinished_job_ids() == []  # a worker may be about to take it
    clock.advance(jobs.UNCLAIMED_AFTER + timedelta(seconds=1))
    assert jobs.unfinished_job_ids() == [job_id]


def test_a_file_expires_after_a_day_and_the_sweep_deletes_it(client_as, answered):
    client = client_as("quality")
    job_id = _prepare(client, "csv")
    job = jobs.run(job_id)
    path = jobs.folder() / job.file_name
    assert path.is_file() and job.size_bytes == path.stat().st_size
    clock.advance(jobs.KEEP - timedelta(seconds=1))
    tasks.sweep_due.call_local()
    assert path.is_file()
    clock.advance(timedelta(seconds=2))
    assert sign_in(client, "quality@bank.example").status_code == 302  # a day later
    assert client.get(f"/export/jobs/{job_id}/download").status_code == 410  # before the sweep
    tasks.sweep_due.call_local()
    db.session.expire_all()
    assert not path.exists()
    assert db.session.get(ExportJob, job_id).state == "expired"
    got = client.get(f"/export/jobs/{job_id}/download", headers=EN)
    assert got.status_code == 410
    assert "This file has expired and was deleted." in got.get_data(as_text=True)


def test_a_job_that_cannot_finish_says_why_and_leaves_no_file(client_as, answered):
    client = client_as("quality")
    job_id = _prepare(client, "csv")
    job = db.session.get(ExportJob, job_id)
    job.filters = {**job.filters, "channel": "pigeon"}  # no longer a query it can answer
    db.session.commit()
    assert jobs.run(job_id).state == "failed"
    page = client.get(f"/export/jobs/{job_id}", headers=EN).get_data(as_text=True)
    assert "The export stopped after 0 responses" in page and "pigeon" in page
    assert list(jobs.folder().iterdir()) == []


def test_a_bad_format_or_filter_is_refused_and_records_nothing(client_as, answered):
    client = client_as("quality")
    bad = client.post(
        "/export/responses/prepare", data={"format": "pdf", "channel": "pigeon"}, headers=EN
    )
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "Choose CSV or XLSX." in text and "pigeon" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportJob)) == 0


def test_a_large_xlsx_is_not_built_in_the_request(client_as, answered, monkeypatch):
    monkeypatch.setattr(export_views, "DIRECT_XLSX_ROWS", 4)
    client = client_as("quality")
    query = "from=2026-11-01&to=2026-11-29"
    got = client.get(f"/export/responses.xlsx?{query}", headers=EN)
    assert got.status_code == 400
    assert "prepare the XLSX file in the background" in got.get_data(as_text=True)
    assert client.get(f"/export/responses.xlsx?{query}&agent=A1001").status_code == 200


def test_the_export_folder_is_under_the_instance_folder(app):
    assert jobs.folder() == Path(app.instance_path) / "exports"


def test_the_audit_trail_names_prepared_exports_and_their_downloads_in_words(client_as, answered):
    client = client_as("quality")
    job_id = _prepare(client, "csv")
    jobs.run(job_id)
    client.get(f"/export/jobs/{job_id}/download").close()
    page = client_as("admin").get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "asked for an export to be prepared" in page
    assert "downloaded a prepared export" in page
    assert "export.prepare" not in page and "export.download" not in page
