"""What every risk adapter shares: the checks before a write and the document codec.

The checks make the memory, SQLite and later adapters refuse the same input with the
same error; the codec turns risk values into JSON-ready dicts and back exactly
(instants as ISO 8601 with their offset and microseconds, money as a decimal string),
for adapters that store documents.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from custmgmt.adapters._checks import a_type, stale_copy
from custmgmt.domain._validate import check_id, coerce_enum
from custmgmt.domain.money import Money
from custmgmt.errors import Conflict, ValidationError
from custmgmt.risk.alerts import Alert, AlertEvent, AlertStatus
from custmgmt.risk.history import ScoreRun
from custmgmt.risk.restrictions import (
    APPEAL_WORKFLOW,
    Appeal,
    AppealEntry,
    AppealStatus,
    Restriction,
    RestrictionEntry,
    RestrictionStatus,
)
from custmgmt.risk.scorecard import Bin, FeatureTable, GradeBand, Scorecard

__all__ = [
    "alert_from_doc",
    "alert_to_doc",
    "appeal_from_doc",
    "appeal_to_doc",
    "card_from_doc",
    "card_to_doc",
    "check_alert_statuses",
    "check_alert_update",
    "check_appeal",
    "check_appeal_statuses",
    "check_appeal_update",
    "check_instance",
    "check_log_update",
    "check_optional_id",
    "check_restriction_update",
    "check_run_fits",
    "restriction_entry_from_doc",
    "restriction_entry_to_doc",
    "restriction_from_doc",
    "restriction_to_doc",
]

T = TypeVar("T")
E = TypeVar("E")


def check_instance(value: Any, cls: type[T], name: str) -> T:
    """``value`` if it is a ``cls``, else a ValidationError naming ``name``."""
    if not isinstance(value, cls):
        raise ValidationError(name, type(value).__name__, a_type(cls))
    return value


def check_log_update(entity: str, stored: Any, new: Any, fixed: tuple[str, ...] = (),
                     advice: str = "") -> None:
    """Version is stored + 1, the ``fixed`` fields stay, and the new log extends the
    stored one, in time order.

    Every change is a logged step: an update that adds no entry would change the
    entity (its end, its blocked methods, its values ...) with no trace of who, when
    and why, and an entry dated before the last stored one would rewrite the past.

    Raises:
        Conflict: a stale version, a log that drops, changes or reorders entries, a
            changed ``fixed`` field (``advice`` follows the message), a log that adds no
            entry, or an added entry dated before the entry it follows.
    """
    if new.version != stored.version + 1:
        raise stale_copy(entity, new.id, stored.version, new.version, unchanged=new == stored)
    old = stored.events
    if len(new.events) < len(old) or tuple(new.events[: len(old)]) != tuple(old):
        raise Conflict(entity, new.id, "the update would drop or change stored log entries "
                       "(the log is append-only: an audit trail is never lost)")
    for name in fixed:
        if getattr(stored, name) != getattr(new, name):
            raise Conflict(entity, new.id, f"{name} cannot change{advice}")
    if len(new.events) == len(old):
        raise Conflict(entity, new.id, f"version {new.version} adds no log entry (every "
                       "change is a logged step: use the method that logs it)")
    for before, entry in zip(new.events[len(old) - 1:], new.events[len(old):], strict=False):
        if entry.at < before.at:
            raise Conflict(entity, new.id, f"a log entry at {entry.at.isoformat()} follows "
                           f"one at {before.at.isoformat()} (the log is in time order: "
                           "steps are never backdated)")


def check_alert_update(stored: Alert, new: Alert) -> None:
    """:func:`check_log_update` plus: whom, which rule, what fired it and when stay."""
    check_log_update("alert", stored, new,
                     ("customer_id", "rule", "values", "window_start", "window_end"),
                     " (raise a new alert instead)")


def check_restriction_update(stored: Restriction, new: Restriction) -> None:
    """:func:`check_log_update` plus: who, whom, why, what kind and since when stay."""
    check_log_update("restriction", stored, new,
                     ("customer_id", "kind", "reason", "actor", "start"),
                     " (impose a new restriction instead)")


def check_appeal(appeal: Appeal, restriction: Restriction) -> None:
    """The appeal's log is a workflow path, and an overturn has lifted the restriction.

    Raises:
        TransitionNotAllowed: a step the workflow does not allow.
        Conflict: overturned while the restriction is not lifted, or the appeal names
            another customer than the restriction.
    """
    APPEAL_WORKFLOW.check_path(appeal)
    if appeal.customer_id != restriction.customer_id:
        raise Conflict("appeal", appeal.id,
                       f"the restriction {restriction.id!r} holds another customer")
    if appeal.status is AppealStatus.OVERTURNED and (
            restriction.status is not RestrictionStatus.LIFTED):
        raise Conflict("appeal", appeal.id, f"overturned, but restriction {restriction.id!r} "
                       "is not lifted (lift it in the same transaction)")


def check_appeal_update(stored: Appeal, new: Appeal) -> None:
    """:func:`check_log_update` plus: the restriction, customer, statement and ticket stay."""
    check_log_update("appeal", stored, new,
                     ("restriction_id", "customer_id", "statement", "ticket_id"))


def check_run_fits(run: ScoreRun, card: Scorecard) -> None:
    """The run's features and bins belong to ``card``."""
    if run.batch.features != card.features:
        raise ValidationError("run.batch.features", run.batch.features,
                              f"the card's features {card.features}")
    card.points_of_bins(run.batch.bins)  # raises on a bin index the card lacks


