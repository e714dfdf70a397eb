"""The `survey` console script (also `flask --app survey …`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from survey.extensions import db


def _create_app() -> Flask:
    from survey import create_app

    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """满意度 — the satisfaction survey platform."""


@click.group("user")
def user_group() -> None:
    """Manage staff accounts."""


@user_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "manager", "quality"]), required=True)
@click.option("--password", default=None, help="Prompted for when not given.")
@click.option("--name", default="")
@with_appcontext
def user_create(email: str, role: str, password: str | None, name: str) -> None:
    """Create a staff account."""
    from survey.admin.services import users
    from survey.auth import service

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create_with_password("cli", email, role, password, name=name)
    except service.AccountError as error:
        raise click.UsageError(str(error)) from error
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


@click.group("apikey")
def apikey_group() -> None:
    """Manage API keys for the bank's systems."""


@apikey_group.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["interactions", "scores"]),
    help="Repeat for several; default all.",
)
@with_appcontext
def apikey_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create an API key and print it once, alone on the last line."""
    from survey.admin.services import apikeys
    from survey.auth import service

    try:
        row, key = apikeys.create("cli", name, scopes or ("interactions", "scores"))
    except service.AccountError as error:
        raise click.UsageError(str(error)) from error
    db.session.commit()
    click.echo(f"API key '{row.name}' ({row.scopes}); it is shown only now:", err=True)
    click.echo(key)


@click.group("import")
def import_group() -> None:
    """Import the bank's data from CSV files."""


@import_group.command("agents")
@click.argument("file", type=click.File("rb"))
@with_appcontext
def import_agents(file: BinaryIO) -> None:
    """Import agents (code,name_zh,name_en,team_code); each bad row is reported by line."""
    from survey.admin.services import agent_import

    try:
        job = agent_import.create_job(file.read(), Path(file.name).name, None)
    except agent_import.FileProblem as problem:
        raise click.ClickException(str(problem)) from problem
    with click.progressbar(length=job.total_rows, label="Importing agents", file=sys.stderr) as bar:
        done = 0

        def advance(rows: int) -> None:
            nonlocal done
            bar.update(rows - done)
            done = rows

        job = agent_import.run(job.id, "cli", progress=advance)
    for error in job.errors:
        click.echo(f"line {error['line']} ({error['code']}): {error['message']}", err=True)
    counts = agent_import.progress_of(job)["counts"]
    click.echo(
        f"{job.total_rows} rows: {counts['created']} added, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {len(job.errors)} not imported"
    )
    if job.state == "failed":
        raise click.ClickException(job.failure or "the import stopped")


@import_group.command("interactions")
@click.argument("file", type=click.File("rb"))
@with_appcontext
def import_interactions(file: BinaryIO) -> None:
    """Import interactions from a CSV file, as if each row were posted to the API.

    \b
    Columns (a header row names them; any order; UTF-8 or GB18030):
      external_id, occurred_at, channel, type, business_line, team, agent,
      category, wait_seconds,
      customer_external_id, customer_name, customer_phone, customer_email,
      customer_locale, customer_timezone,
      complaint_case_id, complaint_opened_at, complaint_first_reply_at,
      complaint_resolved_at, complaint_resolved_first_contact, complaint_cause
    Required: external_id, occurred_at (ISO 8601 with offset), channel, type,
    customer_external_id. An empty cell is an absent field. Each row is checked
    and decided as POST /api/v1/interactions would: bad rows are reported by
    line and column, good rows are kept, and a row imported again is a replay.
    Rows sharing a complaint_case_id are one complaint case, as in the API.
    """
    from survey.dispatch import csv_import

    try:
        rows = csv_import.read_rows(file.read())
    except csv_import.FileProblem as problem:
        raise click.ClickException(str(problem)) from problem
    with click.progressbar(
        length=len(rows), label="Importing interactions", file=sys.stderr
    ) as bar:
        report = csv_import.import_rows(rows, progress=bar.update)
    for error in report.errors:
        column = f" {error.field}" if error.field else ""
        click.echo(f"line {error.line}{column}: {error.message}", err=True)
    lines_with_errors = len({error.line for error in report.errors})
    suppressed = ", ".join(f"{n} {reason}" for reason, n in sorted(report.suppressed.items()))
    click.echo(
        f"{report.rows} rows: {report.created} added ({report.invited} invited"
        f"{'; suppressed: ' + suppressed if suppressed else ''}), "
        f"{report.replayed} already imported, {lines_with_errors} not imported"
    )


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@click.option("--no-periodic", is_flag=True, help="Leave periodic jobs to another worker.")
@with_appcontext
def worker(workers: int, no_periodic: bool) -> None:
    """Run the queue worker, and offer to run the periodic jobs (one worker at a time does)."""
    from flask import current_app

    from survey import tasks
    from survey.dispatch import leader

    periodic = current_app.config["SURVEY_RUN_PERIODIC"] and not no_periodic
    click.echo(
        f"survey worker: {workers} threads, periodic jobs "
        f"{'on when this worker holds their lease' if periodic else 'off'} ({leader.THIS_PROCESS})",
        err=True,
    )
    try:
        tasks.consumer(workers=workers, periodic=periodic).run()
    finally:
        if periodic:
            # Stopped on purpose: another worker may take the periodic jobs at once.
            leader.release("sweep")


