"""The Twilio REST client as the channels use it: one timeout, one base URL, classified errors.

Production talks to https://api.twilio.com; the tests point ``TWILIO_API_URL`` at
Twilio's contract mock. Only the transport differs: the official client builds
every request the same way in both.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

import requests
import requests.utils
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from survey.channels.base import SendResult

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
DEFAULT_TIMEOUT_SECONDS = 10.0

# Twilio error codes (https://www.twilio.com/docs/api/errors) that say our account or sender
# is misconfigured: every send would fail the same way, so deliveries wait for a fix
# instead of each one failing and falling back.
CONFIGURATION_CODES = {
    20003,  # authentication failed: wrong account SID or auth token
    20005,  # the account is not active (suspended or closed)
    21210,  # the From number is not a verified caller ID (voice)
    21212,  # the From number is invalid
    21606,  # the From number cannot send SMS
    21659,  # the From number is not a Twilio number
    21660,  # the From number belongs to another account
    21701,  # the Messaging Service does not exist
    21703,  # the Messaging Service is inactive
    21704,  # the Messaging Service has no senders
    21705,  # the Messaging Service SID is invalid
}
# Twilio accepted nothing and asks us to slow down: the same request may work later.
RETRYABLE_CODES = {
    20429,  # too many requests
    21611,  # the From number's queue is full
    14107,  # SMS rate limit exceeded
}
# The carrier or Twilio reports that the recipient replied STOP to our sender.
OPTED_OUT_CODES = {21610}
# Every other 4xx (21211 invalid To, 21614 not a mobile number, 21612 unreachable,
# 21408 region not enabled, …) is about this one message: permanent, so the dispatcher
# falls back to the next channel.


class TwilioTransport(TwilioHttpClient):
    """Twilio's own HTTP client with a timeout on every request and a configurable base URL.

    No retries: a retried POST that Twilio had already taken would send the message twice.
    """

    def __init__(self, base_url: str = TWILIO_API, timeout: float = DEFAULT_TIMEOUT_SECONDS):
        self.base_url = base_url.rstrip("/")
        # The environment's proxy for Twilio and CA bundle, read once here: requests reads
        # every *_proxy variable again for each request otherwise (half a millisecond of a
        # send, spent between its turn and the request).
        super().__init__(timeout=timeout, proxy=requests.utils.get_environ_proxies(self.base_url))
        self.session.trust_env = False
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.session.verify = bundle
        # The last answer's Retry-After, in seconds (None when it had none).
        self.retry_after: float | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.base_url != TWILIO_API and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        self.retry_after = None
        response = super().request(method, url, *args, **kwargs)
        # Twilio's exception keeps no headers: its wish to be left alone is read here.
        self.retry_after = _seconds(response.headers.get("Retry-After"))
        return response


def _seconds(value: str | None) -> float | None:
    """Read a Retry-After in seconds (the only form Twilio uses); None when absent or odd."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 86400 else None


# Each thread keeps its clients: a client holds a requests session whose kept-alive connection
# to Twilio serves the next send, instead of a new TCP (and TLS) handshake for every message.
# Per thread, because the transport notes the last request and response on itself.
_clients = threading.local()


def make_client(config: Mapping[str, Any]) -> Client:
    """Return this thread's Twilio client for this deployment's account (made once, then kept)."""
    key = (
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        config.get("TWILIO_API_URL") or TWILIO_API,
        float(config.get("TWILIO_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
    )
    kept: dict[tuple[str, str, str, float], Client] = _clients.__dict__.setdefault("by_key", {})
    client = kept.get(key)
    if client is None:
        account_sid, auth_token, base_url, timeout = key
        transport = TwilioTransport(base_url=base_url, timeout=timeout)
        client = kept[key] = Client(account_sid, auth_token, http_client=transport)
    return client


def classify(error: Exception, retry_after: float | None = None) -> SendResult:
    """Turn what a send raised into the verdict the dispatcher acts on.

    The question behind every branch: could Twilio have taken the message? When it
    certainly did not, the failure is retryable or permanent; when it may have, the
    verdict is ``unknown``, to be looked up at Twilio (``look_up``) rather than sent again.

    :param retry_after: the seconds Twilio's answer asked us to wait (Retry-After).
    """
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return SendResult(ok=False, retryable=True, error=f"Twilio unreachable: {_short(error)}")
    if isinstance(error, requests.exceptions.ReadTimeout):
        return SendResult(
            ok=False,
            unknown=True,
            look_up=True,
            error=f"Twilio did not answer in time: {_short(error)}",
        )
    if isinstance(error, requests.exceptions.ConnectionError):
        if _never_connected(error):
            return SendResult(
                ok=False, retryable=True, error=f"Twilio unreachable: {_short(error)}"
            )
        # Reset or closed after the request went out: Twilio may have acted on it.
        return SendResult(
            ok=False,
            unknown=True,
            look_up=True,
            error=f"connection to Twilio lost: {_short(error)}",
        )
    if isinstance(error, requests.exceptions.RequestException):
        return SendResult(
            ok=False, unknown=True, look_up=True, error=f"Twilio request failed: {_short(error)}"
        )
    status = getattr(error, "status", None)
    if isinstance(error, TwilioException) and isinstance(status, int):
        return _classify_http(error, status, retry_after)
    return SendResult(ok=False, unknown=True, error=f"Twilio client error: {_short(error)}")


def _classify_http(error: TwilioException, status: int, retry_after: float | None) -> SendResult:
    code = _code(error, status)
    text = f"{code}: {twilio_message(error)}"
    if status == 401 or code in CONFIGURATION_CODES:
        log.error("Twilio refused our account or sender configuration (%s); fix TWILIO_*", text)
        return SendResult(ok=False, held=True, code=str(code), error=text)
    if status == 429 or code in RETRYABLE_CODES:
        return SendResult(
            ok=False, retryable=True, retry_after=retry_after, code=str(code), error=text
        )
    if code in OPTED_OUT_CODES:
        return SendResult(ok=False, opted_out=True, code=str(code), error=text)
    if 400 <= status < 500:
        return SendResult(ok=False, code=str(code), error=text)
    # A 5xx: Twilio may have queued the message before failing to answer; its list tells.
    return SendResult(ok=False, unknown=True, look_up=True, code=str(code), error=text)


def _code(error: TwilioException, status: int) -> int:
    code = getattr(error, "code", None)
    try:
        return int(code) if code is not None else status
    except (TypeError, ValueError):
        return status


def twilio_message(error: Exception) -> str:
    """Return Twilio's own words for an error, without the client's "Unable to …:" prefix."""
    text = getattr(error, "detail", None) or getattr(error, "msg", None) or str(error)
    return re.sub(r"^Unable to [^:]*: ", "", str(text)).strip()[:300]


def _never_connected(error: requests.exceptions.ConnectionError) -> bool:
    """Whether the connection failed before any byte of the request could reach Twilio."""
    if isinstance(error, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    reason = getattr(error.args[0] if error.args else None, "reason", None)
    # NewConnectionError covers refused connections and unresolvable names.
    return isinstance(reason, NewConnectionError)


def _short(error: Exception) -> str:
    return str(error)[:200]
