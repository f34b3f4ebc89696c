"""Behavioural clusters: seeded k-means in numpy, or any scikit-learn clusterer.

:class:`KMeans` follows scikit-learn's conventions (``__init__`` stores parameters,
``get_params`` / ``set_params``, ``fit`` returns ``self``, learnt attributes end in
``_``, ``predict`` before ``fit`` raises
:class:`~custmgmt.errors.NotFittedError`). It runs Lloyd's algorithm from a
k-means++ start (Arthur and Vassilvitskii, 2007, with ``2 + log k`` candidates per
step, as scikit-learn does), ``n_init`` times, and keeps the run with the lowest
inertia. A seed makes everything reproducible: same data and seed, same labels.

:func:`cluster_customers` standardises the chosen features (z-scores; NaN -> the
column mean, i.e. 0 after scaling; constant columns -> 0), clusters them with
:class:`KMeans` or with any object that has ``fit_predict(X)`` or ``fit(X)`` plus
``labels_`` (scikit-learn's ``KMeans``, ``GaussianMixture``'s ``fit_predict``,
``AgglomerativeClustering`` ...), and profiles the clusters: size, mean of each
feature in its own units, and share of revenue. The notebook summary shows the means
of money in major units (:data:`~custmgmt.segmentation.rules.MAJOR_MONEY_FEATURES`,
e.g. ``total_spend``) at the currency's minor-unit digits (KWD ``1,018.359``, JPY
``101,825``), the other means to 4 significant digits.

>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.0, 10.1]])
>>> KMeans(n_clusters=2, random_state=0).fit(X).labels_.tolist()
[1, 1, 0, 0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from custmgmt.domain._validate import is_finite_number
from custmgmt.domain.money import CURRENCY_DIGITS, MajorAmount, currency_digits
from custmgmt.errors import NotFittedError, ValidationError
from custmgmt.notebook.dataframes import FrameExport
from custmgmt.notebook.display import Report, Table, short_repr
from custmgmt.notebook.estimator import Estimator
from custmgmt.segmentation.rules import MAJOR_MONEY_FEATURES
from custmgmt.segmentation.table import column

__all__ = [
    "ClusterProfile",
    "Clustering",
    "KMeans",
    "assign_to_centres",
    "cluster_customers",
    "standardise",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


_CHUNK = 32_768
_FEW_FEATURES = 16


def assign_to_centres(X: FloatArray, centres: FloatArray) -> tuple[IntArray, FloatArray]:
    """The nearest centre of each row (squared Euclidean distance) and that distance.

    Uses ``|x|^2 - 2 x.c + |c|^2``; ``|x|^2`` is the same for every centre, so it is
    added only to the chosen distance, which is clipped at 0. On an exact tie the lower
    centre index wins. Works on chunks of rows that stay in cache; with few features a
    running minimum over the centres on contiguous columns (no ``n x k`` matrix, no
    BLAS call, the same result whatever threads the host has), else one matrix product
    and ``argmin`` per chunk.
    """
    n, n_features = X.shape
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n)
    minus_two = -2.0 * centres
    c2 = np.einsum("ij,ij->i", centres, centres)
    few = n_features <= _FEW_FEATURES
    columns = [np.ascontiguousarray(X[:, j]) for j in range(n_features)] if few else []
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        if few:
            best = np.full(stop - start, np.inf)
            chosen = np.zeros(stop - start, dtype=np.int64)
            for c in range(centres.shape[0]):
                d = np.full(stop - start, c2[c])
                for j in range(n_features):
                    d += minus_two[c, j] * columns[j][start:stop]
                better = d < best
                np.copyto(best, d, where=better)
                np.copyto(chosen, c, where=better)
            labels[start:stop] = chosen
            dist[start:stop] = best
        else:
            d2 = X[start:stop] @ minus_two.T
            d2 += c2
            picked = d2.argmin(axis=1)
            labels[start:stop] = picked
            dist[start:stop] = d2[np.arange(stop - start), picked]
    dist += np.einsum("ij,ij->i", X, X)
    np.maximum(dist, 0.0, out=dist)
    return labels, dist


def _plus_plus(X: FloatArray, k: int, rng: np.random.Generator) -> FloatArray:
    n = X.shape[0]
    trials = 2 + int(math.log(k))
    centres = np.empty((k, X.shape[1]))
    centres[0] = X[rng.integers(n)]
    closest = ((X - centres[0]) ** 2).sum(axis=1)
    for c in range(1, k):
        total = float(closest.sum())
        if total <= 0.0:  # fewer distinct points than clusters: reuse any point
            centres[c] = X[rng.integers(n)]
            continue
        picks = np.searchsorted(np.cumsum(closest), rng.random(trials) * total, side="right")
        picks = np.minimum(picks, n - 1)
        # Greedy k-means++: of a few candidates, keep the one that lowers the potential most.
        best_potential = math.inf
        best_closest = closest
        for pick in picks:
            candidate = np.minimum(((X - X[pick]) ** 2).sum(axis=1), closest)
            potential = float(candidate.sum())
            if potential < best_potential:
                best_potential, best_closest, centres[c] = potential, candidate, X[pick]
        closest = best_closest
    return centres


def _lloyd(
    X: FloatArray, centres: FloatArray, max_iter: int, tol: float
) -> tuple[IntArray, FloatArray, float, int]:
    k = centres.shape[0]
    labels, dist = assign_to_centres(X, centres)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 -- the count is reported
        counts = np.bincount(labels, minlength=k).astype(np.float64)
        sums = _group_sums(labels, X, k)
        new = centres.copy()
        filled = counts > 0
        new[filled] = sums[filled] / counts[filled, None]
        if not filled.all():
            # An empty cluster takes the point farthest from its centre, so k stays k.
            far = np.argsort(dist)[::-1][: int((~filled).sum())]
            new[~filled] = X[far]
        shift = float(((new - centres) ** 2).sum())
        centres = new
        previous = labels
        labels, dist = assign_to_centres(X, centres)
        # Converged: the centres barely move, or no point changes cluster (a fixed point).
        if shift <= tol or np.array_equal(labels, previous):
            break
    return labels, centres, float(dist.sum()), iterations


def _group_sums(labels: IntArray, X: FloatArray, k: int) -> FloatArray:
    # One bincount per column: much faster than np.add.at on large n.
    return (
        np.column_stack(
            [np.bincount(labels, weights=X[:, j], minlength=k) for j in range(X.shape[1])]
        )
        .reshape(k, X.shape[1])
        .astype(np.float64)
    )


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValidationError(f"KMeans.{name}", value, f"an integer of at least {minimum}")
    return int(value)


class KMeans(Estimator):
    """Seeded k-means with k-means++ initialisation and restarts.

    Args:
        n_clusters: k, at least 1.
        n_init: restarts (4); the run with the lowest inertia is kept.
        max_iter: Lloyd iterations per run.
        tol: stop when the squared centre shift is at most ``tol`` times the data's
            total variance.
        random_state: a seed (int) or None; runs use independent streams from it.

    Attributes (after ``fit``):
        cluster_centers_: (k, d) centres.
        labels_: the cluster of each training row.
        inertia_: sum of squared distances to the nearest centre.
        n_iter_: Lloyd iterations of the kept run.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        n_init: int = 4,
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X: ArrayLike) -> KMeans:
        """Cluster the rows of ``X``; returns ``self``.

        Raises:
            ValidationError: ``X`` not a finite 2-d array, fewer rows than clusters,
                or a bad parameter (``n_clusters < 1`` ...).
        """
        k = _check_int("n_clusters", self.n_clusters, 1)
        n_init = _check_int("n_init", self.n_init, 1)
        max_iter = _check_int("max_iter", self.max_iter, 1)
        if not is_finite_number(self.tol) or self.tol < 0:
            raise ValidationError("KMeans.tol", self.tol, "a non-negative number")
        if self.random_state is not None:
            _check_int("random_state", self.random_state, 0)
        data = _matrix(X)
        if data.shape[0] < k:
            raise ValidationError("X", data.shape, f"at least n_clusters ({k}) rows")
        # Huge values are clustered in units of a power of two (exact; k-means does
        # not depend on the unit), so squared distances cannot overflow.
        exponent = int(_huge_exponent(data))
        data = np.ldexp(data, -exponent)
        scale = float(np.mean(np.var(data, axis=0))) if data.size else 0.0
        tol = self.tol * scale
        seeds = np.random.SeedSequence(self.random_state).spawn(n_init)
        best: tuple[IntArray, FloatArray, float, int] | None = None
        for seed in seeds:
            rng = np.random.default_rng(seed)
            run = _lloyd(data, _plus_plus(data, k, rng), max_iter, tol)
            if best is None or run[2] < best[2]:
                best = run
        assert best is not None  # n_init >= 1
        labels, centres, inertia, iterations = best
        self.labels_ = labels
        with np.errstate(over="ignore"):
            self.cluster_centers_ = np.ldexp(centres, exponent)
            self.inertia_ = float(np.ldexp(inertia, 2 * exponent))
        self.n_iter_ = iterations
        return self

    def predict(self, X: ArrayLike) -> IntArray:
        """The nearest learnt centre of each row.

        Raises:
            NotFittedError: before ``fit``.
            ValidationError: ``X`` has the wrong shape or non-finite values.
        """
        centres = getattr(self, "cluster_centers_", None)
        if centres is None:
            raise NotFittedError("KMeans is not fitted yet; call fit(X) first")
        data = _matrix(X)
        if data.shape[1] != centres.shape[1]:
            raise ValidationError("X", data.shape, f"{centres.shape[1]} columns")
        exponent = int(max(_huge_exponent(data), _huge_exponent(centres)))
        return assign_to_centres(np.ldexp(data, -exponent), np.ldexp(centres, -exponent))[0]

    def fit_predict(self, X: ArrayLike) -> IntArray:
        """``fit(X)`` and return ``labels_``."""
        return self.fit(X).labels_

