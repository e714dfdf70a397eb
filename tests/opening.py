"""Write the survey links' first visits noted so far, as their thread would (survey.respond.opens).

The tests' apps run no such thread (``SURVEY_OPENS_INTERVAL = None``): a test that reads
what a visit recorded writes the batch first, when it means to.
"""

from __future__ import annotations

from flask import current_app

from survey.respond import opens


def written() -> int:
    """Write the current app's noted first visits; return how many links were counted opened."""
    return opens.flush(current_app._get_current_object())
