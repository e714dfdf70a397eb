"""The e-mail provider: invitations and staff mails over SMTP (``SURVEY_SMTP_URL``).

A send is one short SMTP conversation, each step classified by how far the
message got: a server that cannot be reached or will not let us in is a
configuration fault that holds every e-mail (nothing is failed for it); a
recipient the server refuses for good fails that delivery only; a 4xx before
the server took the message means it certainly did not, so a retry is safe;
and silence after the message was handed over means nobody can tell, so it is
never sent again.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app

from survey import clock, settings
from survey.channels.base import ABSENT, CANNOT_TELL, Lookup, Message, SendResult
from survey.extensions import db
from survey.models import Delivery

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtps": 465, "starttls": 587, "smtp": 25}
_TRUE = ("1", "true", "yes", "on")


class SmtpUrlError(ValueError):
    """SURVEY_SMTP_URL cannot be read; the message says what is wrong, never the password."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand mail over, read from SURVEY_SMTP_URL."""

    host: str
    port: int
    implicit_tls: bool = False  # smtps://: TLS from the first byte
    starttls: bool = False  # smtp://…?starttls=1: upgrade before anything else is said
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_url(url: str) -> SmtpServer:
    """Read ``smtp://[user:pass@]host[:port][?starttls=1]`` or ``smtps://[user:pass@]host[:port]``.

    Credentials are percent-decoded (a password with ``@`` or ``/`` is written ``%40``,
    ``%2F``); without a user no AUTH is attempted. Ports default to 465 for smtps, 587
    with STARTTLS and 25 otherwise.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise SmtpUrlError("SURVEY_SMTP_URL must start with smtp:// or smtps://")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise SmtpUrlError("SURVEY_SMTP_URL has a port that is not a number") from None
    if not host:
        raise SmtpUrlError("SURVEY_SMTP_URL names no host")
    query = {key.lower(): values[-1] for key, values in parse_qs(parts.query).items()}
    starttls = scheme == "smtp" and query.get("starttls", "").lower() in _TRUE
    implicit_tls = scheme == "smtps"
    if port is None:
        port = DEFAULT_PORTS["smtps" if implicit_tls else "starttls" if starttls else "smtp"]
    return SmtpServer(
        host=host,
        port=port,
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def mail_configured(config: Mapping[str, Any] | None = None) -> bool:
    """Whether this deployment sends real e-mail (SURVEY_SMTP_URL is set)."""
    config = current_app.config if config is None else config
    return bool(config.get("SURVEY_SMTP_URL"))


class SmtpChannel:
    """The e-mail channel over SMTP; the invitation's Message-ID is the delivery's provider id."""

    name = "smtp"
    carries = ("email",)

    @staticmethod
    def configured(config: Mapping[str, Any]) -> bool:
        """SMTP carries e-mail whenever SURVEY_SMTP_URL is set."""
        return mail_configured(config)

    @staticmethod
    def sender(config: Mapping[str, Any], survey_channel: str) -> str:
        """E-mail is paced per mail server and account."""
        try:
            server = parse_url(config.get("SURVEY_SMTP_URL") or "")
        except SmtpUrlError:
            return "smtp:unparsable"
        return f"smtp:{server.address}:{server.username or ''}"

    def send(self, delivery_id: int, message: Message) -> SendResult:
        """Hand the invitation e-mail to the mail server and classify the outcome; never raises.

        SMTP has no idempotency key: a send that ends in doubt reports ``unknown`` so the
        dispatcher never sends it again.
        """
        language = message.headers.get("Content-Language", "zh")

        def before_data(message_id: str) -> bool:
            # Committed before the message goes on the wire: a crash before this line
            # provably sent nothing (look_up), one after it cannot be told. Only while the
            # delivery is still ours: a sweep that found this send stalled and settled it as
            # never sent (reconcile.py, the same condition) sends it itself, so we stop.
            recorded = db.session.execute(
                sa.update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.state == "sending",
                    Delivery.provider_id.is_(None),
                )
                .values(provider_id=message_id)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            return recorded.rowcount == 1

        return deliver(
            message.to,
            message.subject,
            message.body,
            html=message.html,
            headers=message.headers,
            language=language,
            # 0: a send with no delivery row (a designer's test send): nothing to record.
            before_data=before_data if delivery_id else None,
        )

    def look_up(self, delivery_id: int) -> Lookup:
        """Say whether an interrupted e-mail can have gone: only once its DATA began.

        ``send`` records the Message-ID on the delivery just before DATA; without it,
        the server never had the message. With it, the server cannot be asked what
        became of it: nobody can tell, and an administrator decides whether to send it
        again (admin/undelivered.py).
        """
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is not None and delivery.provider == self.name and not delivery.provider_id:
            return Lookup(ABSENT)
        return Lookup(CANNOT_TELL, error="the mail server cannot be asked about a message")


def send_staff_mail(to: str, subject: str, text: str, language: str) -> SendResult:
    """E-mail a staff member a plain-text message (a set-password link); never raises.

    :param language: ``zh`` or ``en``, the language the text is written in.
    """
    return deliver(to, subject, text, language=language)


def deliver(
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
    language: str = "zh",
    before_data: Callable[[str], bool | None] | None = None,
) -> SendResult:
    """Build one e-mail and hand it to the configured SMTP server; return the classified result.

    :param before_data: called with the Message-ID once the server has accepted the
        envelope, just before the message itself is sent; when it answers False the
        message is not sent (``taken_over``).
    """
    config = current_app.config
    try:
        server = parse_url(config.get("SURVEY_SMTP_URL") or "")
    except SmtpUrlError as error:
        log.error("e-mail held: %s", error)
        return SendResult(ok=False, held=True, error=str(error))
    sender = config.get("SURVEY_MAIL_FROM") or ""
    if not _plain_address(sender):
        # Every e-mail would carry it: a configuration fault, not this message's.
        log.error("e-mail held: SURVEY_MAIL_FROM is not an e-mail address")
        return SendResult(ok=False, held=True, error="SURVEY_MAIL_FROM is not an e-mail address")
    try:
        email = build_email(to, subject, text, html=html, headers=headers, language=language)
        recipient = email["To"].addresses[0].addr_spec
        # Written out now, so a message that cannot be put on the wire never opens a connection.
        payload = email.as_bytes(policy=_wire_policy(email, not (sender + recipient).isascii()))
    except (ValueError, TypeError, IndexError, MessageError) as error:
        # A recipient address the e-mail library cannot write (a line break, no address at
        # all): no retry will change it.
        return SendResult(ok=False, error=f"the e-mail cannot be written: {error}")
    timeout = float(config.get("SURVEY_SMTP_TIMEOUT_SECONDS") or 10)
    return _converse(server, sender, recipient, email["Message-ID"], payload, timeout, before_data)


def _plain_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(local and at and domain) and not any(c in address for c in " \t\r\n<>,")


def _wire_policy(email: EmailMessage, utf8: bool) -> Policy:
    # SMTP wants CRLF line ends; the e-mail package writes bare LF by default.
    return email.policy.clone(linesep="\r\n", utf8=utf8)


def build_email(
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
    language: str = "zh",
) -> EmailMessage:
    """Return the MIME message: text (and HTML) in UTF-8, the bank as sender, a fresh Message-ID."""
    lang = "en" if language.lower().startswith("en") else "zh"
    sender = current_app.config.get("SURVEY_MAIL_FROM") or "survey@localhost"
    domain = sender.rpartition("@")[2]
    email = EmailMessage()
    email["From"] = Address(display_name=settings.get(f"bank_name_{lang}"), addr_spec=sender)
    email["To"] = to
    email["Subject"] = subject
    email["Date"] = format_datetime(clock.now())
    # Made here, before the server sees it, so the delivery can record it whatever happens next.
    email["Message-ID"] = make_msgid(domain=domain)
    email.set_content(text, charset="utf-8")
    if html is not None:
        email.add_alternative(html, subtype="html", charset="utf-8")
    # Set last: set_content() drops every Content-* header already there.
    extra = dict(headers or {})
    extra.setdefault("Content-Language", "zh-CN" if lang == "zh" else "en")
    for name, value in extra.items():
        email[name] = value
    return email


def _held(server: SmtpServer, error: BaseException | str) -> SendResult:
    reason = f"cannot send through mail server {server.address}: {_describe(error)}"
    # Every e-mail waits on this until someone fixes the configuration or the server.
    log.error("e-mail held: %s", reason)
    return SendResult(ok=False, held=True, error=reason)


def _describe(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    # smtplib reports a read that timed out as a disconnection; say what really happened.
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        return "no answer in time"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _refused(code: int, reply: bytes | str, step: str) -> SendResult:
    """Classify a refusal the server answered with: 4xx try again later, 5xx for good."""
    error = f"{step}: {code} {_text(reply)}"
    return SendResult(ok=False, error=error, retryable=400 <= code < 500, code=str(code))


def _open(server: SmtpServer, timeout: float) -> smtplib.SMTP:
    """Connect, secure and sign in; every socket operation is bounded by ``timeout``."""
    context = ssl.create_default_context()
    if server.implicit_tls:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host, server.port, timeout=timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    try:
        smtp.ehlo_or_helo_if_needed()
        if server.starttls:
            # Raises when the server does not offer STARTTLS: never fall back to plain text.
            smtp.starttls(context=context)
            smtp.ehlo_or_helo_if_needed()
        if server.username:
            smtp.login(server.username, server.password or "")
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _converse(
    server: SmtpServer,
    sender: str,
    recipient: str,
    message_id: str,
    payload: bytes,
    timeout: float,
    before_data: Callable[[str], bool | None] | None = None,
) -> SendResult:
    try:
        smtp = _open(server, timeout)
    except UnicodeEncodeError:
        # smtplib's AUTH sends the user name and password as ASCII only.
        return _held(server, "the SMTP user name or password has non-ASCII characters")
    except (OSError, smtplib.SMTPException) as error:
        # Refused, timed out, TLS or certificate trouble, a greeting of 4xx/5xx, a bad
        # password, STARTTLS not offered: the same for every message, so hold them all.
        return _held(server, error)
    try:
        try:
            options = _envelope(smtp, sender, recipient)
            if options is None:
                return SendResult(
                    ok=False, error="the mail server cannot take non-ASCII addresses (SMTPUTF8)"
                )
            code, reply = smtp.mail(sender, options)
            if code != 250:
                if 400 <= code < 500:
                    return _refused(code, reply, "sender refused for now")
                # The server will take nothing from this sender: a configuration fault.
                return _held(server, f"sender {sender} refused: {code} {_text(reply)}")
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                return _refused(code, reply, "recipient refused")
        except (OSError, smtplib.SMTPException) as error:
            # The server went away or went silent before it had the message.
            return _held(server, error)
        if before_data is not None and before_data(message_id) is False:
            log.warning("e-mail %s: taken over by another worker before DATA; not sent", message_id)
            return SendResult(ok=False, taken_over=True, error="taken over before DATA")
        try:
            # data() raises only when DATA itself is refused; the verdict on the message
            # comes back as its return value.
            code, reply = smtp.data(payload)
        except smtplib.SMTPDataError as error:
            return _refused(error.smtp_code, error.smtp_error, "message refused")
        except (OSError, smtplib.SMTPException) as error:
            # The message went out but its receipt never came back: it may be on its way.
            log.warning(
                "e-mail %s: no receipt from %s (%s); it is not sent again",
                message_id,
                server.address,
                _describe(error),
            )
            return SendResult(
                ok=False,
                unknown=True,
                provider_id=message_id,
                error=f"the mail server did not confirm the message: {_describe(error)}",
            )
        if code != 250:
            # An answer, not silence: the server says it did not take the message.
            return _refused(code, reply, "message refused")
        return SendResult(ok=True, provider_id=message_id)
    finally:
        _close(smtp)


def _envelope(smtp: smtplib.SMTP, sender: str, recipient: str) -> list[str] | None:
    """Return the MAIL options the addresses need, or None when this server cannot take them."""
    if (sender + recipient).isascii():
        return []
    # An address with non-ASCII characters (RFC 6531) needs the server's SMTPUTF8.
    return ["SMTPUTF8", "BODY=8BITMIME"] if smtp.has_extn("smtputf8") else None


def _close(smtp: smtplib.SMTP) -> None:
    """Say QUIT politely, or just drop the connection when the server is not listening."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
