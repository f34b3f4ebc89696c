"""Use cases: rate a store on schedule and keep the run; review overrides.

These tie the ports (a store with ``store.ratings``), the frames and features, and
the policy together. Each write happens inside the store's transaction, so a failure
stores nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custmgmt.analytics.features import feature_sources
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.domain._validate import check_aware, check_id
from custmgmt.errors import NotFound, ValidationError
from custmgmt.rating.inputs import rate_frames
from custmgmt.rating.overrides import (
    Override,
    OverrideAction,
    OverridePolicy,
    OverrideStatus,
    effective_override,
)
from custmgmt.rating.policy import RatingPolicy
from custmgmt.rating.ports import RatingRepository, RatingStore
from custmgmt.rating.records import CustomerRating, RatingRun, StarHistoryEntry
from custmgmt.rating.result import Explanation, PreviousStars, Rating
from custmgmt.rating.result_columns import RatingResults

__all__ = [
    "approve_override",
    "current_stars",
    "effective_stars",
    "explain_stars",
    "load_previous",
    "rate_store",
    "rating_records",
    "reject_override",
    "request_override",
    "reviewed_overrides",
    "revoke_override",
    "run_scheduled",
    "same_run",
    "save_rating",
    "star_history",
]

def _id_text(value: Any) -> str:
    return str(value.item() if isinstance(value, np.generic) else value)


def rating_records(
    rating: Rating, *, run_id: str, created_at: datetime
) -> tuple[RatingRun, Iterator[CustomerRating]]:
    """The stored form of a rating: the run and (lazily) one result per customer.

    A run stores its rated stars (overrides left out: they are applied when read,
    and the next run's hysteresis continues from the rating, not the override).
    """
    check_id("run_id", run_id)
    check_aware("created_at", created_at)
    counts = np.bincount(rating.rated_stars, minlength=rating.policy.levels + 1)
    distribution = {level: int(counts[level]) for level in range(1, rating.policy.levels + 1)}
    run = RatingRun(
        id=run_id,
        as_of=rating.as_of,
        created_at=created_at,
        policy_json=rating.policy.to_json(),
        customer_count=len(rating),
        distribution=tuple(distribution[k] for k in sorted(distribution)),
    )
    names = list(rating.contributions)

    def results() -> Iterator[CustomerRating]:
        columns = [rating.contributions[name].tolist() for name in names]
        ids = rating.customer_ids.tolist()
        score = rating.score.tolist()
        stars = rating.rated_stars.tolist()
        computed = rating.computed_stars.tolist()
        previous = rating.previous_stars.tolist()
        pending = rating.pending.tolist()
        for i, ident in enumerate(ids):
            yield CustomerRating(
                run_id=run_id,
                customer_id=str(ident),
                score=float(score[i]),
                stars=int(stars[i]),
                computed_stars=int(computed[i]),
                previous_stars=int(previous[i]),
                pending=int(pending[i]),
                contributions=tuple((n, float(c[i])) for n, c in zip(names, columns, strict=True)),
            )

    return run, results()


def save_rating(
    repository: RatingRepository,
    rating: Rating,
    *,
    created_at: datetime,
    run_id: str | None = None,
) -> RatingRun:
    """Store a rating run and its results, all or nothing.

    Args:
        repository: where to keep it (``store.ratings``).
        rating: the run.
        created_at: when it was computed (from the caller's clock).
        run_id: the run's id; a fresh UUID by default.

    Raises:
        Conflict: ``run_id`` is taken. Nothing is stored on any error.
    """
    run, _ = rating_records(
        rating, run_id=run_id or f"run-{uuid.uuid4().hex[:12]}", created_at=created_at
    )
    # The columnar path: no record per customer, contributions stored in bulk.
    repository.save_run_arrays(run, RatingResults.from_rating(rating, run_id=run.id))
    return run


def load_previous(
    repository: RatingRepository,
    *,
    before: datetime | None = None,
    policy: RatingPolicy | None = None,
) -> PreviousStars | None:
    """The stars of the latest stored run with ``as_of`` strictly before ``before``.

    With ``policy``, the latest such run of a policy with the same name, or of any
    policy when none has that name (a policy new to the store): policies rated side by
    side on one store each continue from their own runs. Returns None when there is
    no such run.
    """
    runs = repository.list_runs()
    if before is not None:
        check_aware("before", before)
        runs = [r for r in runs if r.as_of < before]
    if policy is not None:
        runs = [r for r in runs if _named(r, policy.name)] or runs
    if not runs:
        return None
    results = repository.results_arrays(runs[-1].id)
    return PreviousStars(
        customer_ids=results.customer_ids, stars=results.stars, pending=results.pending
    )


def rate_store(
    store: RatingStore,
    policy: RatingPolicy,
    *,
    as_of: datetime,
    currency: str,
    created_at: datetime,
    rates: Any = None,
    run_id: str | None = None,
    save: bool = True,
    apply_overrides: bool = True,
    engine: str = "numpy",
) -> tuple[Rating, RatingRun | None]:
    """Rate every customer of a store and (by default) keep the run in ``store.ratings``.

    Rated are the customers with a counted order at or before ``as_of``; the frames
    loaded are those the policy's features need, as the feature catalogue says (see
    :func:`custmgmt.rating.rate_frames`). The previous stored run (the latest with an
    earlier ``as_of`` of a policy with the same name, or of any policy when none has
    that name) feeds the change and the hysteresis, so policies rated side by side on
    one store each continue from their own runs. Saving is idempotent: when
    a stored run already rates this ``as_of`` with this policy (and no ``run_id`` is
    given), that run is returned and nothing new is stored. The rating's ``stars``
    are the effective stars: approved overrides in effect at ``as_of`` replace the
    rated stars (kept in ``rated_stars``; :meth:`Rating.explain` names the override).
    The stored run keeps the rated stars.

    Args:
        store: a :class:`custmgmt.ports.Store` with a ``ratings`` repository.
        policy: the policy.
        as_of: the time rated (aware).
        currency: the currency amounts are compared in.
        created_at: when the run is made (from the caller's clock).
        rates: conversion rates into ``currency`` for orders in other currencies.
        run_id: the stored run's id (fresh by default).
        save: store the run (False: compute only).
        apply_overrides: apply approved overrides to ``stars`` (False: rated stars).
        engine: the feature engine, ``"numpy"`` (default) or ``"polars"`` (see
            :func:`custmgmt.rating.rate_frames`).

    Raises:
        ValidationError: naive ``as_of``, mixed currencies without rates, ...
        Conflict: ``run_id`` is taken. Nothing is stored on any error.
    """
    check_aware("as_of", as_of)
    orders = OrderFrame.from_store(store, currency=currency, as_of=as_of, rates=rates)
    interactions = None
    if "interactions" in feature_sources(policy.features):
        interactions = InteractionFrame.from_store(store, as_of=as_of, customer_index=orders)
    repository: RatingRepository = store.ratings
    previous = load_previous(repository, before=as_of, policy=policy)
    rating = rate_frames(
        policy, orders, interactions, as_of=as_of, previous=previous, engine=engine
    )
    run = None
    if save:
        run = None if run_id is not None else same_run(repository, policy, as_of)
        if run is None:
            with store.transaction():
                run = save_rating(repository, rating, created_at=created_at, run_id=run_id)
    if apply_overrides:
        rating = rating.with_overrides(reviewed_overrides(repository), at=as_of)
    return rating, run


def _named(run: RatingRun, name: str) -> bool:
    """Whether the run was rated with a policy called ``name``."""
    try:
        return bool(json.loads(run.policy_json).get("name") == name)
    except (ValueError, TypeError, AttributeError):
        return False


def _levels_of(run: RatingRun) -> int | None:
    """The star levels of the policy a run was rated with (None: unreadable)."""
    try:
        levels = json.loads(run.policy_json).get("levels")
    except (ValueError, TypeError, AttributeError):
        return None
    return levels if isinstance(levels, int) and not isinstance(levels, bool) else None


def _capped(stars: int, levels: int | None) -> int:
    """An override's stars, at most the run's top level (as ``Rating.with_overrides``)."""
    return stars if levels is None else min(stars, levels)


def reviewed_overrides(repository: RatingRepository) -> list[Override]:
    """The overrides that may apply at some time: approved ones, and revoked ones (in
    effect from their approval until their revocation). Pass them to
    :meth:`Rating.with_overrides` or :func:`effective_override` with the time."""
    return [
        *repository.list_overrides(OverrideStatus.APPROVED),
        *repository.list_overrides(OverrideStatus.REVOKED),
    ]


def same_run(
    repository: RatingRepository, policy: RatingPolicy, as_of: datetime
) -> RatingRun | None:
    """The stored run that rates ``as_of`` with ``policy`` (the latest such), or None."""
    check_aware("as_of", as_of)
    wanted = policy.to_json()
    found = [r for r in repository.list_runs() if r.as_of == as_of and r.policy_json == wanted]
    return found[-1] if found else None


def run_scheduled(
    store: RatingStore,
    policy: RatingPolicy,
    *,
    now: datetime,
    currency: str,
    rates: Any = None,
) -> tuple[Rating, RatingRun] | None:
    """Run the rating that is due: at the latest scheduled time at or before ``now``.

    Does nothing (returns None) when no scheduled time has passed or a stored run of
    this policy (by name) already rates that time or later. The run id is
    ``"<policy name>-<time>"`` (to the minute, with the seconds for a run off the
    minute), so two processes racing for the same run store it once (the loser gets
    ``Conflict``).

    Args:
        store: a store with ``ratings``.
        policy: the policy, whose schedule says when runs are due.
        now: the current time, from the caller's clock (aware).
        currency: the currency amounts are compared in.
        rates: conversion rates for orders in other currencies.
    """
    check_aware("now", now)
    due = policy.previous_run_time(now)
    if due is None:
        return None
    # Only this policy's runs count: another policy scheduled on the same store (or
    # an ad hoc run) rating this time does not make this one's run done.
    runs = store.ratings.list_runs()
    mine = [r for r in runs if r.as_of <= now and _named(r, policy.name)]
    if mine and mine[-1].as_of >= due:
        return None
    rating, run = rate_store(
        store, policy, as_of=due, currency=currency, created_at=now, rates=rates,
        run_id=_scheduled_run_id(policy, due),
    )
    assert run is not None
    return rating, run


def _scheduled_run_id(policy: RatingPolicy, due: datetime) -> str:
    """``"<policy name>-<due>"``: to the minute, with the seconds when a rule runs
    off the minute (``BYSECOND=0,30`` runs twice a minute: one id each)."""
    moment = f"{due:%Y%m%dT%H%M%S%z}" if due.second else f"{due:%Y%m%dT%H%M%z}"
    return f"{policy.name}-{moment}"


def _customer_known(store: RatingStore, customer_id: str) -> bool:
    try:
        store.customers.get(customer_id)
        return True
    except NotFound:
        pass
    latest = store.ratings.latest_run()
    if latest is None:
        return False
    try:
        store.ratings.result(latest.id, customer_id)
        return True
    except NotFound:
        return False


def request_override(
    store: RatingStore,
    *,
    customer_id: str,
    stars: int,
    reason: str,
    expires_at: datetime,
    requested_by: str,
    at: datetime,
    levels: int = 5,
    override_id: str | None = None,
) -> Override:
    """Record a staff member's request to set a customer's stars (pending approval).

    Raises:
        NotFound: the customer is neither in ``store.customers`` nor in the latest run.
        ValidationError: stars outside ``1..levels``, a blank reason, ``expires_at``
            not after ``at``, naive times.
    """
    check_id("customer_id", customer_id)
    if not _customer_known(store, customer_id):
        raise NotFound("customer", customer_id)
    override = Override.request(
        id=override_id or f"ov-{uuid.uuid4().hex[:12]}",
        customer_id=customer_id,
        stars=stars,
        reason=reason,
        expires_at=expires_at,
        requested_by=requested_by,
        at=at,
        levels=levels,
    )
    with store.transaction():
        store.ratings.add_override(override)
    return override


def _review(
    store: RatingStore,
    override_id: str,
    action: OverrideAction,
    *,
    by: str,
    at: datetime,
    reason: str,
    policy: OverridePolicy,
    roles: Collection[str],
) -> Override:
    if not isinstance(policy, OverridePolicy):
        raise ValidationError("policy", policy, "an OverridePolicy naming the reviewers")
    with store.transaction():
        stored: Override = store.ratings.get_override(override_id)
        if action is OverrideAction.APPROVE:
            changed = stored.approve(by=by, at=at, reason=reason, policy=policy, roles=roles)
        elif action is OverrideAction.REJECT:
            changed = stored.reject(by=by, at=at, reason=reason, policy=policy, roles=roles)
        else:
            changed = stored.revoke(by=by, at=at, reason=reason, policy=policy, roles=roles)
        store.ratings.update_override(changed)
    return changed


def approve_override(
    store: RatingStore,
    override_id: str,
    *,
    by: str,
    at: datetime,
    policy: OverridePolicy,
    roles: Collection[str] = (),
    reason: str = "",
) -> Override:
    """Approve a pending override; it applies from ``at`` until it expires.

    The approval is recorded in the override's history (who, when, why, under which
    role).

    Args:
        store: a store with ``ratings``.
        override_id: the override.
        by: the approver's staff id.
        at: when (aware).
        policy: who may approve (staff ids or roles).
        roles: the roles ``by`` holds (from the host's authentication).
        reason: why (optional).

    Raises:
        NotFound: no such override.
        PermissionDenied: ``by`` requested it (a second person must approve), or the
            policy names neither ``by`` nor any of ``roles``.
        TransitionNotAllowed: it is not pending, or it has expired.
        ValidationError: ``policy`` is not an :class:`OverridePolicy`.
    """
    return _review(
        store, override_id, OverrideAction.APPROVE,
        by=by, at=at, reason=reason, policy=policy, roles=roles,
    )


def reject_override(
    store: RatingStore,
    override_id: str,
    *,
    by: str,
    at: datetime,
    reason: str,
    policy: OverridePolicy,
    roles: Collection[str] = (),
) -> Override:
    """Reject a pending override (a reason is required); recorded in its history.

    Raises:
        NotFound: no such override.
        PermissionDenied: ``by`` requested it (withdraw instead), or the policy names
            neither ``by`` nor any of ``roles``.
        TransitionNotAllowed: it is not pending.
        ValidationError: a blank reason, or ``policy`` is not an :class:`OverridePolicy`.
    """
    return _review(
        store, override_id, OverrideAction.REJECT,
        by=by, at=at, reason=reason, policy=policy, roles=roles,
    )


def revoke_override(
    store: RatingStore,
    override_id: str,
    *,
    by: str,
    at: datetime,
    reason: str,
    policy: OverridePolicy,
    roles: Collection[str] = (),
) -> Override:
    """End an approved override early (a reason is required); recorded in its history.

    Raises:
        NotFound: no such override.
        PermissionDenied: the policy names neither ``by`` nor any of ``roles`` as a
            revoker.
        TransitionNotAllowed: it is not approved.
        ValidationError: a blank reason, ``at`` before the approval, or ``policy`` is
            not an :class:`OverridePolicy`.
    """
    return _review(
        store, override_id, OverrideAction.REVOKE,
        by=by, at=at, reason=reason, policy=policy, roles=roles,
    )


def effective_stars(
    rating: Rating, overrides: Iterable[Override], *, at: datetime
) -> NDArray[np.int64]:
    """The stars that apply at ``at``: an approved, unexpired override, else rated.

    Overrides of customers not in the rating are ignored; with several effective
    overrides for one customer the most recently approved wins. (The same as
    ``rating.with_overrides(overrides, at=at).stars``.)
    """
    check_aware("at", at)
    return rating.with_overrides(overrides, at=at).stars


def star_history(store: RatingStore, customer_id: str) -> list[StarHistoryEntry]:
    """The customer's stars in every stored run, oldest first, as they applied.

    Each entry's ``stars`` are the override's where an approved override was in
    effect at the run's ``as_of``, with the run's own stars in ``rated_stars`` and
    the override in ``override``. (``store.ratings.star_history`` gives the rated
    stars only.)
    """
    ratings: RatingRepository = store.ratings
    history = ratings.star_history(customer_id)
    overrides = ratings.overrides_for(customer_id) if history else []
    levels = {run.id: _levels_of(run) for run in ratings.list_runs()} if overrides else {}
    applied = []
    for entry in history:
        chosen = effective_override(overrides, entry.as_of)
        if chosen is None:
            applied.append(entry)
            continue
        applied.append(
            StarHistoryEntry(
                run_id=entry.run_id,
                as_of=entry.as_of,
                stars=_capped(chosen.stars, levels.get(entry.run_id)),
                score=entry.score,
                rated_stars=entry.stars,
                override=chosen,
            )
        )
    return applied


def current_stars(store: RatingStore, at: datetime) -> dict[str, int]:
    """Every customer's stars that apply at ``at``: the latest stored run at ``at``
    with the approved overrides in effect at ``at`` applied.

    A customer with an effective override but not in the run (rated later, or new)
    gets the override's stars. Override stars above the run's policy levels count as
    its top level, as in :meth:`Rating.with_overrides`. Empty when there is no run
    and no override.

    Raises:
        ValidationError: ``at`` is naive.
    """
    check_aware("at", at)
    ratings: RatingRepository = store.ratings
    run = ratings.latest_run(at)
    stars: dict[str, int] = {}
    if run is not None:
        results = ratings.results_arrays(run.id)
        stars = dict(
            zip(
                [str(c) for c in results.customer_ids.tolist()],
                results.stars.tolist(),
                strict=True,
            )
        )
    by_customer: dict[str, list[Override]] = {}
    for o in reviewed_overrides(ratings):
        by_customer.setdefault(o.customer_id, []).append(o)
    levels = None if run is None else _levels_of(run)
    for customer_id, found in by_customer.items():
        chosen = effective_override(found, at)
        if chosen is not None:
            stars[customer_id] = _capped(chosen.stars, levels)
    return stars


def explain_stars(store: RatingStore, customer_id: str, *, at: datetime) -> Explanation:
    """Why a customer has the stars that apply at ``at``: the latest stored run's
    result (score, contributions, computed and rated stars) and the override in
    effect, if any.

    Raises:
        NotFound: no run at ``at`` rated the customer and no override applies.
        ValidationError: ``at`` is naive.
    """
    check_aware("at", at)
    ratings: RatingRepository = store.ratings
    chosen = effective_override(ratings.overrides_for(customer_id), at)
    run = ratings.latest_run(at)
    result = None
    if run is not None:
        try:
            result = ratings.result(run.id, customer_id)
        except NotFound:
            result = None
    if result is None:
        if chosen is None:
            raise NotFound("rating result", customer_id)
        return Explanation(
            customer_id=customer_id, score=float("nan"), stars=chosen.stars,
            computed_stars=0, contributions={}, change=0, rated_stars=0, override=chosen,
        )
    assert run is not None
    return Explanation(
        customer_id=customer_id,
        score=result.score,
        stars=result.stars if chosen is None else _capped(chosen.stars, _levels_of(run)),
        computed_stars=result.computed_stars,
        contributions=dict(result.contributions),
        change=result.change,
        rated_stars=result.stars,
        override=chosen,
    )
