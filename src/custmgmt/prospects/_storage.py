"""Checks every prospect and team adapter makes, shared sideways (no adapter imports another).

They validate arguments and entities before anything is written, so the memory,
SQLite and any later adapter refuse the same input with the same error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from custmgmt.adapters._checks import stale_copy
from custmgmt.domain._validate import check_aware, check_unicode
from custmgmt.errors import Conflict, ValidationError
from custmgmt.prospects.prospect import Prospect

__all__ = [
    "check_filter",
    "check_flag",
    "check_history_extends",
    "check_period",
    "check_versioned_update",
]


def check_filter(name: str, value: Any) -> str | None:
    """A ``find`` filter: None or a string (valid Unicode, so any backend can take it)."""
    if value is not None:
        if not isinstance(value, str):
            raise ValidationError(name, value, "a string or None")
        return check_unicode(name, value)
    return None


def check_period(since: Any, until: Any) -> tuple[datetime | None, datetime | None]:
    """Optional aware bounds of a ``[since, until)`` period, ``until`` not before ``since``."""
    if since is not None:
        check_aware("since", since)
    if until is not None:
        check_aware("until", until)
    if since is not None and until is not None and until < since:
        raise ValidationError("until", until, f"not before since ({since.isoformat()})")
    return since, until


def check_versioned_update(
    entity: str,
    key: str,
    stored_version: int,
    version: int,
    expected_version: Any,
    *,
    unchanged: bool | None = None,
) -> int:
    """The optimistic-concurrency check of an update; returns the expected version.

    ``unchanged`` says whether the copy equals the stored entity (None: not
    compared), so that the Conflict's message says only what is known.

    Raises:
        ValidationError: ``expected_version`` is not an int below ``version``.
        Conflict: the stored version is not the expected one.
    """
    if expected_version is None and version == 1:
        # A copy never changed since it was added: stale whatever is stored now.
        raise stale_copy(entity, key, stored_version, version, unchanged=unchanged)
    expected = version - 1 if expected_version is None else expected_version
    if not isinstance(expected, int) or isinstance(expected, bool) or not 1 <= expected < version:
        raise ValidationError("expected_version", expected_version,
                              f"an int from 1 to {version - 1}")
    if stored_version != expected:
        raise stale_copy(
            entity, key, stored_version, version, unchanged=unchanged,
            expected_version=expected_version,
            advice="reload, apply the change again, then update",
        )
    return expected


def check_history_extends(stored: Prospect, prospect: Prospect) -> None:
    """Refuse an update that drops or changes stored history entries (append-only).

    Raises:
        Conflict: the stored history is not a prefix of the new one.
    """
    n = len(stored.history)
    if prospect.history[:n] != stored.history:
        raise Conflict(
            "prospect", prospect.id,
            "the update would drop or change stored history entries (the history is "
            "append-only)",
            expected_version=stored.version, actual_version=stored.version,
        )


def check_flag(name: str, value: Any) -> bool | None:
    """A ``find`` filter: None, True or False."""
    if value is not None and not isinstance(value, bool):
        raise ValidationError(name, value, "True, False or None")
    return value
