"""The SQLite and PostgreSQL repositories built on one shared SQL repository offer the
same public methods (a method one dialect has, the other has too), and keep no query
of their own beyond their dialect's hooks."""

from __future__ import annotations

import inspect

import pytest

pytest.importorskip("psycopg")

from custmgmt.adapters._sql_loyalty import SqlPointsRepository
from custmgmt.adapters._sql_privacy import SqlPrivacyRepository
from custmgmt.adapters._sql_queries import SqlQueries
from custmgmt.adapters._sql_ratings import SqlRatingRepository
from custmgmt.adapters._sql_risk import SqlRiskRepository
from custmgmt.adapters.postgres.loyalty import PostgresPointsRepository
from custmgmt.adapters.postgres.privacy import PostgresPrivacyRepository
from custmgmt.adapters.postgres.ratings import PostgresRatingRepository
from custmgmt.adapters.postgres.risk import PostgresRiskRepository
from custmgmt.adapters.sqlite.loyalty import SQLitePointsRepository
from custmgmt.adapters.sqlite.privacy import SQLitePrivacyRepository
from custmgmt.adapters.sqlite.ratings import SQLiteRatingRepository
from custmgmt.adapters.sqlite.risk import SQLiteRiskRepository

PAIRS = [
    (SqlRatingRepository, SQLiteRatingRepository, PostgresRatingRepository),
    (SqlPrivacyRepository, SQLitePrivacyRepository, PostgresPrivacyRepository),
    (SqlRiskRepository, SQLiteRiskRepository, PostgresRiskRepository),
    (SqlPointsRepository, SQLitePointsRepository, PostgresPointsRepository),
]
#: Public methods only one dialect has, and why.
ONLY_IN = {
    # Empties SQLite's WAL after an erasure; PostgreSQL's VACUUM is the operator's.
    SQLitePrivacyRepository: {"purge_history"},
}


def _public(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, callable) if not name.startswith("_")}


@pytest.mark.parametrize(("base", "lite", "pg"), PAIRS, ids=lambda c: c.__name__)
def test_both_dialects_offer_the_shared_repositorys_methods(
    base: type, lite: type, pg: type
) -> None:
    assert issubclass(base, SqlQueries)
    assert issubclass(lite, base)
    assert issubclass(pg, base)
    assert _public(lite) - ONLY_IN.get(lite, set()) == _public(pg) - ONLY_IN.get(pg, set())
    assert _public(base) <= _public(pg)


@pytest.mark.parametrize(("base", "lite", "pg"), PAIRS, ids=lambda c: c.__name__)
def test_a_dialect_defines_no_public_method_of_the_shared_repository_again(
    base: type, lite: type, pg: type
) -> None:
    for dialect in (lite, pg):
        again = {name for name in _public(base) if name in vars(dialect)}
        assert again == set(), (dialect.__name__, again)
