"""The in-memory adapter's transactions: one re-entrant lock and an undo log."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Protocol

from custmgmt.adapters._core_store import closed_in_transaction_error, closed_store_error

__all__ = ["StoreLock", "TransactionLog"]


class StoreLock(Protocol):
    """What :attr:`TransactionLog.lock` is: a re-entrant lock (``with lock:``), which
    raises :class:`~custmgmt.errors.StorageError` once the store is closed."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock (as :meth:`threading.RLock.acquire`)."""
        ...

    def release(self) -> None:
        """Give the lock back."""
        ...

    def __enter__(self) -> bool: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _ClosedLock:
    """What :attr:`TransactionLog.lock` becomes when the store closes: taking it raises
    StorageError ("the store is closed"), so every repository that holds the lock
    around its reads and writes, a host's capability repository included, stops
    working with the store. (An open store's lock is the plain RLock: no cost per call.)
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Raises StorageError: the store is closed."""
        raise closed_store_error("memory")

    def release(self) -> None:
        """Give back the lock taken before the store closed."""
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class TransactionLog:
    """The lock and undo log shared by every repository of one in-memory store.

    Capability repositories (ratings, tickets ...) take the store's log, hold
    ``lock`` while writing and ``record`` an undo action for each write, so they
    join the store's transactions. Once :meth:`close` ran, taking ``lock`` (and so
    every repository call) raises :class:`~custmgmt.errors.StorageError`.
    """

    def __init__(self) -> None:
        self.closed = False
        self.raw_lock = threading.RLock()
        #: The lock repositories hold (see :class:`StoreLock`); ``raw_lock`` is the same
        #: lock, working after :meth:`close` too (for the store's registry).
        self.lock: StoreLock = self.raw_lock
        self._undo: list[Callable[[], object]] | None = None
        self._depth = 0
        self._owner: int | None = None

    def check_open(self) -> None:
        """Raise StorageError ("the store is closed") once the store is closed."""
        if self.closed:
            raise closed_store_error("memory")

    def close(self) -> None:
        """Close the store: from now on every use of ``lock`` raises StorageError.

        Waits for a transaction another thread has open (it holds the lock). Inside
        this thread's own transaction, the block ends with StorageError and its writes
        are undone (see :meth:`transaction`). Closing again does nothing.
        """
        with self.raw_lock:
            self.closed = True
            self.lock = _ClosedLock(self.raw_lock)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock; on an exception, undo every write recorded in the block.

        A nested block joins the outer one like a savepoint: its failure undoes its
        own writes (the SQLite store does the same), and the outer block decides
        about everything else. A block inside which the store was closed ends with
        StorageError, its writes undone.

        Raises:
            StorageError: the store is closed, or was closed inside the block.
        """
        with self.lock:
            outermost = self._depth == 0
            if outermost:
                self._undo = []
                self._owner = threading.get_ident()
            assert self._undo is not None
            mark = len(self._undo)
            self._depth += 1
            try:
                yield
                if self.closed:
                    raise closed_in_transaction_error("memory")
            except BaseException:
                self._rollback(mark)
                raise
            finally:
                self._depth -= 1
                if outermost:
                    self._undo = None
                    self._owner = None

    @property
    def in_transaction(self) -> bool:
        """Whether this thread has a :meth:`transaction` block open."""
        return self._depth > 0 and self._owner == threading.get_ident()

    def record(self, undo: Callable[[], object]) -> None:
        """Remember how to undo a write, when inside a transaction."""
        if self._undo is not None:
            self._undo.append(undo)

    def _rollback(self, mark: int) -> None:
        assert self._undo is not None
        while len(self._undo) > mark:
            self._undo.pop()()
