"""A rating run's stored results as columns: what repositories save and read in bulk.

:class:`RatingResults` is the columnar twin of a list of
:class:`~custmgmt.rating.records.CustomerRating`: one row per customer, sorted by
customer id, with the contributions as one float64 matrix (a column per criterion).
Repositories store a run from it (``save_run_arrays``) and give it back
(``results_arrays``) without building a record per customer; :meth:`to_records` and
:meth:`from_records` convert between the two forms exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt.domain._bulk import check_ids, check_texts
from custmgmt.domain._validate import check_id
from custmgmt.errors import ValidationError
from custmgmt.rating.records import CustomerRating

if TYPE_CHECKING:
    from custmgmt.rating.result import Rating

__all__ = ["RatingResults"]

AnyArray = npt.NDArray[Any]
_INT64_MAX = np.iinfo(np.int64).max


def _counts(values: Any, field: str, n: int) -> npt.NDArray[np.int64]:
    arr = np.zeros(n, dtype=np.int64) if values is None else np.asarray(values)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.ndim != 1 or len(arr) != n:
        raise ValidationError(field, f"shape {arr.shape}", f"{n} values, one per customer")
    if arr.dtype.kind not in "iu":
        raise ValidationError(field, arr.dtype, "non-negative integers")
    bad = (arr < 0) | (arr > _INT64_MAX)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError(f"{field}[{row}]", int(arr[row]), "a non-negative int")
    # A copy: the columns are read-only, and a view of the caller's array (a
    # Rating's stars) would change with it, and with it a run a memory store keeps.
    return arr.astype(np.int64, copy=True)


@attrs.frozen(kw_only=True, eq=False, repr=False)
class RatingResults:
    """One run's results as read-only columns, one row per customer, by customer id.

    Row ``i`` is the :class:`~custmgmt.rating.records.CustomerRating` of
    ``customer_ids[i]`` in run ``run_id``, with ``contributions[i, j]`` the
    contribution of ``criteria[j]``. Build with :meth:`from_arrays` (or
    :meth:`from_rating`, :meth:`from_records`), which validate like ``CustomerRating``
    does and sort the rows by customer id.

    Attributes:
        run_id: the run.
        customer_ids: the customers (``str``, distinct, ascending).
        score: float64 scores (finite).
        stars: int64 stars given.
        computed_stars: int64 stars the score alone gives.
        previous_stars: int64 stars in the previous run (0: new).
        pending: int64 runs in a row below its stars without dropping.
        criteria: the criteria's names, in the policy's order.
        contributions: float64, shape ``(customers, criteria)``.
    """

    run_id: str
    customer_ids: AnyArray
    score: npt.NDArray[np.float64]
    stars: npt.NDArray[np.int64]
    computed_stars: npt.NDArray[np.int64]
    previous_stars: npt.NDArray[np.int64]
    pending: npt.NDArray[np.int64]
    criteria: tuple[str, ...]
    contributions: npt.NDArray[np.float64]

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                view = value.view()
                view.flags.writeable = False
                object.__setattr__(self, field.name, view)

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return (
            f"RatingResults(run_id={self.run_id!r}, customers={len(self)}, "
            f"criteria={list(self.criteria)!r})"
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        run_id: str,
        customer_ids: Any,
        score: Any,
        stars: Any,
        computed_stars: Any,
        previous_stars: Any = None,
        pending: Any = None,
        criteria: Sequence[str] = (),
        contributions: Any = None,
    ) -> RatingResults:
        """Validate columns of results (one entry per customer, in any order).

        Args:
            run_id: the run.
            customer_ids: customer ids (integers are stored as their text).
            score: finite scores.
            stars: stars given, non-negative integers.
            computed_stars: stars the score alone gives.
            previous_stars: stars in the previous run (default 0: new).
            pending: hysteresis counts (default 0).
            criteria: the criteria's names (distinct).
            contributions: float array of shape ``(customers, len(criteria))``.

        Raises:
            ValidationError: a bad or repeated customer id, a non-finite score, a
                negative or non-integer count, mismatched shapes, repeated criteria.
        """
        check_id("run_id", run_id)
        raw = np.asarray(customer_ids)
        if raw.ndim != 1:
            raise ValidationError("customer_ids", f"shape {raw.shape}", "one id per customer")
        if raw.dtype.kind in "iu":
            items: list[Any] = [str(x) for x in raw.tolist()]
        else:
            items = raw.astype(object).tolist()
            if raw.dtype.kind == "U" and not isinstance(customer_ids, np.ndarray):
                # The texts as given: a numpy text array drops a trailing NUL, and
                # "a\x00" would be stored as the customer "a".
                given = np.asarray(customer_ids, dtype=object).tolist()
                items = [g if isinstance(g, str) else x for g, x in zip(given, items, strict=True)]
        check_ids(items, "customer_ids")  # as CustomerRating checks its id
        n = len(items)
        ids = np.empty(n, dtype=object)
        ids[:] = items
        scores = np.asarray(score)
        if scores.ndim != 1 or len(scores) != n:
            raise ValidationError("score", f"shape {scores.shape}", f"{n} scores")
        if n and scores.dtype.kind not in "iuf":
            raise ValidationError("score", scores.dtype, "finite float scores")
        scores = scores.astype(np.float64)
        finite = np.isfinite(scores)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise ValidationError(f"score[{row}]", float(scores[row]), "a finite float")
        names = tuple(criteria)
        check_texts(list(names), "criteria", max_length=200)
        if len(set(names)) != len(names):
            raise ValidationError("criteria", names, "distinct criterion names")
        if contributions is None:
            matrix = np.zeros((n, len(names)), dtype=np.float64)
        else:
            matrix = np.asarray(contributions)
            if matrix.size == 0:
                matrix = matrix.astype(np.float64).reshape(n, len(names))
            if matrix.shape != (n, len(names)) or matrix.dtype.kind not in "iuf":
                raise ValidationError(
                    "contributions",
                    f"{matrix.dtype} array of shape {matrix.shape}",
                    f"floats of shape ({n}, {len(names)}): customers x criteria",
                )
            matrix = matrix.astype(np.float64)
        columns = {
            "stars": _counts(stars, "stars", n),
            "computed_stars": _counts(computed_stars, "computed_stars", n),
            "previous_stars": _counts(previous_stars, "previous_stars", n),
            "pending": _counts(pending, "pending", n),
        }
        order: AnyArray | None = None
        if n > 1 and not bool((ids[1:] > ids[:-1]).all()):
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            repeated = ids[1:] == ids[:-1]
            if repeated.any():
                row = int(np.flatnonzero(repeated)[0])
                raise ValidationError("customer_ids", ids[row], "each customer once")
            scores = scores[order]
            matrix = matrix[order]
            columns = {key: value[order] for key, value in columns.items()}
        return cls(
            run_id=run_id,
            customer_ids=ids,
            score=scores,
            criteria=names,
            contributions=np.ascontiguousarray(matrix),
            **columns,
        )

    @classmethod
    def from_rating(cls, rating: Rating, *, run_id: str) -> RatingResults:
        """The results of a :class:`~custmgmt.rating.Rating` as run ``run_id`` stores
        them (customer ids as text; its rated stars, overrides left out)."""
        names = tuple(rating.contributions)
        n = len(rating)
        matrix = np.empty((n, len(names)), dtype=np.float64)
        for j, name in enumerate(names):
            matrix[:, j] = rating.contributions[name]
        return cls.from_arrays(
            run_id=run_id,
            customer_ids=rating.customer_ids,
            score=rating.score,
            stars=rating.rated_stars,
            computed_stars=rating.computed_stars,
            previous_stars=rating.previous_stars,
            pending=rating.pending,
            criteria=names,
            contributions=matrix,
        )

    @classmethod
    def from_records(cls, run_id: str, records: Iterable[CustomerRating]) -> RatingResults:
        """Columns of records of run ``run_id``.

        The criteria are every name the records use, in first-seen order; a record
        that lacks one has NaN there (records of one run normally name the same
        criteria in the same order, and then nothing is lost).

        Raises:
            ValidationError: a record of another run, or not a CustomerRating.
        """
        items = list(records)
        names: dict[str, None] = {}
        for record in items:
            if not isinstance(record, CustomerRating):
                raise ValidationError("records", record, "CustomerRating values")
            if record.run_id != run_id:
                raise ValidationError("records.run_id", record.run_id, f"the run {run_id!r}")
            names.update(dict.fromkeys(name for name, _ in record.contributions))
        criteria = tuple(names)
        position = {name: j for j, name in enumerate(criteria)}
        matrix = np.full((len(items), len(criteria)), np.nan, dtype=np.float64)
        for i, record in enumerate(items):
            for name, value in record.contributions:
                matrix[i, position[name]] = value
        return cls.from_arrays(
            run_id=run_id,
            customer_ids=np.asarray([r.customer_id for r in items], dtype=object),
            score=np.asarray([r.score for r in items], dtype=np.float64),
            stars=np.asarray([r.stars for r in items], dtype=np.int64),
            computed_stars=np.asarray([r.computed_stars for r in items], dtype=np.int64),
            previous_stars=np.asarray([r.previous_stars for r in items], dtype=np.int64),
            pending=np.asarray([r.pending for r in items], dtype=np.int64),
            criteria=criteria,
            contributions=matrix,
        )

    def position(self, customer_id: str) -> int | None:
        """The row of ``customer_id`` (None when the run did not rate it)."""
        if not isinstance(customer_id, str) or not len(self):
            return None
        i = int(np.searchsorted(self.customer_ids, customer_id))
        return i if i < len(self) and self.customer_ids[i] == customer_id else None

    def record(self, i: int) -> CustomerRating:
        """Row ``i`` as a record (criteria whose contribution is NaN left out)."""
        row = self.contributions[i].tolist()
        return CustomerRating(
            run_id=self.run_id,
            customer_id=self.customer_ids[i],
            score=float(self.score[i]),
            stars=int(self.stars[i]),
            computed_stars=int(self.computed_stars[i]),
            previous_stars=int(self.previous_stars[i]),
            pending=int(self.pending[i]),
            contributions=tuple(
                (name, value)
                for name, value in zip(self.criteria, row, strict=True)
                if not math.isnan(value)
            ),
        )

    def to_records(self) -> Iterator[CustomerRating]:
        """Every row as a record, by customer id."""
        for i in range(len(self)):
            yield self.record(i)
