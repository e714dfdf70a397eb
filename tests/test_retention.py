"""PII retention (issue 15): personal data older than N days leaves every table; scores stay exact.

An opt-out outlives the data as a keyed pseudonym of the address, with the key outside
the database, so the same number or e-mail address is still refused afterwards.
"""

from __future__ import annotations

import csv
import inspect
import io
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from huey.api import TaskWrapper

from survey import audit, clock, pseudonyms, retention, settings, tasks
from survey.dispatch import sending
from survey.extensions import db
from survey.models import (
    Address,
    Answer,
    AuditEvent,
    Customer,
    Delivery,
    FunnelRollup,
    ImportJob,
    InboundEvent,
    Interaction,
    Invitation,
    OptOut,
    OutboxMessage,
    funnel_grains,
)
from survey.models.comment import Comment
from survey.models.rollup import CUBOIDS
from survey.responses import optouts, sms
from survey.scoring import rollup
from tests.fixtures.admin import settings_form
from tests.fixtures.dispatch import interaction_body

KEY = "a retention key of forty characters, ok!"
OTHER_KEY = "another retention key, forty characters!"
keyed = pytest.mark.app_config(SURVEY_RETENTION_KEY=KEY)

LONG_AGO = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, 188 days before NOW
LATELY = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
DAYS = 90
EN = {"Accept-Language": "en"}

OLD_PHONE = "+85291234567"
OLD_EMAIL = "wang.old@example.cn"
SHARED_EMAIL = "family@example.cn"
NEW_PHONE = "+85298765432"
NEW_EMAIL = "li.new@example.cn"
OLD_COMMENT = f"Call me back on {OLD_PHONE} or write to {OLD_EMAIL}"
NEW_COMMENT = "The wait was long but the agent was kind"


def _customer(external_id: str, name: str, phone: str | None, email: str | None) -> dict:
    found = {"external_id": external_id, "name": name, "locale": "zh", "timezone": "Asia/Hong_Kong"}
    if phone:
        found["phone"] = phone
    if email:
        found["email"] = email
    return found


@pytest.fixture
def history(post_interaction, dispatch_ready, record_response) -> dict[str, Any]:
    """Six months of one customer's life with the bank, and last week's of another.

    The old customer was surveyed by SMS, answered with a comment naming their number,
    said STOP from their phone and unsubscribed their e-mail address; a provider error
    and an audit event name them too. A second old customer shares an e-mail address
    with the new one, who is still active.
    """

    def visit(at: datetime, external_id: str, customer: dict, comment: str) -> dict:
        clock.freeze(at)
        body = interaction_body(
            external_id=external_id, occurred_at=at.isoformat(), customer=customer
        )
        answer = post_interaction(body)
        assert answer.status_code == 201, answer.get_json()
        invitation_id = answer.get_json()["invitation"]["id"]
        assert sending.send_invitation(invitation_id) == "sent"
        invitation = db.session.get_one(Invitation, invitation_id)
        clock.freeze(at + timedelta(hours=1))
        record_response(
            invitation,
            {"attitude": 4, "wait_time": 2, "overall": 5, "nps": 9, "comment": comment},
        )
        clock.freeze(at + timedelta(hours=2))
        sms.handle(customer.get("phone") or NEW_PHONE, "thanks", f"SM{external_id}")
        return body

    old_body = visit(
        LONG_AGO, "CALL-OLD", _customer("C-OLD", "王芳", OLD_PHONE, OLD_EMAIL), OLD_COMMENT
    )
    visit(
        LONG_AGO + timedelta(days=40),
        "CALL-SHARER",
        _customer("C-SHARER", "王强", "+85290000001", SHARED_EMAIL),
        "fine",
    )
    clock.freeze(LONG_AGO + timedelta(days=41))
    sms.handle(OLD_PHONE, "STOP", "SM-STOP-OLD")
    old = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-OLD"))
    email = next(a for a in old.addresses if a.kind == "email")
    optouts.opt_out("link", "invitation:old", customer=old, addresses=[email])
    delivery = db.session.scalar(sa.select(Delivery).where(Delivery.address == OLD_PHONE))
    delivery.error = f"Twilio 30006: landline or unreachable carrier for {OLD_PHONE}"
    audit.record(
        "system", "customer.merge", "customer", old.id, {"phone": OLD_PHONE}, {"email": OLD_EMAIL}
    )
    db.session.commit()

    visit(LATELY, "CALL-NEW", _customer("C-NEW", "李娜", NEW_PHONE, NEW_EMAIL), NEW_COMMENT)
    clock.freeze(LATELY + timedelta(hours=3))
    sharer = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-SHARER"))
    new = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-NEW"))
    new.addresses.append(next(a for a in sharer.addresses if a.kind == "email"))
    audit.record("system", "customer.merge", "customer", new.id, {"phone": NEW_PHONE}, None)
    db.session.commit()
    clock.freeze(NOW)
    return {"old_body": old_body}


