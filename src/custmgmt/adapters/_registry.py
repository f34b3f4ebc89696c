"""How bundled stores register capability repositories: typed, explicit, followable.

A store class lists the capabilities it offers as class attributes, one line each::

    class MemoryStore(...):
        ratings = Capability(RATINGS, MemoryRatingRepository)
        tickets = Capability(TICKETS, MemoryTicketRepository)

Reading ``store.ratings`` makes the repository on first use (under the store's lock)
and returns the same object afterwards; its type is the capability's repository
protocol, so ``MemoryStore`` satisfies ``RatingStore`` for a type checker. A host adds
a capability of its own the same way in a subclass, or passes
``capabilities={KEY: factory}`` to one store and reads it with
``store.repository(KEY)``; neither edits the library (see
``docs/adding-a-capability.md``).

A factory takes the store's *context*: the shared :class:`TransactionLog` for the
memory adapter, the SQLite database for the SQLite adapter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from custmgmt.errors import NotFound, ValidationError
from custmgmt.ports import CapabilityKey, CustomerDependents

__all__ = ["Capability", "CapabilityHost"]

C = TypeVar("C")
R = TypeVar("R")

Factory = Callable[[Any], Any]


class Capability(Generic[C, R]):
    """A store class attribute that registers, and lazily makes, one capability repository.

    Args:
        key: the capability's key (from its ``ports.py``).
        factory: makes the repository from the store's context.
    """

    def __init__(self, key: CapabilityKey[R], factory: Callable[[C], R]) -> None:
        self.key = key
        self.factory = factory

    def __set_name__(self, owner: type[Any], name: str) -> None:
        if name != self.key.name:
            raise ValidationError(
                f"{owner.__name__}.{name}", self.key.name, f"the attribute named {name!r}"
            )
        # Each class gets its own registry, so a subclass adding one never changes its base.
        registry = dict(getattr(owner, "_capability_factories", {}))
        registry[self.key] = self.factory
        owner._capability_factories = registry

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Capability[C, R]: ...

    @overload
    def __get__(self, instance: CapabilityHost, owner: type[Any]) -> R: ...

    def __get__(self, instance: CapabilityHost | None, owner: type[Any]) -> Capability[C, R] | R:
        if instance is None:
            return self
        return instance.repository(self.key)


class CapabilityHost:
    """The mixin behind a store's capabilities: a registry and the repositories made so far.

    Subclasses call :meth:`_init_capabilities` in ``__init__`` and implement
    :meth:`_capability_context`.
    """

    _capability_factories: Mapping[CapabilityKey[Any], Factory] = {}

    def _init_capabilities(
        self, extra: Mapping[CapabilityKey[Any], Factory] | None, lock: threading.RLock
    ) -> None:
        factories = dict(self._capability_factories)
        for key, factory in (extra or {}).items():
            if not isinstance(key, CapabilityKey) or not callable(factory):
                raise ValidationError(
                    "capabilities", key, "a mapping of CapabilityKey to a repository factory"
                )
            factories[key] = factory
        self._factories = factories
        self._repositories: dict[CapabilityKey[Any], Any] = {}
        self._capability_lock = lock

    def _capability_context(self) -> Any:
        raise NotImplementedError

    def _capability_dependents(self, customer_id: str) -> dict[str, int]:
        """Records of each kind that the capability repositories made so far hold for
        a customer (those implementing :class:`custmgmt.ports.CustomerDependents`).

        A repository not made yet has stored nothing in a memory store; the SQLite
        store makes every repository when it opens.
        """
        found: dict[str, int] = {}
        with self._capability_lock:
            repositories = list(self._repositories.values())
        for repository in repositories:
            if isinstance(repository, CustomerDependents):
                for kind, n in repository.customer_dependents(customer_id).items():
                    found[kind] = found.get(kind, 0) + int(n)
        return found

    def capability_repositories(self) -> tuple[Any, ...]:
        """The capability repositories made so far, in the order they were made.

        A memory store makes a repository on first use (one not made yet holds
        nothing); the SQLite and PostgreSQL stores make all of them when they open.
        Privacy erasure walks them to redact each one's personal text.
        """
        with self._capability_lock:
            return tuple(self._repositories.values())

    @property
    def capabilities(self) -> tuple[str, ...]:
        """The names of the capabilities this store offers, sorted."""
        return tuple(sorted(key.name for key in self._factories))

    def repository(self, key: CapabilityKey[R]) -> R:
        """The store's repository for capability ``key``, made on first use.

        Raises:
            NotFound: the store offers no such capability.
            ValidationError: the registered factory made something that does not
                implement the capability's protocol.
        """
        with self._capability_lock:
            found = self._repositories.get(key)
            if found is None:
                factory = self._factories.get(key)
                if factory is None:
                    raise NotFound("capability", key.name)
                found = key.check(factory(self._capability_context()))
                self._repositories[key] = found
            result: R = found
            return result
