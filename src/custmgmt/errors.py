"""The exception tree of custmgmt.

Every error the library raises on purpose derives from :class:`CustMgmtError`, so a
host can catch the library's failures with one ``except``.  Each leaf also inherits
the builtin exception a caller would naturally catch, so code that knows nothing of
custmgmt still behaves sensibly::

    CustMgmtError
    ├── ValidationError          (also ValueError)    bad input: field, value, expected
    ├── NotFound                 (also LookupError)   no entity with that id
    ├── Conflict                                      duplicate id or stale version
    ├── TransitionNotAllowed                          a state machine refused an event
    ├── NotFittedError           (also ValueError, AttributeError) a model used before ``fit``
    ├── ConvergenceError         (also RuntimeError)  a model fit did not converge
    ├── PermissionDenied                              the actor may not do this
    ├── StorageError                                  the storage backend failed
    └── MissingDependency        (also ImportError)   an optional extra is not installed

Errors carry their context as attributes (``ValidationError.field``,
``NotFound.entity`` and ``.key``, ``TransitionNotAllowed.state`` and ``.event``), so
callers never need to parse messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from custmgmt._text import one_line

__all__ = [
    "Conflict",
    "ConvergenceError",
    "CustMgmtError",
    "MissingDependency",
    "NotFittedError",
    "NotFound",
    "PermissionDenied",
    "StorageError",
    "TransitionNotAllowed",
    "ValidationError",
]


class CustMgmtError(Exception):
    """The root of every error raised by custmgmt."""


class ValidationError(CustMgmtError, ValueError):
    """Input failed validation.

    Attributes:
        field: the name of the offending field (dotted for nested values).
        value: the value that was refused.
        expected: a short description of what would have been accepted.
    """

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        # The value is quoted with repr(); the field and the wording may quote a column
        # name or a value from a file too, so they are kept on one line as well.
        super().__init__(
            f"{one_line(field)}: got {_short_repr(value)}, expected {one_line(expected)}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.value, self.expected))


class NotFound(CustMgmtError, LookupError):
    """No entity of the given kind exists under the given key.

    Attributes:
        entity: the kind of entity looked up, e.g. ``"customer"``.
        key: the id (or other key) that was not found.
    """

    def __init__(self, entity: str, key: Any) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!r} not found")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.entity, self.key))


class Conflict(CustMgmtError):
    """A write conflicts with what is stored: a duplicate id, a stale version, or
    records that still depend on the entity being removed.

    Attributes:
        entity: the kind of entity written.
        key: its id.
        expected_version: the version the caller based its change on (None for adds).
        actual_version: the version found in storage (None for duplicate adds).
        dependents: for a refused removal, how many stored records of each kind
            still belong to the entity (e.g. ``{"orders": 3, "tickets": 1}``); empty
            otherwise.
    """

    def __init__(
        self,
        entity: str,
        key: Any,
        message: str,
        *,
        expected_version: int | None = None,
        actual_version: int | None = None,
        dependents: Mapping[str, int] | None = None,
    ) -> None:
        self.entity = entity
        self.key = key
        self.expected_version = expected_version
        self.actual_version = actual_version
        self.dependents: Mapping[str, int] = MappingProxyType(dict(dependents or {}))
        super().__init__(f"{entity} {key!r}: {one_line(message)}")

    @classmethod
    def has_dependents(cls, entity: str, key: Any, dependents: Mapping[str, int]) -> Conflict:
        """The error for removing an entity that stored records still depend on.

        >>> str(Conflict.has_dependents("customer", "c-1", {"orders": 2, "tickets": 1}))
        "customer 'c-1': still has 2 orders, 1 tickets; remove or reassign them first"
        """
        kept = {kind: int(n) for kind, n in dependents.items() if n > 0}
        listed = ", ".join(f"{n} {kind}" for kind, n in kept.items())
        return cls(
            entity, key, f"still has {listed}; remove or reassign them first", dependents=kept
        )


class TransitionNotAllowed(CustMgmtError):
    """A state machine refused an event in the current state.

    Attributes:
        state: the state the object was in (unchanged).
        event: the event that was refused.
    """

    def __init__(self, state: Any, event: Any, reason: str = "") -> None:
        self.state = state
        self.event = event
        self.reason = reason
        state_name = getattr(state, "value", state)
        event_name = getattr(event, "value", event)
        detail = f": {one_line(reason)}" if reason else ""
        super().__init__(f"event {event_name!r} is not allowed in state {state_name!r}{detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.state, self.event, self.reason))


class NotFittedError(CustMgmtError, ValueError, AttributeError):
    """A model was used before ``fit`` was called.

    Like scikit-learn's ``NotFittedError`` it is both a ``ValueError`` and an
    ``AttributeError``, so ``hasattr(model, "params_")`` is simply False before ``fit``.
    """


class ConvergenceError(CustMgmtError, RuntimeError):
    """Fitting a model failed: the optimiser did not converge within its iteration or
    time limit, or the data cannot identify the model at all (nobody came back).

    Attributes:
        model: the name of the model that was being fitted (``"BG/NBD"``).
        reason: what went wrong, in words.
        best: the best parameters reached before giving up (in the caller's units),
            or None when no point could be evaluated.
        log_likelihood: the log-likelihood at ``best``, or None.
        n_iter: the optimiser iterations used, or None.
    """

    def __init__(
        self,
        model: str,
        reason: str,
        *,
        best: Mapping[str, float] | None = None,
        log_likelihood: float | None = None,
        n_iter: int | None = None,
    ) -> None:
        self.model = model
        self.reason = reason
        self.best = None if best is None else MappingProxyType(dict(best))
        self.log_likelihood = log_likelihood
        self.n_iter = n_iter
        detail = ""
        if self.best is not None:
            figures = ", ".join(f"{k}={v:.6g}" for k, v in self.best.items())
            detail = f" (best point reached: {figures})"
        super().__init__(f"{model} did not fit: {reason}{detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        best = None if self.best is None else dict(self.best)
        arguments = (self.model, self.reason, best, self.log_likelihood, self.n_iter)
        return (_rebuild_convergence_error, arguments)


class PermissionDenied(CustMgmtError):
    """The acting person or service may not perform this operation."""


class StorageError(CustMgmtError):
    """The storage backend failed; the original driver error is the ``__cause__``."""


class MissingDependency(CustMgmtError, ImportError):
    """An optional extra that this feature needs is not installed.

    Attributes:
        module: the module that could not be imported (``"scipy"``).
        extra: the custmgmt extra that installs it (``"scipy"``).
    """

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        self.module = module
        self.extra = extra
        self.purpose = purpose
        super().__init__(
            f"{purpose} needs {module}, an optional extra: pip install 'custmgmt[{extra}]'",
            name=module,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.module, self.extra, self.purpose))


def _rebuild_convergence_error(
    model: str,
    reason: str,
    best: Mapping[str, float] | None,
    log_likelihood: float | None,
    n_iter: int | None,
) -> ConvergenceError:
    return ConvergenceError(
        model, reason, best=best, log_likelihood=log_likelihood, n_iter=n_iter
    )


def _short_repr(value: Any, limit: int = 80) -> str:
    if isinstance(value, int) and value.bit_length() > 256:
        # repr() of an int beyond 4300 digits raises, and nobody reads 78 digits.
        digits = int(value.bit_length() * 0.30103) + 1
        return f"<{'negative ' if value < 0 else ''}integer of about {digits} digits>"
    try:
        text = repr(value)
    except Exception:  # a host object whose repr fails must not hide the real error
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
