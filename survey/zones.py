"""Which time zone names the product takes: the IANA names of real places.

One rule for every zone a person gives us — a customer's, posted by the bank's
systems, and the bank's default, kept by the admin — because both decide when a
person may be messaged (DESIGN.md rule 3: allowed hours in the customer's own
zone). A name is checked against the list of zones, never opened as a path:
``America`` or ``__pycache__`` are folders of tzdata, ``posixrules`` and
``right/UTC`` are files that are no zone anyone lives in.

``UTC`` and the other zones of no place (``Etc/GMT+8``, ``EST5EDT``, ``Factory``)
are refused too: nothing in the product or its contracts relies on them, a
customer lives somewhere, and a system that does not know where should leave the
field out, so the bank's default zone (Asia/Shanghai unless the admin changes it)
applies. Old country names such as ``PRC`` or ``US/Pacific`` are places, and kept.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

# Zones that are a clock rule or an offset, not a place where a customer lives.
NOT_PLACES = frozenset(
    {
        "Factory",
        "localtime",
        "posixrules",
        "UTC",
        "UCT",
        "GMT",
        "GMT0",
        "GMT+0",
        "GMT-0",
        "Greenwich",
        "Universal",
        "Zulu",
        "EST",
        "MST",
        "HST",
        "EST5EDT",
        "CST6CDT",
        "MST7MDT",
        "PST8PDT",
        "CET",
        "MET",
        "EET",
        "WET",
    }
)
# Whole areas of tzdata that hold offsets, not places (Etc/UTC, Etc/GMT-8, ...).
NOT_PLACE_AREAS = ("Etc/",)


@cache
def place_zones() -> frozenset[str]:
    """Return the IANA zone names of places: every installed zone less those of no place."""
    return frozenset(
        name
        for name in available_timezones()
        if name not in NOT_PLACES and not name.startswith(NOT_PLACE_AREAS)
    )


def is_place_zone(name: str) -> bool:
    """Say whether ``name`` is the IANA zone of a place (Asia/Shanghai), exactly as written."""
    return name in place_zones()