def _rows(model: Any) -> list[dict[str, Any]]:
    db.session.expire_all()
    table = model.__table__
    return [dict(row._mapping) for row in db.session.execute(sa.select(table).order_by(table.c.id))]


def _rollups() -> dict[str, list[tuple]]:
    db.session.expire_all()
    found = {}
    # The funnel's rollup and the coarser ones its triggers keep, beside the scores'.
    funnel = (FunnelRollup.__table__, funnel_grains.SEGMENT_DAY, funnel_grains.SEGMENT_MONTH)
    for table in (*(cuboid.table for cuboid in CUBOIDS), *funnel):
        # A rebuild numbers its rows afresh: the counts and sums are what must agree.
        columns = [c for c in table.c if c.name != "id"]
        rows = db.session.execute(sa.select(*columns))
        found[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return found


def _address(kind: str, value: str) -> Address | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Address).where(Address.kind == kind, Address.value == value))


def _scores(client, api_key: str) -> Any:
    answer = client.get(
        "/api/v1/scores?from=2026-05-01&to=2026-12-06&group_by=dimension,month",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _everything() -> dict[str, Any]:
    models = (
        Customer, Address, Delivery, OutboxMessage, InboundEvent, Answer, Interaction, Comment
    )  # fmt: skip
    found: dict[str, Any] = {m.__tablename__: _rows(m) for m in models}
    found["audit_event"] = [e for e in _rows(AuditEvent) if e["action"] != retention.AUDIT_ACTION]
    found["opt_out"] = _rows(OptOut)
    return found


# What is removed, and what is not --------------------------------------------------------------


@keyed
def test_every_place_loses_the_old_personal_data_and_keeps_the_new(app, history):
    before = _everything()
    outcome = retention.apply(DAYS)
    secret = KEY.encode()
    phone_alias = pseudonyms.pseudonym("phone", OLD_PHONE, secret)
    email_alias = pseudonyms.pseudonym("email", OLD_EMAIL, secret)
    after = _everything()

    old = next(c for c in after["customer"] if c["external_id"] == "C-OLD")
    new = next(c for c in after["customer"] if c["external_id"] == "C-NEW")
    assert old["name"] == "" and new["name"] == "李娜"
    values = {a["value"] for a in after["address"]}
    assert {phone_alias, email_alias, NEW_PHONE, NEW_EMAIL} <= values
    assert OLD_PHONE not in values and OLD_EMAIL not in values
    # Shared with a customer seen last week: it stays as it is.
    assert SHARED_EMAIL in values
    assert pseudonyms.pseudonym("phone", "+85290000001", secret) in values

    old_deliveries = [d for d in after["delivery"] if d["created_at"] < NOW - timedelta(days=DAYS)]
    assert old_deliveries and all(d["address"].startswith("hmac:") for d in old_deliveries)
    assert phone_alias in {d["address"] for d in old_deliveries}
    assert not any(OLD_PHONE in (d["error"] or "") for d in after["delivery"])
    assert phone_alias in " ".join(d["error"] or "" for d in after["delivery"])
    new_deliveries = [d for d in before["delivery"] if d["created_at"] >= LATELY]
    assert new_deliveries and all(d in after["delivery"] for d in new_deliveries)

    assert all(m["created_at"] >= LATELY for m in after["outbox_message"])
    assert after["outbox_message"] == [
        m for m in before["outbox_message"] if m["created_at"] >= LATELY
    ]

    old_inbound = [i for i in after["inbound_event"] if i["created_at"] < LATELY]
    assert old_inbound and all(i["body"] == "" for i in old_inbound)
    assert {i["address"] for i in old_inbound} <= {
        phone_alias,
        pseudonyms.pseudonym("phone", "+85290000001", secret),
    }
    assert [i for i in after["inbound_event"] if i["created_at"] >= LATELY] == [
        i for i in before["inbound_event"] if i["created_at"] >= LATELY
    ]

    texts = [a for a in after["answer"] if a["value_int"] is None and a["choice_id"] is None]
    assert {a["value_text"] for a in texts} == {None, NEW_COMMENT}
    removed = [a for a in texts if a["value_text"] is None]
    assert len(removed) == 2 and all(a["text_removed_at"] == NOW for a in removed)
    # The comments browser's copy of each removed text is gone; the new one stays.
    assert {c["text"] for c in before["comment"]} >= {NEW_COMMENT} and len(before["comment"]) == 3
    assert [c["text"] for c in after["comment"]] == [NEW_COMMENT]
    # Every number and choice is where it was.
    assert [(a["id"], a["value_int"], a["choice_id"]) for a in after["answer"]] == [
        (a["id"], a["value_int"], a["choice_id"]) for a in before["answer"]
    ]

    old_event, new_event = [e for e in after["audit_event"] if e["action"] == "customer.merge"]
    assert old_event["before"] == {"phone": phone_alias}
    assert old_event["after"] == {"email": email_alias}
    assert old_event["actor_label"] == "system"
    assert new_event["before"] == {"phone": NEW_PHONE}

    digests = {i["external_id"]: i["payload_digest"] for i in after["interaction"]}
    assert digests["CALL-OLD"].startswith("hmac:") and not digests["CALL-NEW"].startswith("hmac:")

    assert after["opt_out"] == before["opt_out"]
    assert outcome.counts["customers"] == 2 and outcome.counts["answers"] == 2
    [event] = [e for e in _rows(AuditEvent) if e["action"] == retention.AUDIT_ACTION]
    assert event["after"]["days"] == DAYS and event["after"]["answers"] == 2


@keyed
def test_scores_every_rollup_and_a_rebuild_are_the_same_before_and_after(
    app, client, history, api_key
):
    scores, rollups = _scores(client, api_key), _rollups()
    assert any(rows for rows in rollups.values())
    retention.apply(DAYS)
    assert _scores(client, api_key) == scores
    assert _rollups() == rollups
    rollup.rebuild()
    assert _rollups() == rollups
    assert _scores(client, api_key) == scores


@keyed
def test_a_customer_whose_survey_is_still_open_keeps_their_address_and_name(app, invite):
    clock.freeze(NOW - timedelta(days=DAYS + 10))
    still_open = invite(phone="+85291110000", lifetime=timedelta(days=DAYS + 20))
    lapsed = invite(phone="+85291110001")
    for invitation in (still_open, lapsed):
        invitation.customer.name = "陈静"
    db.session.commit()
    clock.freeze(NOW)
    retention.apply(DAYS)
    assert _address("phone", "+85291110000") is not None
    assert _address("phone", "+85291110001") is None
    names = {c.external_id: c.name for c in db.session.scalars(sa.select(Customer))}
    assert names == {still_open.customer.external_id: "陈静", lapsed.customer.external_id: ""}


@keyed
def test_a_finished_old_import_loses_its_file_and_the_addresses_in_its_errors(app):
    clock.freeze(NOW - timedelta(days=DAYS + 1))
    rows = f"code,name_zh,name_en,team_code\nA9,{OLD_EMAIL},Wang,personal-inquiries\n".encode()
    old = ImportJob(
        kind="agents",
        filename="agents.csv",
        content=rows,
        state="done",
        errors=[{"line": 2, "code": "bad", "message": f"name {OLD_EMAIL}"}],
    )
    db.session.add(old)
    db.session.commit()
    clock.freeze(NOW - timedelta(days=1))
    recent = ImportJob(kind="agents", filename="new.csv", content=rows, state="done")
    db.session.add(recent)
    db.session.commit()
    clock.freeze(NOW)
    assert retention.apply(DAYS).counts["imports"] == 1
    db.session.expire_all()
    alias = pseudonyms.pseudonym("email", OLD_EMAIL, KEY.encode())
    assert old.content == b"" and old.errors[0]["message"] == f"name {alias}"
    assert recent.content == rows


@keyed
def test_a_second_run_changes_nothing(app, history):
    retention.apply(DAYS)
    once = _everything()
    again = retention.apply(DAYS)
    assert again.changed == 0, again.counts
    assert _everything() == once


@keyed
def test_a_run_stopped_halfway_is_finished_by_the_next(app, history):
    steps: list[str] = []

    def stop_after_the_first_batch(step: str, _done: int) -> None:
        steps.append(step)
        if step == "deliveries":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        retention.apply(DAYS, batch=1, progress=stop_after_the_first_batch)
    db.session.rollback()
    assert steps == ["addresses"] * 3 + ["customers"] * 2 + ["deliveries"]
    halfway = _everything()
    old = [d for d in halfway["delivery"] if d["created_at"] < LATELY]
    # The batches before the stop are committed; the rest wait for the next run.
    assert [d["address"].startswith("hmac:") for d in old] == [True] + [False] * (len(old) - 1)
    assert not any(a["text_removed_at"] for a in halfway["answer"])
    resumed = retention.apply(DAYS, batch=1)
    assert resumed.counts["addresses"] == 0 and resumed.counts["deliveries"] == len(old) - 1
    finished = _everything()
    assert all(
        d["address"].startswith("hmac:")
        for d in finished["delivery"]
        if d in old or d["created_at"] < LATELY
    )
    assert retention.apply(DAYS).changed == 0


@keyed
def test_the_export_says_a_comment_was_removed_and_keeps_the_new_one(app, history, client_as):
    retention.apply(DAYS)
    got = client_as("quality").get(
        "/export/responses.csv?from=2026-05-01&to=2026-12-06", headers={"Accept-Language": "en"}
    )
    assert got.status_code == 200
    rows = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"))))
    comments = sorted(row[rows[0].index("comment")] for row in rows[1:])
    assert comments == sorted(
        [
            NEW_COMMENT,
            "(removed after the retention period)",
            "(removed after the retention period)",
        ]
    )


# Opt-outs outlive the data -------------------------------------------------------------------


@keyed
def test_a_retained_opt_out_blocks_a_new_record_with_the_same_phone_and_the_same_email(
    app, history, post_interaction
):
    retention.apply(DAYS)
    phone_row = _address("phone", pseudonyms.pseudonym("phone", OLD_PHONE, KEY.encode()))
    email_row = _address("email", pseudonyms.pseudonym("email", OLD_EMAIL, KEY.encode()))
    for external_id, customer in (
        ("CALL-BACK-1", _customer("C-BACK-1", "王芳", OLD_PHONE, None)),
        ("CALL-BACK-2", _customer("C-BACK-2", "王芳", None, OLD_EMAIL.upper())),
    ):
        body = interaction_body(
            external_id=external_id, occurred_at=NOW.isoformat(), customer=customer
        )
        answer = post_interaction(body)
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["suppression_reason"] == "opted_out"
    # The same rows, their values back: the customer is back, their refusal with them.
    assert _address("phone", OLD_PHONE).id == phone_row.id
    assert _address("email", OLD_EMAIL).id == email_row.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Address)) == len(_rows(Address))


