"""CPU of a dashboard page's template and of the frame every staff page shares, in one process.

    .venv/bin/python bench/page_frame.py --keep FILE.sqlite3 [--only funnel] [--repeat 200]

On a kept demo file (``bench/pages.py --keep FILE`` builds one; read-only here), signed in as
the demo's quality user, each case of bench/pages.py is asked once; when its view renders,
the page's template and each part of the frame are rendered ``--repeat`` more times with the
same context, and the median CPU time (``time.process_time``, this process only) of each is
reported: the page's whole template; the base template alone (header, main navigation and
its open-case count, no page content); the main navigation; the dashboard pages' links; the
filter form; the "what next" links; the open-case count (read with the signed-in user, again
once a request writes) and the filter lists (kept under the config stamp) by themselves. The parts are rendered from a warm process, so a
kept fragment (survey/fragments.py) counts as what it costs when kept.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

import common
import pages
from flask import current_app

import survey
import survey.dashboard.views as views
from survey import clock, settings
from survey.dashboard import filters, followups
from survey.extensions import db
from survey.i18n import current_language

PARTS = {
    "base.html (no content)": "base.html",
    "main navigation": "_nav.html",
    "dashboard links": "dashboard/_nav_pages.html",
    "filter form": "dashboard/_filters.html",
    "what next": "dashboard/_next.html",
}


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--keep", required=True, help="a demo SQLite file at the migrations' head")
    parser.add_argument("--only", help="the cases whose name starts with this")
    parser.add_argument("--repeat", type=int, default=200)
    args = common.parse(parser)
    rows: list[list[str]] = []
    render = views.render_template

    def measured(template: str, **context: Any) -> str:
        full = dict(context)
        current_app.update_template_context(full)
        env = current_app.jinja_env
        parts: dict[str, Callable[[], Any]] = {"page template": lambda: render(template, **context)}
        for label, name in PARTS.items():
            parts[label] = lambda name=name: env.get_template(name).render(full)
        parts["open-case count"] = followups.followup_count
        parts["filter lists"] = lambda: filters.choices(current_language())
        rows[-1].extend(f"{_median_ms(part, args.repeat):.3f} ms" for part in parts.values())
        return render(template, **context)

    views.render_template = measured
    about = {
        **common.machine(),
        "database": "sqlite",
        "code measured": os.path.dirname(os.path.dirname(survey.__file__)),
    }
    with common.existing_app(f"sqlite:///{args.keep}") as app:
        last_day = common.last_day()
        noon = datetime.combine(last_day, day_time(12), tzinfo=ZoneInfo(settings.bank_zone()))
        clock.freeze(noon.astimezone(UTC))
        db.session.rollback()
        about["data"] = f"demo kept in {args.keep} (read-only), last day {last_day}"
        client = common.signed_in_client(app, pages.QUALITY)
        for case in pages._cases(last_day):
            if args.only and not case.name.startswith(args.only):
                continue
            rows.append([case.name])
            pages._page(case, client)
    common.record(
        "Dashboard page frame, CPU per render (sqlite, in-process)",
        about,
        ["page, filters", "page template", *PARTS, "open-case count", "filter lists"],
        rows,
        notes=[
            f"Median CPU (process_time) of {args.repeat} renders of each, in one warm process, "
            "signed in as quality, `lang=zh`, the view's own context. The page template holds "
            "the base template and the frame's parts; the base template holds the main "
            "navigation, which holds the open-case count. The filter lists are read by the view, "
            "not the template. Shared machine: read within a section."
        ],
        enabled=not args.no_record,
    )


def _median_ms(action: Callable[[], Any], repeat: int) -> float:
    action()
    spent = []
    for _ in range(repeat):
        started = time.process_time()
        action()
        spent.append(time.process_time() - started)
    return statistics.median(spent) * 1000


if __name__ == "__main__":
    main()