@click.command("demo")
@click.option("--seed", default=2026, show_default=True)
@click.option("--today", default=None, help="Last day of the demo period (YYYY-MM-DD).")
@click.option(
    "--size",
    default=20000,
    show_default=True,
    help="Interactions to generate (contacts, not answers: about 0.9 answers each at 20,000, "
    "1.25 at 870,000). 90 days up to 20,000; more days, agents and customers above.",
)
@click.option(
    "--answers",
    type=click.IntRange(min=1),
    default=None,
    help="Load about this many answers instead (within about 10 %; sets --size).",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has interactions.")
@with_appcontext
def demo(seed: int, today: str | None, size: int, answers: int | None, if_empty: bool) -> None:
    """Load deterministic demo data: the bank, its staff, a survey and its history of answers.

    Progress goes to stderr: bars on a terminal, a log line every few seconds otherwise.
    """
    from datetime import date

    from survey import demo as demo_data

    try:
        day = date.fromisoformat(today) if today else None
    except ValueError as error:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--today") from error
    if if_empty and not demo_data.database_is_empty():
        click.echo("demo: the database has data already; nothing loaded", err=True)
        for line in demo_data.sign_in_reminder():
            click.echo(line)
        return
    if answers is not None:
        size = demo_data.interactions_for(answers)
    try:
        summary = demo_data.load(seed=seed, today=day, size=size, progress=True)
    except demo_data.DemoError as error:
        raise click.ClickException(str(error)) from error
    for line in summary.lines():
        click.echo(line)


@click.group("rollup")
def rollup_group() -> None:
    """Maintain the pre-aggregated scores the dashboards and the API read."""


@rollup_group.command("rebuild")
@with_appcontext
def rollup_rebuild() -> None:
    """Recompute every rollup table and the comments index from the counted responses.

    After a restore or a fix.

    On a terminal a progress bar; otherwise (a deploy log, a cron job) one line per
    batch of days and per table.
    """
    from survey.scoring import comment_index, rollup

    def table_done(name: str, rows: int, seconds: float) -> None:
        click.echo(f"rollup: {name}: {rows:,} rows in {seconds:.1f} s", err=True)

    if not sys.stderr.isatty():

        def log(done: int, total: int) -> None:
            share = f" ({done / total:.0%})" if total else ""
            click.echo(f"rollup: {done:,} of {total:,} answers counted{share}", err=True)

        counted = rollup.rebuild(progress=log, tables=table_done)
    else:
        with click.progressbar(length=1, label="Rebuilding the rollup", file=sys.stderr) as bar:

            def advance(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            counted = rollup.rebuild(progress=advance)
    click.echo(f"rollup rebuilt from {counted} answers")
    comments = comment_index.rebuild()
    db.session.commit()
    click.echo(f"comments index rebuilt: {comments} comments")


# Long rebuilds (the funnel, the complaint restamp) say how far they are this often.
FUNNEL_PROGRESS_SECONDS = 5.0


@rollup_group.command("rebuild-funnel")
@with_appcontext
def rollup_rebuild_funnel() -> None:
    """Recount the response funnel from the interactions and invitations (after a restore or a fix).

    Run it while nothing else writes: on PostgreSQL it locks the funnel rollup meanwhile.
    """
    import time
    from datetime import date

    from survey.funnel import rebuilding

    def done(rows: int, seconds: float) -> None:
        click.echo(f"funnel_rollup: {rows:,} rows in {seconds:.1f} s", err=True)

    last = [0.0]

    def step(read: int, day: date) -> None:
        # A line every few seconds (at 10,000,000 answers the rebuild takes half an hour).
        if time.monotonic() - last[0] >= FUNNEL_PROGRESS_SECONDS:
            last[0] = time.monotonic()
            click.echo(f"funnel: {read:,} invitations and suppressions read, up to {day}", err=True)

    rows = rebuilding.rebuild(done=done, progress=step)
    click.echo(f"funnel rebuilt: {rows} rows")


@rollup_group.command("restamp-complaints")
@with_appcontext
def rollup_restamp_complaints() -> None:
    """Store the resolved complaint cases' outcomes again under today's settings and zone.

    A worker does this by itself after the calendar or the commitments are saved, and the
    minute sweep after a change of SURVEY_TIMEZONE; until then the complaints figures are
    right but slow. Batch by batch: the app keeps serving meanwhile.
    """
    import time

    from survey import workcal
    from survey.extensions import db
    from survey.scoring import complaint_cases, complaint_outcomes

    last = [time.monotonic()]

    def step(done: int) -> None:
        if time.monotonic() - last[0] >= FUNNEL_PROGRESS_SECONDS:
            last[0] = time.monotonic()
            click.echo(f"complaint cases stamped so far: {done:,}", err=True)

    done = complaint_outcomes.restamp(
        db.session, complaint_cases.limits(), workcal.from_settings(), progress=step
    )
    click.echo(f"complaint cases stamped: {done}")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Copy the embedded database into FILE, safely while the app is serving."""
    from survey import backup

    try:
        copied = backup.backup(file)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backed up to {copied.path} ({copied.bytes:,} bytes, revision {copied.revision})")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Replace the embedded database with the backup in FILE (stop `make run` first)."""
    from flask_migrate import upgrade

    from survey import backup

    if not yes:
        click.confirm(
            "Everything in the database now will be replaced by the backup. "
            "Is the server stopped, and do you want to go on?",
            abort=True,
        )
    try:
        copied = backup.restore(file)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {file} (revision {copied.revision}); migrating to this version")
    upgrade()
    click.echo("restore done: start the server again")


@click.command("report")
@click.option("--from", "first", required=True, help="First day, e.g. 2026-10-01 (bank's zone).")
@click.option("--to", "last", required=True, help="Last day, e.g. 2026-12-31 (inclusive).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def report_command(first: str, last: str, lang: str, out: Path) -> None:
    """Write the customer-service report of a period as a PDF."""
    from flask_babel import force_locale

    from survey.report import pdf
    from survey.report import request as asked_for
    from survey.report.build import build
    from survey.scoring import queries

    asked = asked_for.read({"from": first, "to": last}, queries.today())
    if asked.period is None:
        raise click.ClickException(
            "; ".join(f"--{e['field']}: {e['message']}" for e in asked.errors)
        )
    if lang == "zh" and pdf.cjk_font() is None:
        raise click.ClickException(
            "no Chinese font is installed, so Chinese would print as boxes: "
            "apt-get install fonts-wqy-microhei (or fonts-noto-cjk)"
        )
    with force_locale(lang):
        click.echo(f"writing the report of {asked.period.first} to {asked.period.last} ({lang})")
        data = pdf.render(build(asked.period, lang))
    out.write_bytes(data)
    click.echo(f"wrote {out} ({len(data):,} bytes)")


@click.group("retention")
def retention_group() -> None:
    """Remove customers' personal data past the retention period."""


@retention_group.command("apply")
@click.option(
    "--days",
    type=int,
    default=None,
    help="Keep this many days (default: the pii_retention_days setting).",
)
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True)
@with_appcontext
def retention_apply(days: int | None, batch: int) -> None:
    """Remove names, phone numbers, e-mail addresses and comments older than N days.

    Opt-outs stay, keyed with SURVEY_RETENTION_KEY; scores and rollups stay exact.
    Safe to stop and run again: it goes on where it stopped.
    """
    from survey import retention, settings

    if days is None:
        days = int(settings.get("pii_retention_days") or 0)
        if days <= 0:
            raise click.UsageError("Give --days N (the pii_retention_days setting is 0: off).")

    def progress(step: str, done: int) -> None:
        click.echo(f"retention: {step}: {done:,} rows", err=True)

    try:
        outcome = retention.apply(days, actor="cli", batch=batch, progress=progress)
    except retention.RetentionRefused as refused:
        raise click.ClickException(retention.explain(refused)) from None
    summary = ", ".join(f"{step} {count:,}" for step, count in outcome.counts.items())
    click.echo(f"retention: before {outcome.cutoff:%Y-%m-%d %H:%M} UTC removed: {summary}")


def init_app(app: Flask) -> None:
    app.cli.add_command(user_group)
    app.cli.add_command(apikey_group)
    app.cli.add_command(import_group)
    app.cli.add_command(worker)
    app.cli.add_command(demo)
    app.cli.add_command(rollup_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(report_command)
    app.cli.add_command(retention_group)