@keyed
def test_an_old_replay_of_the_same_body_is_still_the_same_post(app, history, post_interaction):
    retention.apply(DAYS)
    replay = post_interaction(history["old_body"])
    assert replay.status_code == 200, replay.get_json()
    changed = post_interaction({**history["old_body"], "wait_seconds": 1})
    assert changed.status_code == 409


@keyed
def test_start_and_stop_from_a_retained_phone_find_its_address(app, history):
    retention.apply(DAYS)
    addresses = len(_rows(Address))
    clock.freeze(NOW + timedelta(hours=1))
    sms.handle(OLD_PHONE, "START", "SM-START")
    phone = _address("phone", OLD_PHONE)
    assert phone is not None and not optouts.address_opted_out(phone.id)
    sms.handle(OLD_PHONE, "STOP", "SM-STOP-AGAIN")
    assert optouts.address_opted_out(_address("phone", OLD_PHONE).id)
    assert len(_rows(Address)) == addresses


@keyed
def test_an_old_unsubscribe_link_still_refuses_the_retained_address(app, history):
    retention.apply(DAYS)
    sharer = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-SHARER"))
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.customer_id == sharer.id))
    phone = _address("phone", pseudonyms.pseudonym("phone", "+85290000001", KEY.encode()))
    assert not optouts.address_opted_out(phone.id)
    assert optouts.unsubscribe(invitation) == 2  # the customer and the retained phone
    assert optouts.address_opted_out(phone.id)