def _matrix(X: ArrayLike) -> FloatArray:
    try:
        data = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError("X", type(X).__name__, "a numeric 2-d array") from exc
    if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] == 0:
        raise ValidationError("X", data.shape, "a non-empty 2-d array (customers x features)")
    if not np.isfinite(data).all():
        raise ValidationError("X", "non-finite values", "finite numbers only")
    return data


#: Values above this in magnitude are rescaled by a power of two before squaring (the
#: squares would overflow); exact, so results below it are untouched bit for bit.
_HUGE = 2.0**500


def _huge_exponent(values: FloatArray, axis: int | None = None) -> Any:
    """The binary exponent that brings ``values``' largest finite magnitude below 1
    where it exceeds :data:`_HUGE`, else 0 (per column with ``axis=0``)."""
    magnitude = np.where(np.isfinite(values), np.abs(values), 0.0)
    largest = magnitude.max(axis=axis) if magnitude.size else np.zeros(
        () if axis is None else values.shape[1]
    )
    return np.where(largest > _HUGE, np.frexp(largest)[1], 0)


def standardise(X: FloatArray) -> FloatArray:
    """Z-scores per column; NaN becomes 0 (the mean), a constant column becomes 0.

    Columns with magnitudes beyond ``2**500`` are first divided by a power of two
    (z-scores do not depend on the unit), so their squares cannot overflow.
    """
    X = np.ldexp(X, -_huge_exponent(X, axis=0))
    # np.nanmean's own arithmetic, without its "Mean of empty slice" warning on a column
    # with no value at all (every customer without an order: recency is all NaN).
    present = ~np.isnan(X)
    count = present.sum(axis=0, dtype=np.intp)
    mean = np.zeros(X.shape[1])
    np.true_divide(np.where(present, X, 0.0).sum(axis=0), count, out=mean, where=count > 0)
    centred = np.where(np.isnan(X), 0.0, X - mean)
    std = np.sqrt((centred**2).mean(axis=0))
    safe = np.where(std > 0, std, 1.0)
    return centred / safe


