"""What every section of ``custmgmt demo`` gets: the store, the demo's "now" and a printer."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO

import attrs

from custmgmt.ports import ColumnarStore
from custmgmt.rating.ports import RatingStore
from custmgmt.tickets.ports import TicketStore

__all__ = ["DemoContext", "DemoStore", "campaign_run_at"]


class DemoStore(ColumnarStore, RatingStore, TicketStore, Protocol):
    """What the demo runs on: a store with the columnar read port, ratings and
    tickets (the bundled :class:`~custmgmt.adapters.sqlite.SQLiteStore` and
    :class:`~custmgmt.adapters.memory.MemoryStore` both are one)."""


@attrs.define(kw_only=True)
class DemoContext:
    """What every demo section gets.

    Attributes:
        store: the opened store (SQLite), with ratings and tickets.
        as_of: the demo's "now": analyses look at the data as of this moment.
        seed: the seed the data was generated with.
        out: where to print.
        rng: a seeded random generator for sections that pick examples.
        shared: results one section leaves for later ones (e.g. the rating run).
        db_path: the database file, for sections that write files next to it (None:
            in memory).
    """

    store: DemoStore
    as_of: datetime
    seed: int
    out: TextIO
    rng: random.Random
    shared: dict[str, Any] = attrs.field(factory=dict)
    db_path: Path | None = None

    def print(self, *parts: object) -> None:
        """Print a line to :attr:`out`."""
        print(*parts, file=self.out)

    def heading(self, title: str) -> None:
        """Print a section heading."""
        self.print()
        self.print(title)
        self.print("=" * len(title))


def campaign_run_at(as_of: datetime) -> datetime:
    """When the demo's campaign runs: 10:00 on the day 45 days before the demo's "now"
    ``as_of`` (its 30-day attribution window ends before ``as_of``).

    The rating section rates at the scheduled run in effect then, so that the
    campaign's report groups customers by the stars they had when it ran, as
    ``custmgmt campaign report`` does.
    """
    day = (as_of - timedelta(days=45)).date()
    return datetime.combine(day, time(10), tzinfo=as_of.tzinfo)