@keyed
def test_a_retained_address_is_never_written_to(app, history):
    retention.apply(DAYS)
    sharer = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-SHARER"))
    from survey.dispatch import contacts

    assert contacts.address_for(sharer, "sms") is None
    assert contacts.address_for(sharer, "email").value == SHARED_EMAIL


@keyed
def test_an_address_that_came_back_while_the_key_was_missing_is_merged_into_its_refusal(
    app, history, post_interaction
):
    retention.apply(DAYS)
    alias = pseudonyms.pseudonym("phone", OLD_PHONE, KEY.encode())
    refused = _address("phone", alias)
    app.config["SURVEY_RETENTION_KEY"] = None  # an operator lost the key for a while
    body = interaction_body(
        external_id="CALL-KEYLESS",
        occurred_at=NOW.isoformat(),
        customer=_customer("C-KEYLESS", "王芳", OLD_PHONE, None),
    )
    assert post_interaction(body).status_code == 201
    twin = _address("phone", OLD_PHONE)
    assert twin.id != refused.id
    app.config["SURVEY_RETENTION_KEY"] = KEY
    clock.freeze(NOW + timedelta(days=DAYS + 5))
    outcome = retention.apply(DAYS)
    assert outcome.counts["addresses"] >= 1
    assert _address("phone", OLD_PHONE) is None
    merged = _address("phone", alias)
    assert merged.id == refused.id
    keyless = db.session.scalar(sa.select(Customer).where(Customer.external_id == "C-KEYLESS"))
    assert [a.id for a in keyless.addresses if a.kind == "phone"] == [refused.id]
    assert optouts.address_opted_out(refused.id)
    assert db.session.get(Address, twin.id) is None


