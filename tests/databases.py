"""Which databases a test runs on: both by default (``database_url`` in tests/conftest.py).

A test of something only PostgreSQL has (a storage parameter, a plan, what its demo load does
to the keys and indexes) is marked ``@only_postgresql``: it runs on PostgreSQL alone rather
than being collected for SQLite and skipped there.
"""

from __future__ import annotations

import pytest

only_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

# A test of what SQLite alone does (its driver's trace of the statements it runs).
only_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
