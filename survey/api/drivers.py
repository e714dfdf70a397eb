"""API: the drivers of overall satisfaction, on the same days and filters as the scores."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _

from survey import settings
from survey.api import bp
from survey.auth.service import api_key_required
from survey.errors import problem
from survey.scoring import drivers, queries

# The scores' parameters that apply to drivers: the days and the filters, not the grouping.
PARAMETERS = ("from", "to", *queries.FILTER_FIELDS)


@bp.get("/drivers")
@api_key_required("scores")
def get_drivers():
    """Return each dimension's correlation with overall satisfaction, strongest first."""
    errors = [
        {"field": name, "message": _("Unknown parameter.")}
        for name in request.args
        if name not in PARAMETERS
    ]
    query = None
    try:
        query = queries.parse({k: v for k, v in request.args.items() if k in PARAMETERS})
    except queries.QueryError as error:
        errors.extend(error.errors)
    if errors or query is None:
        return problem(
            400,
            _("Invalid query"),
            _("Some parameters are wrong; see errors."),
            errors=errors,
        )
    found = drivers.drivers(query, int(settings.get("min_n")))
    return jsonify(
        {
            "from": query.date_from.isoformat(),
            "to": query.date_to.isoformat(),
            "n_responses": found.n_responses,
            "limit": drivers.LIMIT,
            "wording": _("Most closely associated with overall satisfaction"),
            "drivers": [_driver(d) for d in found.drivers],
        }
    )


def _driver(driver: drivers.Driver) -> dict[str, Any]:
    return {
        "dimension": driver.dimension,
        "n": driver.n,
        "r": _round(driver.r),
        "r_low": _round(driver.r_low),
        "r_high": _round(driver.r_high),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