# The key is outside the database --------------------------------------------------------------


def test_without_the_key_retention_refuses_and_changes_nothing(app, history, runner):
    before = _everything()
    with pytest.raises(retention.RetentionRefused) as refused:
        retention.apply(DAYS)
    assert refused.value.reason == "key"
    result = runner.invoke(args=["retention", "apply", "--days", str(DAYS)])
    assert result.exit_code == 1
    assert "SURVEY_RETENTION_KEY is not set" in result.output
    assert _everything() == before


@pytest.mark.app_config(SURVEY_RETENTION_KEY="too short")
def test_a_short_key_is_refused(app, history):
    with pytest.raises(retention.RetentionRefused) as refused:
        retention.apply(DAYS)
    assert refused.value.reason == "key"


@keyed
def test_another_key_gives_another_pseudonym_and_does_not_find_the_address(app, history):
    retention.apply(DAYS)
    assert pseudonyms.pseudonym("phone", OLD_PHONE, KEY.encode()) != pseudonyms.pseudonym(
        "phone", OLD_PHONE, OTHER_KEY.encode()
    )
    from survey.addresses import find_address

    app.config["SURVEY_RETENTION_KEY"] = OTHER_KEY
    assert find_address("phone", OLD_PHONE) is None
    app.config["SURVEY_RETENTION_KEY"] = KEY
    assert find_address("phone", OLD_PHONE) is not None


