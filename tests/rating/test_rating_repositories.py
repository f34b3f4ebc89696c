"""Both bundled rating repositories pass the RatingRepositoryContract."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from custmgmt.adapters.memory import MemoryStore
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.ratings import RATING_MIGRATIONS
from custmgmt.rating.ports import RatingRepository
from custmgmt.testing import RatingRepositoryContract


class TestMemoryRatingRepository(RatingRepositoryContract):
    def make_repository(self) -> RatingRepository:
        self._store: Any = MemoryStore()
        repo: RatingRepository = self._store.ratings
        return repo

    def transaction(self, repository: RatingRepository) -> AbstractContextManager[None]:
        scope: AbstractContextManager[None] = self._store.transaction()
        return scope


class TestSQLiteRatingRepository(RatingRepositoryContract):
    def make_repository(self) -> RatingRepository:
        self._store: Any = SQLiteStore(":memory:")
        repo: RatingRepository = self._store.ratings
        return repo

    def close_repository(self, repository: RatingRepository) -> None:
        self._store.close()

    def transaction(self, repository: RatingRepository) -> AbstractContextManager[None]:
        scope: AbstractContextManager[None] = self._store.transaction()
        return scope


def test_the_bundled_repositories_satisfy_the_protocol() -> None:
    memory = MemoryStore()
    sqlite = SQLiteStore(":memory:")
    assert isinstance(memory.ratings, RatingRepository)
    assert isinstance(sqlite.ratings, RatingRepository)
    assert memory.ratings is memory.ratings
    sqlite.close()


def test_the_sqlite_ratings_schema_is_recorded_as_its_own_component() -> None:
    store = SQLiteStore(":memory:")
    _ = store.ratings
    assert store.schema_version("ratings") == len(RATING_MIGRATIONS)
    store.close()
