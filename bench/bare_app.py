"""A bare Flask endpoint for the intake benchmark to measure the server's own ceiling.

It takes the same POST as ``/api/v1/interactions`` and answers a small JSON body,
touching no database, so the intake's rate can be read as a share of what
gunicorn, Flask and the load generator manage on this machine in the same run.
"""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/interactions")
def take_interaction():
    """Parse the posted interaction and answer as if it were stored."""
    body = request.get_json()
    return jsonify({"external_id": body["external_id"], "invitation": None}), 201


@app.get("/ready")
def ready():
    """Say the server is up."""
    return "ok"