def _statuses(value: Any, kind: type[E], name: str) -> frozenset[E] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ValidationError(name, value, f"a collection of {kind.__name__} or None")
    return frozenset(coerce_enum(kind, s, name) for s in value)  # type: ignore[type-var]


def check_alert_statuses(value: Any) -> frozenset[AlertStatus] | None:
    """Validate an alert ``statuses`` filter."""
    return _statuses(value, AlertStatus, "statuses")


def check_appeal_statuses(value: Any) -> frozenset[AppealStatus] | None:
    """Validate an appeal ``statuses`` filter."""
    return _statuses(value, AppealStatus, "statuses")


def check_optional_id(name: str, value: Any) -> None:
    """None or an id."""
    if value is not None:
        check_id(name, value)


# -- the document codec ---------------------------------------------------------------


def _t(value: datetime) -> str:
    return value.isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _opt(value: Any, f: Callable[[Any], Any]) -> Any:
    return None if value is None else f(value)


def card_to_doc(card: Scorecard) -> dict[str, Any]:
    """A card as a JSON-ready dict."""
    return {
        "name": card.name, "version": card.version, "base_points": card.base_points,
        "description": card.description,
        "tables": [{"feature": t.feature, "bins": [
            {"label": b.label, "points": b.points, "lower": b.lower, "upper": b.upper,
             "missing": b.missing, "special": list(b.special)} for b in t.bins]}
            for t in card.tables],
        "grades": [{"grade": g.grade, "lower": g.lower, "upper": g.upper,
                    "value_tier": g.value_tier, "segment": g.segment} for g in card.grades],
    }


def card_from_doc(doc: dict[str, Any]) -> Scorecard:
    """The card a :func:`card_to_doc` dict describes."""
    return Scorecard(
        name=doc["name"], version=doc["version"], base_points=doc["base_points"],
        description=doc["description"],
        tables=tuple(FeatureTable(feature=t["feature"], bins=tuple(
            Bin(label=b["label"], points=b["points"], lower=b["lower"], upper=b["upper"],
                missing=b["missing"], special=tuple(b["special"])) for b in t["bins"]))
            for t in doc["tables"]),
        grades=tuple(GradeBand(**g) for g in doc["grades"]),
    )


def alert_to_doc(alert: Alert) -> dict[str, Any]:
    """An alert as a JSON-ready dict."""
    return {
        "id": alert.id, "customer_id": alert.customer_id, "rule": alert.rule,
        "values": [[k, x] for k, x in alert.values],
        "window_start": _t(alert.window_start), "window_end": _t(alert.window_end),
        "status": alert.status.value, "version": alert.version,
        "events": [{"at": _t(e.at), "status": e.status.value, "actor": e.actor,
                    "note": e.note} for e in alert.events],
    }


