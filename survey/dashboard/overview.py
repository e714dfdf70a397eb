"""The dashboard's overview: headline scores, scores by dimension and business line, the trend.

Everything is read through ``scoring.queries`` (the rollup), never from raw answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from survey import settings
from survey.extensions import db
from survey.models import BusinessLine
from survey.scoring import queries

DIMENSION_ORDER = ("attitude", "wait_time", "products", "complaint_handling", "overall")


@dataclass(frozen=True)
class Overview:
    date_from: date
    date_to: date
    min_n: int
    headline: dict[str, Any]
    by_dimension: list[dict[str, Any]]
    by_business_line: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    business_line_names: dict[str, dict[str, str]]


def period(days: int) -> tuple[date, date]:
    """Return the last ``days`` days ending today in the bank's zone."""
    end = queries.today()
    return end - timedelta(days=days - 1), end


def overview(date_from: date, date_to: date) -> Overview:
    """Gather what the overview page shows for a range of the bank's days."""
    min_n = int(settings.get("min_n"))

    def run(group_by: tuple[str, ...] = (), **filters: tuple[str, ...]) -> list[dict[str, Any]]:
        query = queries.ScoreQuery(date_from, date_to, group_by, filters)
        return queries.scores(query, min_n)

    [headline] = run()
    dimensions = {g["key"]["dimension"]: g for g in run(("dimension",))}
    names = {
        line.code: {"zh": line.name_zh, "en": line.name_en}
        for line in db.session.scalars(sa.select(BusinessLine))
    }
    return Overview(
        date_from=date_from,
        date_to=date_to,
        min_n=min_n,
        headline=headline,
        by_dimension=[dimensions[d] for d in DIMENSION_ORDER if d in dimensions],
        by_business_line=[g for g in run(("business_line",)) if g["key"]["business_line"]],
        trend=run(("week",)),
        business_line_names=names,
    )
