"""Operations endpoints for load balancers and monitoring: /healthz, /readyz, /metrics.

They are outside every blueprint's sign-in and answer no HTML: a probe reads a
status code, Prometheus reads its text format. ``/metrics`` is only for the
addresses in ``SURVEY_METRICS_ALLOW`` or a caller with ``SURVEY_METRICS_TOKEN``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from survey.ops import metrics, readiness

bp = Blueprint("ops", __name__)


def init_app(app: Flask) -> None:
    """Register the endpoints and the request and answer counters."""
    app.register_blueprint(bp)
    metrics.init_app(app)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Say the process is alive; touch nothing else."""
    return jsonify(status="ok"), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Say whether the database and the queue answer within the readiness timeout."""
    checks = readiness.check_all(current_app.config)
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {check.name: check.as_dict() for check in checks},
    }
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def metrics_page() -> Response:
    """Serve Prometheus metrics to an allowed address or a caller with the metrics token."""
    if not metrics.may_read(request, current_app.config):
        return Response("forbidden\n", status=403, mimetype="text/plain")
    body, content_type = metrics.render()
    return Response(body, status=200, content_type=content_type)
