"""The WSGI entry point for gunicorn: ``gunicorn survey.wsgi:app``.

Each gunicorn worker process imports this and builds its own app (no --preload:
database connections and the queue's storage must not be shared across a fork).
"""

from survey import create_app

app = create_app()
