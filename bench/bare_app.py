"""A bare Flask endpoint for the intake benchmark to measure the server's own ceiling.

It takes the same POST as ``/api/v1/interactions`` and answers a small JSON body,
touching no database, so the intake's rate can be read as a share of what
gunicorn, Flask and the load generator manage on this machine in the same run.
The survey page benchmark (``survey_page.py``) uses its ``/s/<token>`` the same
way: a GET answers a small page, a POST reads the form and redirects, as a step does.
The mixed load (``load.py``) adds the inbound SMS webhook (reads the form, answers
TwiML) and the dashboard's pages (a small page each), so every path it sends has a
bare twin.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, redirect, request

app = Flask(__name__)


@app.post("/api/v1/interactions")
def take_interaction():
    """Parse the posted interaction and answer as if it were stored."""
    body = request.get_json()
    return jsonify({"external_id": body["external_id"], "invitation": None}), 201


@app.get("/s/<token>")
def survey_page(token: str):
    """Answer a small page naming the token, as if the survey were shown."""
    return f"<!doctype html><title>survey</title><p>{token[:8]}</p>"


@app.post("/s/<token>")
def survey_step(token: str):
    """Read the posted step and redirect to the next, as if it were stored."""
    step = request.form.get("step", "")
    return redirect(f"/s/{token}?q={step}", 303)


@app.post("/webhooks/twilio/sms")
def inbound_sms():
    """Read the posted SMS and answer TwiML, as if the reply were recorded."""
    body = request.form.get("Body", "")
    reply = f"<?xml version='1.0'?><Response><Message>{len(body)}</Message></Response>"
    return Response(reply, mimetype="text/xml")


@app.get("/")
@app.get("/dimensions")
@app.get("/breakdown")
def dashboard():
    """Answer a small page, as if a dashboard were drawn."""
    return f"<!doctype html><title>dashboard</title><p>{request.path}</p>"


@app.get("/ready")
def ready():
    """Say the server is up."""
    return "ok"