def test_the_pseudonym_is_a_keyed_hmac_of_kind_and_normalised_value():
    import hashlib
    import hmac

    expected = hmac.new(KEY.encode(), b"email:wang@example.cn", hashlib.sha256).hexdigest()
    assert pseudonyms.pseudonym("email", " Wang@Example.CN", KEY.encode()) == "hmac:" + expected
    scrubbed = pseudonyms.scrub_text("call 13800138000 on 2026-10-01", KEY.encode())
    assert scrubbed == (
        f"call {pseudonyms.pseudonym('phone', '+8613800138000', KEY.encode())} on 2026-10-01"
    )
    assert pseudonyms.scrub_text(scrubbed, KEY.encode()) == scrubbed


# The floor, the setting, the command line, the nightly job -----------------------------------


@keyed
def test_retention_must_outlast_the_frequency_window_and_every_link(app, history, dispatch_ready):
    assert retention.floor_days() == 31
    with pytest.raises(retention.RetentionRefused) as refused:
        retention.apply(30)
    assert (refused.value.reason, refused.value.floor) == ("floor", 31)
    dispatch_ready.link_lifetime_hours = 24 * 60
    db.session.commit()
    assert retention.floor_days() == 61
    with pytest.raises(retention.RetentionRefused):
        retention.apply(60)