def alert_from_doc(doc: dict[str, Any]) -> Alert:
    """The alert an :func:`alert_to_doc` dict describes."""
    return Alert(
        id=doc["id"], customer_id=doc["customer_id"], rule=doc["rule"],
        values=tuple((k, x) for k, x in doc["values"]),
        window_start=_dt(doc["window_start"]), window_end=_dt(doc["window_end"]),
        status=doc["status"], version=doc["version"],
        events=tuple(AlertEvent(at=_dt(e["at"]), status=e["status"], actor=e["actor"],
                                note=e["note"]) for e in doc["events"]),
    )


def _money(m: Money | None) -> list[str] | None:
    return None if m is None else [str(m.amount), m.currency]


def _unmoney(x: list[str] | None) -> Money | None:
    return None if x is None else Money(Decimal(x[0]), x[1])


def restriction_entry_to_doc(e: RestrictionEntry) -> dict[str, Any]:
    """One restriction log entry as a dict."""
    return {"at": _t(e.at), "action": e.action, "actor": e.actor, "reason": e.reason}


def restriction_entry_from_doc(d: dict[str, Any]) -> RestrictionEntry:
    """The entry a :func:`restriction_entry_to_doc` dict describes."""
    return RestrictionEntry(at=_dt(d["at"]), action=d["action"], actor=d["actor"],
                            reason=d["reason"])


def restriction_to_doc(r: Restriction) -> dict[str, Any]:
    """A restriction (without its log) as a JSON-ready dict."""
    return {
        "id": r.id, "customer_id": r.customer_id, "kind": r.kind.value, "reason": r.reason,
        "actor": r.actor, "start": _t(r.start), "end": _opt(r.end, _t),
        "blocked_methods": sorted(r.blocked_methods), "credit_cap": _money(r.credit_cap),
        "status": r.status.value, "version": r.version,
    }


def restriction_from_doc(doc: dict[str, Any], events: list[dict[str, Any]]) -> Restriction:
    """The restriction a :func:`restriction_to_doc` dict and its log describe."""
    return Restriction(
        id=doc["id"], customer_id=doc["customer_id"], kind=doc["kind"], reason=doc["reason"],
        actor=doc["actor"], start=_dt(doc["start"]), end=_opt(doc["end"], _dt),
        blocked_methods=frozenset(doc["blocked_methods"]),
        credit_cap=_unmoney(doc["credit_cap"]), status=doc["status"], version=doc["version"],
        events=tuple(restriction_entry_from_doc(e) for e in events),
    )


def appeal_to_doc(a: Appeal) -> dict[str, Any]:
    """An appeal as a JSON-ready dict."""
    return {
        "id": a.id, "restriction_id": a.restriction_id, "customer_id": a.customer_id,
        "statement": a.statement, "status": a.status.value, "deadline": _t(a.deadline),
        "version": a.version, "ticket_id": a.ticket_id,
        "events": [{"at": _t(e.at), "event": e.event.value,
                    "from": None if e.from_status is None else e.from_status.value,
                    "to": e.to_status.value, "actor": e.actor, "reason": e.reason}
                   for e in a.events],
    }


def appeal_from_doc(doc: dict[str, Any]) -> Appeal:
    """The appeal an :func:`appeal_to_doc` dict describes."""
    return Appeal(
        id=doc["id"], restriction_id=doc["restriction_id"], customer_id=doc["customer_id"],
        statement=doc["statement"], status=doc["status"], deadline=_dt(doc["deadline"]),
        version=doc["version"], ticket_id=doc.get("ticket_id"),
        events=tuple(AppealEntry(at=_dt(e["at"]), event=e["event"], from_status=e["from"],
                                 to_status=e["to"], actor=e["actor"], reason=e["reason"])
                     for e in doc["events"]),
    )
