"""gunicorn settings for `make run` (scripts/serve.sh) and for production.

Read from the environment so one file serves every deployment: SURVEY_HOST and
SURVEY_PORT (where to listen), SURVEY_WEB_WORKERS (processes, default 2). gthread
workers: a slow phone holds one thread, not a whole process.
"""

import os

import gunicorn.http.wsgi

# The Server header names no software and no version (nothing to look up for an attacker).
gunicorn.http.wsgi.SERVER = "survey"

bind = f"{os.environ.get('SURVEY_HOST', '127.0.0.1')}:{os.environ.get('SURVEY_PORT', '5000')}"
workers = int(os.environ.get("SURVEY_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = 4
timeout = 60
graceful_timeout = 20
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
wsgi_app = "survey.wsgi:app"


def worker_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook
    """Write the survey links' first visits this worker noted and did not write yet."""
    from survey.respond import opens

    opens.flush_all()
