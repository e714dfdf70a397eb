"""Flask-Talisman with each view's header values worked out once per process, not per request.

Talisman merges a view's own options (``@talisman(...)``) with its defaults four times a
request and joins the Content-Security-Policy dict into a header value once more. Both
follow only from the view and from settings fixed when the app starts (no CSP nonce is
used), so they are kept: per view function, and per policy object. The headers each
response gets are Talisman's own; ``tests/test_security_headers.py`` walks every route
for them.
"""

from __future__ import annotations

from typing import Any

import flask
from flask_talisman import Talisman


class OncePerViewTalisman(Talisman):
    """Talisman that keeps each view's options and each policy's header value."""

    def init_app(self, app: flask.Flask, **kwargs: Any) -> None:
        # The defaults a view's options are merged with are set here: forget what was kept.
        self._options_by_view: dict[Any, dict[str, Any]] = {}
        self._policy_values: dict[int, tuple[Any, str]] = {}
        super().init_app(app, **kwargs)

    def _get_local_options(self) -> dict[str, Any]:
        view = flask.current_app.view_functions.get(flask.request.endpoint)  # type: ignore[arg-type]
        options = self._options_by_view.get(view)
        if options is None:
            options = self._options_by_view[view] = super()._get_local_options()
        return options

    def _parse_policy(self, policy: Any) -> str:
        if isinstance(policy, str) or self._get_local_options()["content_security_policy_nonce_in"]:
            return super()._parse_policy(policy)  # a nonce differs each request
        kept = self._policy_values.get(id(policy))
        if kept is None or kept[0] is not policy:
            kept = self._policy_values[id(policy)] = (policy, super()._parse_policy(policy))
        return kept[1]
