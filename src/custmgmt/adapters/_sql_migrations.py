"""What applying schema migrations shares in SQLite and PostgreSQL.

Both stores record each component's schema version in ``custmgmt_schema`` and bring
a component up to date the same way: check the arguments, read the recorded
version, refuse a newer one, run the missing steps and record the new version, all
in one transaction. They differ in what surrounds it (PostgreSQL's advisory lock and
schema checks, SQLite's read-only mode), in how SQL text runs (SQLite splits a script
into statements), in the placeholder and in the wording of a newer schema's error,
so the dialects pass those in and translate their driver's errors themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from custmgmt.errors import StorageError, ValidationError

__all__ = ["checked_steps", "run_missing_steps"]


def checked_steps(component: str, migrations: Sequence[Any]) -> list[Any]:
    """``migrations`` as a list, once ``component`` is a non-blank name and each step
    is SQL text or a callable taking the connection (a ValidationError otherwise)."""
    if not isinstance(component, str) or not component.strip():
        raise ValidationError("component", component, "a non-blank component name")
    steps = list(migrations)
    for step in steps:
        if not isinstance(step, str) and not callable(step):
            raise ValidationError("migrations", step, "SQL text or a callable(connection)")
    return steps


def run_missing_steps(
    conn: Any,
    component: str,
    steps: Sequence[Any],
    *,
    placeholder: str,
    statements: Callable[[str], Iterable[str]],
    newer: Callable[[int], str],
) -> None:
    """Run the ``steps`` of ``component`` after the version ``custmgmt_schema`` records
    and record ``len(steps)``, on ``conn`` inside the caller's transaction.

    Args:
        placeholder: the dialect's query parameter (``?`` or ``%s``).
        statements: the statements of a step given as SQL text (SQLite runs a
            script statement by statement).
        newer: the message of the StorageError raised when the recorded version (its
            argument) is newer than ``steps`` know.
    """
    found = conn.execute(
        f"SELECT version FROM custmgmt_schema WHERE component = {placeholder}", (component,)
    ).fetchone()
    current = 0 if found is None else int(found[0])
    if current > len(steps):
        raise StorageError(newer(current))
    for step in steps[current:]:
        if isinstance(step, str):
            for statement in statements(step):
                conn.execute(statement)
        else:
            step(conn)
    if current < len(steps):
        conn.execute(
            f"INSERT INTO custmgmt_schema (component, version) VALUES ({placeholder}, "
            f"{placeholder}) ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (component, len(steps)),
        )
