"""What the test suite keeps between its apps (tests/conftest.py) gives each app its own result.

Every test builds an app; the suite keeps Werkzeug's generated URL builders and Jinja's compiled
templates for the whole run because building them dominated a test's set-up. These tests protect
the rest of the suite from a kept piece standing in for a different one.
"""

from __future__ import annotations

import jinja2
from werkzeug.routing import Map, Rule

from survey.models import BusinessLine, Team
from tests import conftest


def test_a_kept_url_builder_still_builds_each_rule_s_own_defaults() -> None:
    first = Map([Rule("/page/<int:number>", endpoint="page", defaults={"number": 1})])
    second = Map([Rule("/page/<int:number>", endpoint="page", defaults={"number": 2})])

    assert first.bind("survey.test").build("page") == "/page/1"
    assert second.bind("survey.test").build("page") == "/page/2"


def test_a_kept_url_builder_uses_the_converters_of_the_map_that_calls_it() -> None:
    def rule() -> Rule:
        return Rule("/case/<int:case_id>", endpoint="case")

    plain = Map([rule()])
    padded = Map([rule()], converters={"int": _ZeroPadded})

    assert plain.bind("survey.test").build("case", {"case_id": 7}) == "/case/7"
    assert padded.bind("survey.test").build("case", {"case_id": 7}) == "/case/0007"


def test_a_kept_template_is_compiled_again_when_its_source_differs() -> None:
    def render(source: str) -> str:
        environment = jinja2.Environment(
            loader=jinja2.DictLoader({"page.html": source}), bytecode_cache=conftest._templates
        )
        return environment.get_template("page.html").render(name="李")

    assert render("你好，{{ name }}") == "你好，李"
    assert render("Hello, {{ name }}") == "Hello, 李"


def test_every_app_of_the_suite_shares_the_kept_templates(app) -> None:
    assert app.jinja_env.bytecode_cache is conftest._templates


def test_the_teardown_empties_what_a_test_wrote(app) -> None:
    """What a test writes (rows in a parent table and its children) is gone after it, on both
    databases, though the teardown deletes only from the tables it finds written."""
    from survey.extensions import db

    line = BusinessLine(code="p", name_zh="个人", name_en="Personal")
    db.session.add(
        Team(code="t", business_line=line, function="inquiry", name_zh="组", name_en="T")
    )
    db.session.commit()
    conftest._empty_all_tables()
    # config_stamp's one row is the organisation triggers' (each change moves its stamp).
    tables = [t for t in db.metadata.sorted_tables if t.name != "config_stamp"]
    assert {t.name: db.session.query(t).count() for t in tables} == {t.name: 0 for t in tables}


class _ZeroPadded:
    """An int converter that writes four digits, to tell the maps' builders apart."""

    regex = r"\d+"
    weight = 50
    part_isolating = True

    def __init__(self, map: Map, *args: object, **kwargs: object) -> None:
        self.map = map

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return f"{value:04d}"
