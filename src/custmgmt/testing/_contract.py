"""What the contract suites share: the subjects a test makes, the hooks, the assertions.

Private: hosts subclass :class:`~custmgmt.testing.StoreContract`,
:class:`~custmgmt.testing.RatingRepositoryContract` or
:class:`~custmgmt.testing.TicketRepositoryContract`. Like them, this module needs
nothing but the standard library, so the suites run under any test runner.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Generic, TypeVar

__all__ = ["Boom", "ContractBase", "RepositoryContract", "raises"]

R = TypeVar("R")
E = TypeVar("E", bound=BaseException)


class raises(Generic[E]):  # noqa: N801 - reads like pytest.raises at the call site
    """``pytest.raises`` without pytest: the block must raise ``kind``.

    The exception is kept in :attr:`value`; any other exception goes through. Its
    ``__exit__`` is typed to return ``bool`` so that type checkers know code after the
    block is reachable.

    >>> with raises(KeyError) as caught:
    ...     {}["missing"]
    >>> caught.value.args
    ('missing',)
    """

    value: E

    def __init__(self, kind: type[E]) -> None:
        self._kind = kind

    def __enter__(self) -> raises[E]:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: object, tb: object) -> bool:
        if kind is None:
            raise AssertionError(f"expected {self._kind.__name__} to be raised")
        if isinstance(value, self._kind):
            self.value = value
            return True
        return False


class Boom(Exception):
    """A failure a test raises on purpose, to check that a transaction rolls back."""


class ContractBase(Generic[R]):
    """Makes what each test works on (``R``: a store, a repository) and releases it.

    A suite maps :meth:`_open` and :meth:`_release` onto the hooks its hosts override
    (``make_store`` / ``close_store``, ``make_repository`` / ``close_repository``).
    pytest calls :meth:`setup_method` and :meth:`teardown_method`; other runners call
    them around each test.
    """

    def _open(self) -> R:
        raise NotImplementedError

    def _release(self, subject: R) -> None:
        raise NotImplementedError

    def setup_method(self, method: object = None) -> None:
        """Start a test with nothing made yet (pytest calls this)."""
        self._made: list[R] = []

    def teardown_method(self, method: object = None) -> None:
        """Release everything the test made (pytest calls this)."""
        # getattr: a runner may skip setup_method, or it may have failed.
        for subject in getattr(self, "_made", []):
            self._release(subject)

    def _fresh(self) -> R:
        """A new subject, released after the test."""
        subject = self._open()
        if not hasattr(self, "_made"):
            self._made = []
        self._made.append(subject)
        return subject


class RepositoryContract(ContractBase[R]):
    """The hooks of a capability repository's contract (ratings, tickets)."""

    def make_repository(self) -> R:
        """Return a new, empty repository (the one method a subclass must define)."""
        raise NotImplementedError("define make_repository() in the subclass")

    def close_repository(self, repository: R) -> None:
        """Release what :meth:`make_repository` opened (default: nothing)."""

    def transaction(self, repository: R) -> AbstractContextManager[None] | None:
        """The store's transaction scope for ``repository``, or None to skip that test."""
        return None

    def repository(self) -> R:
        """A new repository, closed after the test."""
        return self._fresh()

    def _open(self) -> R:
        return self.make_repository()

    def _release(self, subject: R) -> None:
        self.close_repository(subject)
