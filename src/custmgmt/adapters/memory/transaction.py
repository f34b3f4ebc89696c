"""The in-memory adapter's transactions: one re-entrant lock and an undo log."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["TransactionLog"]


class TransactionLog:
    """The lock and undo log shared by every repository of one in-memory store.

    Capability repositories (ratings, tickets ...) take the store's log, hold
    ``lock`` while writing and ``record`` an undo action for each write, so they
    join the store's transactions.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._undo: list[Callable[[], object]] | None = None
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock; on an exception, undo every write recorded in the block.

        A nested block joins the outer one like a savepoint: its failure undoes its
        own writes (the SQLite store does the same), and the outer block decides
        about everything else.
        """
        with self.lock:
            outermost = self._depth == 0
            if outermost:
                self._undo = []
            assert self._undo is not None
            mark = len(self._undo)
            self._depth += 1
            try:
                yield
            except BaseException:
                self._rollback(mark)
                raise
            finally:
                self._depth -= 1
                if outermost:
                    self._undo = None

    def record(self, undo: Callable[[], object]) -> None:
        """Remember how to undo a write, when inside a transaction."""
        if self._undo is not None:
            self._undo.append(undo)

    def _rollback(self, mark: int) -> None:
        assert self._undo is not None
        while len(self._undo) > mark:
            self._undo.pop()()
