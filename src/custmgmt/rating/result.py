"""Rating runs: scores, stars and the contributions that explain them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt._text import one_line
from custmgmt.domain.time import require_aware
from custmgmt.errors import NotFound, ValidationError
from custmgmt.notebook.dataframes import FrameExport
from custmgmt.notebook.display import Report, counts_table, numeric_summary, short_repr
from custmgmt.rating.overrides import Override, effective_override
from custmgmt.rating.policy import RatingPolicy
from custmgmt.scoring import FeatureTable, FittedWeightedSum
from custmgmt.scoring.weighted import sum_contributions

__all__ = [
    "Explanation",
    "PreviousStars",
    "Rating",
    "RatingScale",
    "align_ids",
    "apply_hysteresis",
    "hysteresis_one",
    "rate",
    "star_for_one",
    "stars_for",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: The largest ``pending`` count (int64): counting saturates there.
_PENDING_LIMIT = int(np.iinfo(np.int64).max)


@attrs.frozen(kw_only=True, eq=False)
class RatingScale:
    """What a run froze about its population: fitted normalisations and thresholds.

    Rating against the same scale (``rate(policy, ..., scale=...)``) measures customers
    against that population, which is what :class:`IncrementalRater` does between
    scheduled runs.

    Attributes:
        fitted: the weighted sum with every normalisation fitted.
        thresholds: the score at which each star above 1 begins (``levels - 1``).
    """

    fitted: FittedWeightedSum
    thresholds: FloatArray


@attrs.frozen(kw_only=True, eq=False)
class PreviousStars:
    """The part of an earlier run that the next one needs.

    Attributes:
        customer_ids: the customers rated.
        stars: their stars (after hysteresis), aligned with ``customer_ids``.
        pending: how many runs in a row each has been rated below its stars
            without dropping yet (see :class:`custmgmt.rating.Hysteresis`).
    """

    customer_ids: NDArray[Any]
    stars: IntArray
    pending: IntArray


@attrs.frozen(kw_only=True)
class Explanation:
    """Why one customer has its stars.

    Attributes:
        customer_id: the customer.
        score: the score (the sum of ``contributions``).
        stars: the stars that apply: an approved, unexpired override's, else the
            rating's.
        computed_stars: the stars the score alone gives (before hysteresis).
        contributions: each criterion's ``weight * normalised value``.
        change: the rating's stars minus the previous run's (0 for a new customer).
        rated_stars: the stars the rating gives (after hysteresis, before any
            override); equal to ``stars`` without an override.
        override: the override that sets ``stars`` (who requested and approved it,
            why, until when), or None.
    """

    customer_id: Any
    score: float
    stars: int
    computed_stars: int
    contributions: dict[str, float]
    change: int
    rated_stars: int = attrs.field(
        default=attrs.Factory(lambda self: self.stars, takes_self=True)
    )
    override: Override | None = None

    def __str__(self) -> str:
        parts = ", ".join(f"{one_line(k)} {v:.3f}" for k, v in self.contributions.items())
        sign = f" ({self.change:+d})" if self.change else ""
        shown = one_line(str(self.customer_id))
        text = f"{shown}: {self.stars}★{sign} score {self.score:.3f} = {parts}"
        if self.override is not None:
            text += f" [rated {self.rated_stars}★; {one_line(self.override.describe())}]"
        return text


@attrs.frozen(kw_only=True, eq=False)
class Rating(FrameExport):
    """The result of one rating run, one entry per customer.

    Attributes:
        customer_ids: the customers, in the features' order.
        score: each customer's score (float64), the sum of its contributions.
        stars: the stars (1..levels) that apply: after hysteresis, and replaced by
            an approved, unexpired override where :meth:`with_overrides` found one
            (``rate_store`` applies them by default).
        computed_stars: the stars the score alone gives.
        contributions: per criterion name, each customer's share of the score.
        previous_stars: stars in the previous run (0: not rated before).
        pending: runs in a row below its stars without dropping (hysteresis).
        previous_pending: the previous run's ``pending`` (0 for new customers).
        as_of: the time the run rates.
        policy: the policy used.
        scale: the frozen normalisations and thresholds of this run.
        rated_stars: the stars after hysteresis, before overrides (what is stored
            and what the next run's hysteresis continues from); ``stars`` when no
            override applies.
        overrides: the overrides applied, by customer id (as text).
        unsupported: features of the original policy the input could not support,
            with why (their criteria were dropped by ``missing_input="rescale"``;
            :attr:`policy` is then the rescaled policy).
        unrated: customers of the input left unrated: no counted order at or
            before ``as_of``.
    """

    customer_ids: NDArray[Any]
    score: FloatArray
    stars: IntArray
    computed_stars: IntArray
    contributions: Mapping[str, FloatArray]
    previous_stars: IntArray
    pending: IntArray
    as_of: datetime
    policy: RatingPolicy
    scale: RatingScale
    previous_pending: IntArray = attrs.field(factory=lambda: np.zeros(0, dtype=np.int64))
    rated_stars: IntArray = attrs.field(factory=lambda: np.zeros(0, dtype=np.int64))
    overrides: Mapping[str, Override] = attrs.field(factory=lambda: MappingProxyType({}))
    unsupported: Mapping[str, str] = attrs.field(factory=dict)
    unrated: int = 0

    def __attrs_post_init__(self) -> None:
        if self.previous_pending.size != self.customer_ids.size:
            object.__setattr__(
                self, "previous_pending", np.zeros(self.customer_ids.size, dtype=np.int64)
            )
        if self.rated_stars.size != self.customer_ids.size:
            object.__setattr__(self, "rated_stars", self.stars)

    def with_overrides(self, overrides: Iterable[Override], *, at: datetime) -> Rating:
        """This rating with approved, unexpired overrides at ``at`` applied to ``stars``.

        ``rated_stars`` keeps the rating's own stars and :attr:`overrides` the
        overrides applied; overrides of customers not in the rating are ignored, and
        with several effective overrides for one customer the most recently approved
        wins. Stars above the policy's levels are capped at the top level.

        Raises:
            ValidationError: ``at`` is naive, or an item is not an ``Override``.
        """
        require_aware("at", at)
        by_customer: dict[str, list[Override]] = {}
        for o in overrides:
            if not isinstance(o, Override):
                raise ValidationError("overrides", o, "Override values")
            by_customer.setdefault(o.customer_id, []).append(o)
        rated = self.rated_stars
        stars = rated.copy()
        applied: dict[str, Override] = {}
        if by_customer:
            wanted = list(by_customer)
            positions = align_ids(self.customer_ids, np.array(wanted, dtype=object))
            for customer_id, i in zip(wanted, positions.tolist(), strict=True):
                chosen = effective_override(by_customer[customer_id], at)
                if i >= 0 and chosen is not None:
                    stars[i] = min(chosen.stars, self.policy.levels)
                    applied[customer_id] = chosen
        return attrs.evolve(
            self, stars=stars, rated_stars=rated, overrides=MappingProxyType(applied)
        )

    def __repr__(self) -> str:
        return short_repr(
            "Rating",
            policy=self.policy.name,
            customers=len(self),
            levels=self.policy.levels,
            as_of=self.as_of,
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """Stars per level, movement since the previous run, score quantiles."""
        report = Report(
            "Rating",
            facts=[
                ("policy", self.policy.name),
                ("customers", len(self)),
                ("as of", self.as_of),
                ("overrides applied", len(self.overrides)),
            ],
        )
        stars = {f"{level}★": n for level, n in self.distribution().items()}
        report.add(counts_table("customers per star", "stars", stars))
        seen = self.previous_stars > 0
        change = self.change
        moves = {
            "up": int(np.count_nonzero(seen & (change > 0))),
            "same": int(np.count_nonzero(seen & (change == 0))),
            "down": int(np.count_nonzero(seen & (change < 0))),
            "new": int(np.count_nonzero(~seen)),
        }
        report.add(counts_table("movement since the previous run", "change", moves))
        columns = {"score": self.score}
        columns.update({f"contribution {k}": v for k, v in self.contributions.items()})
        report.add(numeric_summary(columns, caption="score and its contributions"))
        return report

    def __len__(self) -> int:
        return int(self.customer_ids.size)

    @property
    def change(self) -> IntArray:
        """The rating's stars minus the previous run's (0 for customers new in this run).

        Both sides are rated stars (overrides left out), so an override does not
        show as a move of the rating.
        """
        changed: IntArray = np.where(
            self.previous_stars > 0, self.rated_stars - self.previous_stars, 0
        )
        return changed

    def distribution(self) -> dict[int, int]:
        """How many customers have each number of stars (every level listed)."""
        counts = np.bincount(self.stars, minlength=self.policy.levels + 1)
        return {level: int(counts[level]) for level in range(1, self.policy.levels + 1)}

    def index_of(self, customer_id: Any) -> int:
        """The position of ``customer_id`` in this run.

        Raises:
            NotFound: the customer was not rated in this run.
        """
        found = align_ids(self.customer_ids, np.asarray([customer_id]))[0]
        if found < 0:
            raise NotFound("customer", customer_id)
        return int(found)

    def explain(self, customer_id: Any) -> Explanation:
        """Score, stars and contributions of one customer.

        Raises:
            NotFound: the customer was not rated in this run.
        """
        return self._explain_at(self.index_of(customer_id))

    def _explain_at(self, i: int) -> Explanation:
        ident = self.customer_ids[i]
        customer_id = ident.item() if isinstance(ident, np.generic) else ident
        return Explanation(
            customer_id=customer_id,
            score=float(self.score[i]),
            stars=int(self.stars[i]),
            computed_stars=int(self.computed_stars[i]),
            contributions={k: float(v[i]) for k, v in self.contributions.items()},
            change=int(self.change[i]),
            rated_stars=int(self.rated_stars[i]),
            override=self.overrides.get(str(customer_id)),
        )

    def top(self, n: int = 10) -> list[Explanation]:
        """The ``n`` best customers by stars then score (ties by position)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValidationError("n", n, "a non-negative integer")
        order = np.lexsort((np.arange(len(self)), -self.score, -self.stars))[:n]
        return [self._explain_at(int(i)) for i in order]

    def previous(self) -> PreviousStars:
        """What the next run needs from this one (its rated stars: overrides left out)."""
        return PreviousStars(
            customer_ids=self.customer_ids, stars=self.rated_stars, pending=self.pending
        )

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns: customer_id, score, stars, computed_stars, rated_stars,
        change and one ``contribution_<criterion>`` per criterion."""
        columns: dict[str, Any] = {
            "customer_id": self.customer_ids,
            "score": self.score,
            "stars": self.stars,
            "computed_stars": self.computed_stars,
            "rated_stars": self.rated_stars,
            "change": self.change,
        }
        for name, values in self.contributions.items():
            columns[f"contribution_{name}"] = values
        return columns


def stars_for(score: FloatArray, thresholds: FloatArray) -> IntArray:
    """``1 + (number of thresholds <= score)`` for each score.

    Exactly ``np.searchsorted(thresholds, score, side="right") + 1`` (NaN ranks above
    every number, as in numpy's sort order), by one comparison per threshold: a
    binary search per score costs 20-60 ns on ten million scores, the comparisons
    1-2 ns each.
    """
    score = np.asarray(score, dtype=np.float64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if thresholds.ndim != 1 or thresholds.size > _COMPARED_THRESHOLDS or not _sorted(thresholds):
        searched: IntArray = np.searchsorted(thresholds, score, side="right").astype(np.int64)
        return searched + 1
    stars: IntArray = np.ones(score.shape, dtype=np.int64)
    for threshold in thresholds.tolist():
        stars += score >= threshold  # False for a NaN threshold or score
    missing = np.isnan(score)
    if missing.any():
        stars[missing] = thresholds.size + 1  # NaN sorts after every threshold
    return stars


#: Up to this many thresholds (the star bands: one fewer than the stars) are compared
#: one by one; more are searched.
_COMPARED_THRESHOLDS = 16


def _sorted(thresholds: FloatArray) -> bool:
    """Ascending in numpy's sort order: numbers non-decreasing, NaNs only at the end."""
    missing = np.isnan(thresholds)
    n_numbers = thresholds.size - int(missing.sum())
    if missing[:n_numbers].any():
        return False
    numbers = thresholds[:n_numbers]
    return bool(np.all(numbers[1:] >= numbers[:-1]))


def star_for_one(score: float, thresholds: list[float]) -> int:
    """:func:`stars_for` for one score (the incremental path)."""
    stars = 1
    for t in thresholds:
        if t <= score:
            stars += 1
        else:
            break
    return stars


def apply_hysteresis(
    policy: RatingPolicy,
    score: FloatArray,
    computed: IntArray,
    thresholds: FloatArray,
    previous_stars: IntArray,
    previous_pending: IntArray,
) -> tuple[IntArray, IntArray]:
    """Stars and pending counters after the policy's hysteresis (see ``Hysteresis``)."""
    rule = policy.hysteresis
    if not rule.active:
        return computed, np.zeros_like(computed)
    below = (previous_stars > 0) & (computed < previous_stars)
    # Saturating: a previous count at the int64 limit must not wrap to a negative one.
    counted = np.minimum(previous_pending, _PENDING_LIMIT - 1) + 1
    pending = np.where(below, counted, 0).astype(np.int64)
    if rule.margin is None:
        held = previous_stars
    else:
        held = np.minimum(previous_stars, stars_for(score, thresholds - rule.margin))
    hold = below if rule.consecutive is None else below & (pending < rule.consecutive)
    stars = np.where(hold, held, computed).astype(np.int64)
    pending = np.where(stars == computed, 0, pending).astype(np.int64)
    return stars, pending


def hysteresis_one(
    policy: RatingPolicy,
    score: float,
    computed: int,
    thresholds: list[float],
    previous_stars: int,
    previous_pending: int,
) -> tuple[int, int]:
    """:func:`apply_hysteresis` for one customer."""
    rule = policy.hysteresis
    if not rule.active or previous_stars <= 0 or computed >= previous_stars:
        return computed, 0
    pending = min(previous_pending, _PENDING_LIMIT - 1) + 1
    if rule.consecutive is not None and pending >= rule.consecutive:
        return computed, 0
    if rule.margin is None:
        held = previous_stars
    else:
        held = min(previous_stars, star_for_one(score, [t - rule.margin for t in thresholds]))
    return held, (0 if held == computed else pending)


def align_ids(reference: NDArray[Any], wanted: NDArray[Any]) -> IntArray:
    """Position of each of ``wanted`` in ``reference`` (-1 when absent).

    Integer ids and string ids are compared as strings when the two kinds meet (a
    run loaded from storage has string ids, a frame built from arrays int64 ones).
    """
    ref = np.asarray(reference)
    want = np.asarray(wanted)
    if ref.size == 0 or want.size == 0:
        return np.full(want.size, -1, dtype=np.int64)
    if (ref.dtype.kind in "iu") != (want.dtype.kind in "iu"):
        ref = ref.astype(str).astype(object)
        want = want.astype(str).astype(object)
    order = np.argsort(ref, kind="stable")
    sorted_ref = ref[order]
    pos = np.searchsorted(sorted_ref, want)
    pos_clipped = np.minimum(pos, ref.size - 1)
    hit = sorted_ref[pos_clipped] == want
    out: IntArray = np.where(hit, order[pos_clipped], -1).astype(np.int64)
    return out


def _customer_ids(features: FeatureTable) -> NDArray[Any]:
    """The table's customer ids: one-dimensional, each customer once.

    Raises:
        ValidationError: no ids, or ids repeated (naming the first repeated one).
    """
    ids = getattr(features, "customer_ids", None)
    if ids is None:
        raise ValidationError("features", features, "a feature table with customer_ids")
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValidationError(
            "features.customer_ids", f"shape {ids.shape}", "one id per customer"
        )
    _check_distinct_ids("features.customer_ids", ids)
    return ids


def _check_distinct_ids(field: str, ids: NDArray[Any]) -> None:
    """Refuse a column of customer ids that names a customer twice, or none.

    A feature table has one row per customer (orders are aggregated per customer
    by :func:`custmgmt.analytics.features.customer_features`); a rating of a table
    with a repeated id would give that customer two sets of stars, and no store
    keeps a run like that. Ids are compared as they are stored: integers as their
    text. A missing id (None, NaN) names no customer.

    Raises:
        ValidationError: naming ``field`` and the first id (in input order) that is
            repeated or missing.
    """
    kind = ids.dtype.kind
    if kind in "fc" and ids.size and bool(np.isnan(ids).any()):
        raise ValidationError(field, float("nan"), "customer ids, none missing")
    if kind in "iuUSb":
        if ids.size < 2:
            return
        ordered = np.sort(ids, kind="stable")
        if not bool((ordered[1:] == ordered[:-1]).any()):
            return
        items = ids.tolist()
    else:
        items = ids.tolist()
        # Text ids (the usual object column) need neither a conversion nor a look for
        # missing values.
        if not all(type(x) is str for x in items):
            if any(_missing(x) for x in items):
                raise ValidationError(
                    field, next(x for x in items if _missing(x)), "customer ids, none missing"
                )
            if not all(_hashable(x) for x in items):  # a list: not an id at all
                bad = next(x for x in items if not _hashable(x))
                raise ValidationError(field, bad, "ids of text or integers")
            keys: Iterable[Any] = map(_stored_key, items)
        else:
            keys = items
        if len(set(keys)) == len(items):
            return
    seen: set[Any] = set()
    for item in items:
        key = _stored_key(item)
        if key in seen:
            raise ValidationError(field, item, "each customer once (one row per customer)")
        seen.add(key)


def _missing(item: Any) -> bool:
    """None or a float NaN: no id."""
    return item is None or (isinstance(item, float) and item != item)


def _stored_key(item: Any) -> Any:
    """An id as a store keeps it: integers as their text, anything else as is."""
    if isinstance(item, int | np.integer) and not isinstance(item, bool | np.bool_):
        return str(item)
    return item


def _hashable(item: Any) -> bool:
    try:
        hash(item)
    except TypeError:
        return False
    return True


def _previous_columns(previous: PreviousStars) -> tuple[NDArray[Any], IntArray, IntArray]:
    """The previous run's ids, stars and pending counters, checked to be one
    non-negative integer of each per customer.

    Raises:
        ValidationError: naming the inconsistent column.
    """
    ids = np.asarray(previous.customer_ids)
    if ids.ndim != 1:
        raise ValidationError("previous.customer_ids", ids.shape, "a one-dimensional column")
    _check_distinct_ids("previous.customer_ids", ids)
    out: list[IntArray] = []
    for field in ("stars", "pending"):
        column = np.asarray(getattr(previous, field))
        if column.ndim != 1 or column.size != ids.size:
            raise ValidationError(
                f"previous.{field}", column.shape, f"{ids.size} values, one per customer"
            )
        if column.size and column.dtype.kind not in "iu":
            raise ValidationError(f"previous.{field}", column.dtype, "integers")
        checked = column.astype(np.int64)
        if checked.size and int(checked.min()) < 0:
            raise ValidationError(f"previous.{field}", int(checked.min()), "non-negative values")
        out.append(checked)
    return ids, out[0], out[1]


def rate(
    policy: RatingPolicy,
    features: FeatureTable,
    previous: PreviousStars | Rating | None = None,
    *,
    as_of: datetime | None = None,
    scale: RatingScale | Rating | None = None,
) -> Rating:
    """Rate every customer of ``features`` by ``policy``.

    The rating engine; :class:`RatingPolicy` itself is data.

    Args:
        policy: the rating policy (criteria, star bands, hysteresis).
        features: a :class:`custmgmt.analytics.features.CustomerFeatures` (or any
            table with ``customer_ids`` and the policy's feature columns).
        previous: the previous run (a :class:`Rating` or stored
            :class:`PreviousStars`): gives each customer's change and feeds the
            hysteresis. Customers not in it are new (change 0); stars above the
            policy's levels (a run of a policy with more levels) count as its top.
        as_of: the rating's time; defaults to ``features.as_of``. Must be aware
            and agree with the features.
        scale: rate against a frozen population (a previous :class:`Rating` or its
            :class:`RatingScale`): normalisations and quantile thresholds are
            taken from it instead of fitted on ``features``.

    Raises:
        ValidationError: naive or inconsistent ``as_of``, a missing or non-numeric
            feature column, a customer id repeated or missing in the features or the
            previous run (``features.customer_ids``: a table has one row per
            customer), an inconsistent previous run.
    """
    ids = _customer_ids(features)
    n = ids.size
    features_as_of = getattr(features, "as_of", None)
    if as_of is None:
        if features_as_of is None:
            raise ValidationError("as_of", None, "an aware datetime (the features have none)")
        as_of = features_as_of
    require_aware("as_of", as_of)
    if features_as_of is not None and features_as_of != as_of:
        raise ValidationError("as_of", as_of, f"the features' as_of {features_as_of}")
    assert as_of is not None
    if isinstance(scale, Rating):
        scale = scale.scale
    if scale is None:
        fitted, parts = policy.scorer.fit_contributions(features)
        score = sum_contributions(parts.values(), n)
        thresholds = policy.bands.thresholds(score)
        scale = RatingScale(fitted=fitted, thresholds=thresholds)
    else:
        if not isinstance(scale, RatingScale):
            raise ValidationError("scale", scale, "a RatingScale or a Rating")
        # The same criteria (weights, normalisations, directions, not only names)
        # and one threshold per star above 1: a scale of another policy would score
        # by its weights or give stars above this policy's levels.
        if tuple(scale.fitted.criteria) != tuple(policy.criteria):
            raise ValidationError("scale", scale, "a scale fitted with this policy's criteria")
        if np.asarray(scale.thresholds).shape != (policy.levels - 1,):
            raise ValidationError(
                "scale.thresholds",
                np.asarray(scale.thresholds).shape,
                f"{policy.levels - 1} thresholds for {policy.levels} levels",
            )
        parts = scale.fitted.contributions(features)
        score = sum_contributions(parts.values(), n)
        thresholds = scale.thresholds
    for name, part in parts.items():
        if part.size != n:
            raise ValidationError(f"features[{name!r}]", part.size, f"{n} values")
    computed = stars_for(score, thresholds)
    if previous is None:
        previous_stars = np.zeros(n, dtype=np.int64)
        previous_pending = np.zeros(n, dtype=np.int64)
        stars = computed
        pending = previous_pending
    else:
        if isinstance(previous, Rating):
            previous = previous.previous()
        if not isinstance(previous, PreviousStars):
            raise ValidationError("previous", previous, "a Rating or PreviousStars")
        before_ids, before_stars, before_pending = _previous_columns(previous)
        at = align_ids(before_ids, ids)
        known = at >= 0
        # A previous run may rate nobody (every customer unrated then): nothing to take.
        safe = np.maximum(at, 0) if known.any() else np.zeros(0, dtype=np.int64)
        previous_stars = np.zeros(n, dtype=np.int64)
        previous_pending = np.zeros(n, dtype=np.int64)
        if known.any():
            previous_stars = np.where(known, before_stars[safe], 0)
            previous_pending = np.where(known, before_pending[safe], 0)
        # A previous run of a policy with more levels (the policy changed) holds at
        # most this policy's top level: hysteresis never keeps stars above it.
        previous_stars = np.clip(previous_stars.astype(np.int64), 0, policy.levels)
        previous_pending = previous_pending.astype(np.int64)
        stars, pending = apply_hysteresis(
            policy, score, computed, thresholds, previous_stars, previous_pending
        )
    return Rating(
        customer_ids=ids,
        score=score,
        stars=stars,
        computed_stars=computed,
        contributions=parts,
        previous_stars=previous_stars,
        pending=pending,
        previous_pending=previous_pending,
        as_of=as_of,
        policy=policy,
        scale=scale,
    )