@keyed
def test_the_command_prints_its_progress_and_what_it_removed(app, history, runner):
    result = runner.invoke(args=["retention", "apply", "--days", str(DAYS), "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "retention: addresses: 1 rows" in result.output
    assert "retention: answers: 2 rows" in result.output
    assert "removed: addresses 3, customers 2" in result.output
    short = runner.invoke(args=["retention", "apply", "--days", "7"])
    assert short.exit_code == 1 and "from 31 to 3650 days" in short.output
    unset = runner.invoke(args=["retention", "apply"])
    assert unset.exit_code == 2 and "Give --days N" in unset.output


@keyed
def test_the_nightly_job_applies_the_setting_only_when_it_is_set(app, history):
    before = _everything()
    assert retention.run_nightly() == 0
    assert _everything() == before
    settings.put("pii_retention_days", DAYS)
    db.session.commit()
    assert retention.run_nightly() > 0
    assert _everything() != before


def test_the_nightly_job_without_a_key_says_so_in_the_log(app, history, caplog):
    settings.put("pii_retention_days", DAYS)
    db.session.commit()
    before = _everything()
    with caplog.at_level(logging.ERROR, logger="survey.retention"):
        assert retention.run_nightly() == 0
    assert "SURVEY_RETENTION_KEY is not set" in caplog.text
    assert _everything() == before


def test_the_settings_form_takes_0_or_days_past_the_floor(app, admin_client, dispatch_ready):
    too_short = admin_client.post(
        "/admin/settings", data=settings_form(pii_retention_days="20"), headers=EN
    )
    page = too_short.get_data(as_text=True)
    assert too_short.status_code == 200 and "at least 31 days" in page
    assert settings.get("pii_retention_days") == 0
    # The floor moves with the frequency window posted in the same form.
    wider = admin_client.post(
        "/admin/settings",
        data=settings_form(pii_retention_days="40", frequency_window_days="45"),
        headers=EN,
    )
    assert "at least 46 days" in wider.get_data(as_text=True)
    saved = admin_client.post(
        "/admin/settings",
        data=settings_form(pii_retention_days="400"),
        headers=EN,
        follow_redirects=True,
    )
    text = saved.get_data(as_text=True)
    assert "once SURVEY_RETENTION_KEY is set" in text
    settings.forget()
    assert settings.get("pii_retention_days") == 400


def test_the_settings_page_shows_the_retention_field_in_chinese(app, admin_client):
    page = admin_client.get("/admin/settings", headers={"Accept-Language": "zh"})
    text = page.get_data(as_text=True)
    assert 'name="pii_retention_days"' in text
    assert "客户个人信息保留期限（天）" in text
    assert "服务器尚未设置 SURVEY_RETENTION_KEY" in text


# The queue holds no personal data -------------------------------------------------------------


def test_every_queued_task_carries_ids_only():
    """A task's arguments are what the queue stores: ids and nothing a person could be read from."""
    wrappers = [w for w in vars(tasks).values() if isinstance(w, TaskWrapper)]
    # Every task of the product the queue knows is one of these: none is left unchecked (other
    # tests may register tasks of their own in the same process; those are not the product's).
    ours = {t for t in tasks.huey._registry._registry.values() if t.__module__.startswith("survey")}
    assert ours and {w.task_class for w in wrappers} == ours
    for wrapper in wrappers:
        function = inspect.unwrap(wrapper.func)
        hints = inspect.get_annotations(function, eval_str=True)
        for parameter in inspect.signature(function).parameters:
            assert hints.get(parameter) is int, (wrapper.name, parameter, hints.get(parameter))


@keyed
def test_notes_of_closed_follow_up_cases_lose_the_numbers_and_addresses_they_quote(app, history):
    from survey.models import CaseNote, FollowUpCase, Response

    response_ids = list(db.session.scalars(sa.select(Response.id).order_by(Response.id)))
    assert len(response_ids) >= 2

    def case(response_id: int, closed: bool) -> FollowUpCase:
        response = db.session.get_one(Response, response_id)
        made = FollowUpCase(
            response_id=response_id,
            customer_id=response.invitation.customer_id,
            due_at=LONG_AGO,
            opened_at=LONG_AGO,
            state="closed" if closed else "open",
            outcome="reached_resolved" if closed else None,
            closed_at=LONG_AGO if closed else None,
        )
        db.session.add(made)
        db.session.flush()
        return made

    closed, still_open = case(response_ids[0], True), case(response_ids[1], False)
    quoted = f"Called {OLD_PHONE}, then wrote to {OLD_EMAIL}: settled."
    old_closed = CaseNote(case_id=closed.id, body=quoted, created_at=LONG_AGO)
    new_closed = CaseNote(case_id=closed.id, body=quoted, created_at=LATELY)
    old_open = CaseNote(case_id=still_open.id, body=quoted, created_at=LONG_AGO)
    db.session.add_all([old_closed, new_closed, old_open])
    db.session.commit()

    retention.apply(DAYS)
    db.session.expire_all()
    secret = KEY.encode()
    scrubbed = db.session.get_one(CaseNote, old_closed.id).body
    assert OLD_PHONE not in scrubbed and OLD_EMAIL not in scrubbed
    assert pseudonyms.pseudonym("phone", OLD_PHONE, secret) in scrubbed
    assert scrubbed.endswith(": settled.")
    assert db.session.get_one(CaseNote, new_closed.id).body == quoted  # within the period
    assert db.session.get_one(CaseNote, old_open.id).body == quoted  # the case is being worked
    again = retention.apply(DAYS)  # idempotent
    db.session.expire_all()
    assert db.session.get_one(CaseNote, old_closed.id).body == scrubbed
    assert again is not None