@attrs.frozen(kw_only=True)
class ClusterProfile:
    """One cluster's profile.

    Attributes:
        cluster: the label.
        size: customers in it.
        share: their fraction of all customers.
        means: mean of each feature (own units, NaNs ignored).
        revenue_share: the cluster's fraction of the revenue column's total.
    """

    cluster: int
    size: int
    share: float
    means: dict[str, float]
    revenue_share: float


@attrs.frozen(kw_only=True, eq=False)
class Clustering(FrameExport):
    """Cluster labels per customer with their profiles.

    Attributes:
        customer_ids: the customers in the table's order.
        labels: a cluster per customer (0..k-1 after relabelling the clusterer's labels
            densely in increasing order).
        features: the columns clustered.
        profiles: one :class:`ClusterProfile` per cluster, by label.
        clusterer: the fitted clusterer.
        currency: the currency of the money features (major units,
            :data:`~custmgmt.segmentation.rules.MAJOR_MONEY_FEATURES`), whose means the
            summary shows at its minor-unit digits; None when unknown (shown as numbers).

    Raises:
        ValidationError: ``currency`` is not None or an ISO 4217 code.
    """

    customer_ids: NDArray[Any]
    labels: IntArray
    features: tuple[str, ...]
    profiles: tuple[ClusterProfile, ...]
    clusterer: Any = attrs.field(repr=False)
    currency: str | None = attrs.field(default=None)

    @currency.validator
    def _check_currency(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            currency_digits(value, "Clustering.currency")

    def __repr__(self) -> str:
        return short_repr(
            "Clustering", customers=len(self.labels), clusters=len(self.profiles),
            features=list(self.features),
        )

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """Each cluster's size, revenue share and feature means."""
        facts: list[tuple[str, Any]] = [("customers", len(self.labels))]
        if self.currency is not None:
            facts.append(("currency", self.currency))
        report = Report("Clustering", facts=facts)
        currency = self.currency

        def mean(name: str, value: float) -> float:
            if currency is not None and name in MAJOR_MONEY_FEATURES:
                return MajorAmount(value, currency)
            return value

        rows = tuple(
            (p.cluster, p.size, f"{p.share:.1%}", f"{p.revenue_share:.1%}",
             *(mean(name, p.means[name]) for name in self.features))
            for p in self.profiles
        )
        header = ("cluster", "customers", "share", "revenue share",
                  *(f"mean {name}" for name in self.features))
        report.add(Table(caption="cluster profiles", header=header, rows=rows))
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per customer): ``customer_id`` and ``cluster``."""
        return {"customer_id": self.customer_ids, "cluster": self.labels}

    def sizes(self) -> dict[int, int]:
        """Customers per cluster."""
        return {p.cluster: p.size for p in self.profiles}


def cluster_customers(
    table: Any,
    features: Sequence[str] = ("recency", "frequency", "total_spend"),
    *,
    k: int = 4,
    clusterer: Any = None,
    revenue: str = "total_spend",
    random_state: int | None = 0,
    currency: str | None = None,
) -> Clustering:
    """Cluster customers on standardised features and profile the clusters.

    Args:
        table: a feature table (:class:`~custmgmt.analytics.features.CustomerFeatures`).
        features: the columns to cluster on (at least one).
        k: clusters for the built-in :class:`KMeans` (ignored with ``clusterer``).
        clusterer: any object with ``fit_predict(X)``, or ``fit(X)`` and ``labels_``;
            default ``KMeans(k, random_state=random_state)``.
        revenue: the column whose shares the profiles report (0 where NaN).
        random_state: the seed of the default clusterer.
        currency: the currency of the table's money features (major units), which the
            summary shows at its minor-unit digits; default the table's ``currency``
            (a :class:`~custmgmt.analytics.features.CustomerFeatures`' own), None for a
            table without one.

    Raises:
        ValidationError: unknown features, ``k < 1``, fewer customers than clusters, or
            a clusterer without ``fit_predict`` / ``fit`` + ``labels_``, or returning
            the wrong number of labels; a ``currency`` that is not an ISO 4217 code.
    """
    if currency is not None:
        currency_digits(currency)
    else:
        known = getattr(table, "currency", None)
        # A table without a known currency (plain Columns) shows its means as numbers.
        currency = known if isinstance(known, str) and known in CURRENCY_DIGITS else None
    if isinstance(features, str) or not features:
        raise ValidationError("features", features, "a non-empty list of feature names")
    names = tuple(features)
    columns = [column(table, name, field="features").astype(np.float64) for name in names]
    raw = np.column_stack(columns)
    X = standardise(raw)
    if clusterer is None:
        _check_int("n_clusters", k, 1)
        clusterer = KMeans(k, random_state=random_state)
    if hasattr(clusterer, "fit_predict"):
        labels = np.asarray(clusterer.fit_predict(X))
    elif hasattr(clusterer, "fit"):
        fitted = clusterer.fit(X)
        labels = np.asarray(getattr(fitted if fitted is not None else clusterer, "labels_", None))
    else:
        raise ValidationError("clusterer", clusterer, "an object with fit_predict or fit")
    if labels.shape != (X.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValidationError("clusterer", clusterer, f"{X.shape[0]} integer labels")
    # Dense labels 0..k-1 (some clusterers use -1 for noise, or leave gaps).
    uniques, dense = np.unique(labels, return_inverse=True)
    dense = dense.astype(np.int64)
    n_clusters = int(uniques.shape[0])
    counts = np.bincount(dense, minlength=n_clusters)
    money = column(table, revenue, field="revenue").astype(np.float64)
    money = np.where(np.isnan(money), 0.0, money)
    revenue_by = np.bincount(dense, weights=money, minlength=n_clusters)
    total_revenue = float(revenue_by.sum())
    present = ~np.isnan(raw)
    sums = _group_sums(dense, np.where(present, raw, 0.0), n_clusters)
    seen = _group_sums(dense, present.astype(np.float64), n_clusters)
    means = np.full_like(sums, np.nan)
    np.divide(sums, seen, out=means, where=seen > 0)
    n = max(int(X.shape[0]), 1)
    profiles = tuple(
        ClusterProfile(
            cluster=c,
            size=int(counts[c]),
            share=int(counts[c]) / n,
            means={name: float(means[c, j]) for j, name in enumerate(names)},
            revenue_share=float(revenue_by[c]) / total_revenue if total_revenue > 0 else 0.0,
        )
        for c in range(n_clusters)
    )
    ids = getattr(table, "customer_ids", None)
    return Clustering(
        customer_ids=np.arange(X.shape[0]) if ids is None else np.asarray(ids),
        labels=dense,
        features=names,
        profiles=profiles,
        clusterer=clusterer,
        currency=currency,
    )
