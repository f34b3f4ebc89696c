"""The rating policy: which criteria count, how much, and how scores become stars.

A :class:`RatingPolicy` is a frozen value made only of data, so hosts keep it in
configuration (:meth:`RatingPolicy.to_json` / :meth:`RatingPolicy.from_json`) and a
stored rating run records exactly the policy that produced it.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.domain._bulk import check_texts
from custmgmt.domain._validate import is_finite_number
from custmgmt.domain.time import iana_zone, require_aware
from custmgmt.errors import ValidationError
from custmgmt.notebook.display import Report, Table
from custmgmt.rating._schedule import NotARecurrence, Recurrence
from custmgmt.scoring import Criterion, Registry, WeightedSum, default_registry
from custmgmt.scoring.normalise import _enum

if TYPE_CHECKING:
    pass

__all__ = [
    "CRITERION_NAME_LENGTH",
    "MISSING_INPUT",
    "POLICY_NAME_LENGTH",
    "WEIGHT_TOLERANCE",
    "BandKind",
    "Hysteresis",
    "RatingPolicy",
    "Schedule",
    "StarBands",
    "population_quantiles",
]

#: How far the weights may add up away from 1 (float rounding of decimal weights
#: such as 0.1 + 0.2 + 0.7 stays far inside it).
WEIGHT_TOLERANCE = 1e-9

#: The longest criterion name (a stored run keeps each name with its contributions).
CRITERION_NAME_LENGTH = 200

#: The longest policy name: a scheduled run's id is ``"<name>-<time>"`` (at most 22
#: characters of time) and run ids are at most 128 characters.
POLICY_NAME_LENGTH = 100

#: What a policy may do when the input cannot support one of its features
#: (:attr:`RatingPolicy.missing_input`).
MISSING_INPUT = ("rescale", "refuse")

#: Named schedules and the RFC 5545 rule each stands for (midnight, day 1).
NAMED_SCHEDULES = {
    "monthly": "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
    "quarterly": "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
}

#: Custom rules are anchored here (in the schedule's timezone), so ``INTERVAL=2``
#: weekly rules always fall on the same weeks.
SCHEDULE_ANCHOR = datetime(2000, 1, 3)  # a Monday


class BandKind:
    """The two kinds of star bands (plain strings in the policy's data)."""

    QUANTILE = "quantile"
    ABSOLUTE = "absolute"


def _number(field: str, value: Any) -> float:
    if not is_finite_number(value):
        raise ValidationError(field, value, "a finite number")
    return float(value)


def _to_cuts(value: Any) -> tuple[float, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("bands.cuts", value, "a sequence of numbers")
    return tuple(_number("bands.cuts", v) for v in value)


@attrs.frozen(kw_only=True)
class StarBands:
    """Where the stars change: ``levels - 1`` increasing cut points.

    With ``kind="quantile"`` the cuts are population quantiles in ``(0, 1)``: the
    thresholds are the scores at those quantiles (numpy's default, linear
    interpolation), so ``cuts=(0.3, 0.6, 0.8, 0.95)`` gives the top 5% five stars.
    With ``kind="absolute"`` the cuts are score thresholds themselves.

    A customer gets ``1 + (number of thresholds <= score)`` stars.

    Attributes:
        kind: ``"quantile"`` or ``"absolute"``.
        cuts: the cut points, strictly increasing.
    """

    kind: str = attrs.field(default=BandKind.QUANTILE)
    cuts: tuple[float, ...] = attrs.field(default=(0.30, 0.60, 0.80, 0.95), converter=_to_cuts)

    def __attrs_post_init__(self) -> None:
        if self.kind not in (BandKind.QUANTILE, BandKind.ABSOLUTE):
            raise ValidationError("bands.kind", self.kind, "'quantile' or 'absolute'")
        for a, b in itertools.pairwise(self.cuts):
            if not a < b:
                raise ValidationError("bands.cuts", self.cuts, "strictly increasing cut points")
        if self.kind == BandKind.QUANTILE:
            for q in self.cuts:
                if not 0.0 < q < 1.0:
                    raise ValidationError("bands.cuts", q, "quantiles strictly between 0 and 1")

    @classmethod
    def quantiles(cls, *cuts: float) -> StarBands:
        """Bands at population quantiles, e.g. ``StarBands.quantiles(0.2, 0.4, 0.6, 0.8)``."""
        return cls(kind=BandKind.QUANTILE, cuts=cuts)

    @classmethod
    def absolute(cls, *cuts: float) -> StarBands:
        """Bands at fixed score thresholds, e.g. ``StarBands.absolute(0.2, 0.4, 0.6, 0.8)``."""
        return cls(kind=BandKind.ABSOLUTE, cuts=cuts)

    def thresholds(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """The score thresholds for this population (the cuts, for absolute bands)."""
        cuts = np.asarray(self.cuts, dtype=np.float64)
        if self.kind == BandKind.ABSOLUTE:
            return cuts
        return population_quantiles(scores, cuts)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"kind": self.kind, "cuts": list(self.cuts)}


def population_quantiles(
    scores: NDArray[np.float64], qs: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``np.quantile(scores, qs)`` (linear method) from a partial sort.

    Only the order statistics around each cut are needed, so ``np.partition`` finds
    them in O(n) instead of sorting the population (13 ms against 90 ms for 1M).
    An empty population gives zeros.
    """
    n = scores.size
    if n == 0:
        return np.zeros(qs.size)
    pos = qs * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    part = np.partition(scores, np.unique(np.concatenate([lo, hi])))
    a = part[lo]
    b = part[hi]
    diff = b - a
    # numpy's _lerp: interpolate from the nearer end for accuracy.
    out: NDArray[np.float64] = np.where(frac >= 0.5, b - diff * (1 - frac), a + diff * frac)
    # Guard monotonicity against rounding (ties make a == b anyway).
    return np.maximum.accumulate(out)


def _positive_int(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(field, value, "a positive integer")
    return value


@attrs.frozen(kw_only=True)
class Hysteresis:
    """When a customer rated lower than last time actually loses stars.

    Rises always apply at once. With neither rule set (``Hysteresis()``, the default)
    drops apply at once too. Otherwise a drop applies

    * when the score is below the lower threshold of the current stars by more than
      ``margin``: the customer drops to the band it reaches with every threshold
      lowered by ``margin``; or
    * when the customer has been rated below its stars in ``consecutive`` runs in a
      row (the current one included): it drops to the computed stars.

    Otherwise it keeps its stars, and the runs below are counted
    (:attr:`Rating.pending`).

    Attributes:
        margin: in score units, or None for no margin rule.
        consecutive: runs in a row below the band before a drop, or None for no
            such rule.
    """

    margin: float | None = attrs.field(default=None)
    consecutive: int | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.margin is not None:
            margin = _number("hysteresis.margin", self.margin)
            if margin < 0:
                raise ValidationError("hysteresis.margin", margin, "a non-negative margin")
        if self.consecutive is not None:
            _positive_int("hysteresis.consecutive", self.consecutive)

    @property
    def active(self) -> bool:
        """Whether any rule holds drops back."""
        return self.margin is not None or self.consecutive is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"margin": self.margin, "consecutive": self.consecutive}


@attrs.frozen(kw_only=True)
class Schedule:
    """When scheduled re-ratings run.

    ``rule`` is ``"monthly"`` (00:00 on the 1st), ``"quarterly"`` (00:00 on 1 January,
    April, July and October) or any RFC 5545 recurrence rule understood by
    ``dateutil.rrule.rrulestr`` without DTSTART (e.g. ``"FREQ=WEEKLY;BYDAY=MO;BYHOUR=6"``;
    rules are anchored on Monday 2000-01-03 00:00). Times are wall-clock times in
    ``timezone``. Any frequency works, ``SECONDLY`` included: the runs next to a
    moment are found from the period containing it, never by walking from the
    anchor. A rule must recur (no run on 30 February) and may not have ``COUNT``,
    which would count from the anchor (end a schedule with ``UNTIL``).

    Attributes:
        rule: the recurrence.
        timezone: the IANA timezone the rule's times are in: a zone of the IANA
            database spelt exactly, never the host's ``localtime`` (nor
            ``posixrules``, a ``posix/`` or ``right/`` copy, or a path), which would
            make the same policy run at other hours on another machine.
    """

    rule: str = "monthly"
    timezone: str = "UTC"

    def __attrs_post_init__(self) -> None:
        if not self._recurrence().recurs():
            raise ValidationError(
                "schedule.rule",
                self.rule,
                "a rule that recurs (this one has no run in a thousand years)",
            )

    def _recurrence(self) -> Recurrence:
        if not isinstance(self.rule, str) or not self.rule.strip():
            raise ValidationError("schedule.rule", self.rule, "'monthly', 'quarterly' or RRULE")
        text = NAMED_SCHEDULES.get(self.rule, self.rule)
        if "DTSTART" in text.upper():
            raise ValidationError("schedule.rule", self.rule, "a rule without DTSTART")
        zone = iana_zone(self.timezone, "schedule.timezone")
        try:
            return Recurrence(text, zone, SCHEDULE_ANCHOR)
        except NotARecurrence as exc:
            raise ValidationError("schedule.rule", self.rule, str(exc)) from None
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            raise ValidationError(
                "schedule.rule", self.rule, "'monthly', 'quarterly' or an RFC 5545 RRULE"
            ) from None

    def next_runs(self, after: datetime, count: int = 1) -> list[datetime]:
        """The next ``count`` run times strictly after ``after`` (aware).

        Raises:
            ValidationError: ``after`` is naive or ``count`` is not a positive integer.
        """
        require_aware("after", after)
        _positive_int("count", count)
        recurrence = self._recurrence()
        runs: list[datetime] = []
        current = after
        for _ in range(count):
            nxt = recurrence.after(current)
            if nxt is None:
                break
            runs.append(nxt)
            current = nxt
        return runs

    def previous_run(self, before: datetime) -> datetime | None:
        """The last run time at or before ``before`` (aware), None if there is none.

        Raises:
            ValidationError: ``before`` is naive.
        """
        require_aware("before", before)
        return self._recurrence().before(before)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"rule": self.rule, "timezone": self.timezone}


def _criteria(value: Any) -> tuple[Criterion, ...]:
    if isinstance(value, Mapping):
        raise ValidationError("criteria", value, "Criterion objects (use from_dict for data)")
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("criteria", value, "a sequence of Criterion objects")
    items = tuple(value)
    for item in items:
        if not isinstance(item, Criterion):
            raise ValidationError("criteria", item, "Criterion objects")
    return items


@attrs.frozen(kw_only=True)
class RatingPolicy:
    """How customers are rated: weighted criteria, star bands, hysteresis, schedule.

    Build one from data with :meth:`from_dict`, or start from :meth:`default`:

    >>> policy = RatingPolicy.default()
    >>> [(c.name, c.feature, c.weight) for c in policy.criteria]  # doctest: +NORMALIZE_WHITESPACE
    [('spend', 'monetary_net', 0.6), ('frequency', 'frequency', 0.3),
     ('category_breadth', 'category_breadth', 0.1)]
    >>> RatingPolicy.from_json(policy.to_json()) == policy
    True

    Validation refuses, with a :class:`~custmgmt.errors.ValidationError` naming the
    field: no criteria, duplicate names, negative weights, weights not adding up to 1
    within :data:`WEIGHT_TOLERANCE`, a cut count other than ``levels - 1``, cuts not
    strictly increasing, quantile cuts outside ``(0, 1)``, unknown criteria, unknown
    normalisations, bad hysteresis or schedule.

    Attributes:
        criteria: the weighted criteria in display order.
        bands: where scores become stars.
        levels: the number of star levels (stars run from 1 to ``levels``).
        hysteresis: when drops apply (see :class:`Hysteresis`).
        schedule: when scheduled runs happen.
        name: a label for people (shown in stored runs).
        missing_input: what rating does when the input cannot support a criterion's
            feature (no category column, no interactions): ``"rescale"`` (the
            default) drops those criteria and rescales the others' weights to add up
            to 1, naming the dropped features in the rating; ``"refuse"`` raises a
            :class:`~custmgmt.errors.ValidationError` naming them.
    """

    criteria: tuple[Criterion, ...] = attrs.field(converter=_criteria)
    bands: StarBands = attrs.field(factory=StarBands)
    levels: int = attrs.field(default=5)
    hysteresis: Hysteresis = attrs.field(factory=Hysteresis)
    schedule: Schedule = attrs.field(factory=Schedule)
    name: str = attrs.field(default="default")
    missing_input: str = attrs.field(default="rescale")

    def __attrs_post_init__(self) -> None:
        if not self.criteria:
            raise ValidationError("criteria", (), "at least one criterion")
        names = [c.name for c in self.criteria]
        # What a stored run keeps (RatingResults): refused here, not after rating.
        check_texts(names, "criteria", max_length=CRITERION_NAME_LENGTH)
        if len(set(names)) != len(names):  # a set: a policy file may list many
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise ValidationError("criteria", name, "distinct criterion names")
                seen.add(name)
        total = math.fsum(c.weight for c in self.criteria)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ValidationError(
                "criteria.weights",
                {c.name: c.weight for c in self.criteria},
                f"weights adding up to 1 (within {WEIGHT_TOLERANCE:g}); they add up to {total!r}",
            )
        levels = self.levels
        if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= 10:
            raise ValidationError("levels", levels, "an integer from 2 to 10")
        if not isinstance(self.bands, StarBands):
            raise ValidationError("bands", self.bands, "a StarBands")
        if len(self.bands.cuts) != levels - 1:
            raise ValidationError(
                "bands.cuts", self.bands.cuts, f"{levels - 1} cut points for {levels} levels"
            )
        if not isinstance(self.hysteresis, Hysteresis):
            raise ValidationError("hysteresis", self.hysteresis, "a Hysteresis")
        if not isinstance(self.schedule, Schedule):
            raise ValidationError("schedule", self.schedule, "a Schedule")
        name = self.name
        if (
            not isinstance(name, str)
            or not name.strip()
            or not name.isprintable()
            or len(name) > POLICY_NAME_LENGTH
        ):
            # Scheduled runs are stored as "<name>-<time>" (run ids are at most 128
            # characters), and the name is shown in reports: refused here, not when
            # the first scheduled run is saved.
            raise ValidationError(
                "name", name, f"a non-blank name on one line of at most {POLICY_NAME_LENGTH} "
                "characters",
            )
        if self.missing_input not in MISSING_INPUT:
            raise ValidationError("missing_input", self.missing_input, f"one of {MISSING_INPUT}")

    def _repr_html_(self) -> str:
        return self._display().to_html()

    def summary(self) -> str:
        """The summary shown in a notebook, as aligned text for a terminal."""
        return self._display().to_text()

    def _display(self) -> Report:
        """The criteria with their weights, the star bands and the hysteresis."""
        report = Report(
            f"Rating policy: {self.name}",
            facts=[
                ("levels", self.levels),
                ("bands", f"{self.bands.kind} {', '.join(f'{c:g}' for c in self.bands.cuts)}"),
                (
                    "hysteresis",
                    (
                        f"margin {self.hysteresis.margin}, "
                        f"consecutive {self.hysteresis.consecutive}"
                    ),
                ),
                ("schedule", f"{self.schedule.rule} ({self.schedule.timezone})"),
            ],
        )
        rows = tuple(
            (c.name, c.feature, c.weight, c.normalisation.value, c.direction.value)
            for c in self.criteria
        )
        report.add(Table(caption="criteria",
                         header=("criterion", "feature", "weight", "normalisation", "direction"),
                         rows=rows))
        return report

    # -- construction ------------------------------------------------------------------
    @classmethod
    def default(cls) -> RatingPolicy:
        """The 60/30/10 policy.

        * ``spend`` 0.6: net spend (``monetary_net``: order totals minus returns,
          cancelled orders excluded), percentile rank.
        * ``frequency`` 0.3: number of orders (``frequency``), percentile rank.
        * ``category_breadth`` 0.1: distinct categories bought, percentile rank.
        * Five levels from population quantiles 0.30, 0.60, 0.80, 0.95: roughly the
          bottom 30% get one star, the next 30% two, then 20% three, 15% four and the
          top 5% five (ties share a band, so the shares are approximate).
        * No hysteresis; monthly re-rating at 00:00 UTC on the 1st.
        """
        return cls.from_dict(
            {
                "name": "default",
                "criteria": {
                    "spend": {"weight": 0.6},
                    "frequency": {"weight": 0.3},
                    "category_breadth": {"weight": 0.1},
                },
            }
        )

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, registry: Registry | None = None
    ) -> RatingPolicy:
        """Build a policy from plain data (the inverse of :meth:`to_dict`).

        Without ``bands``, five levels get the default quantile cuts (0.30, 0.60,
        0.80, 0.95) and other level counts evenly spaced quantiles.
        ``criteria`` maps each criterion name to ``{"weight": w}`` plus optional
        ``feature``, ``normalisation``, ``direction`` and ``cap``; a name registered
        in ``registry`` (the default registry unless given) supplies the defaults, an
        unregistered name needs its ``feature``. Missing top-level keys take the
        defaults of the attributes.

        Raises:
            ValidationError: naming what is wrong (see the class documentation).
        """
        registry = default_registry if registry is None else registry
        if not isinstance(data, Mapping):
            raise ValidationError("policy", data, "a mapping")
        known = {"name", "criteria", "bands", "levels", "hysteresis", "schedule", "missing_input"}
        for key in data:
            if key not in known:
                raise ValidationError("policy", key, f"only the keys {sorted(known)}")
        raw_criteria = data.get("criteria")
        if not isinstance(raw_criteria, Mapping):
            raise ValidationError("criteria", raw_criteria, "a mapping of name to settings")
        criteria = [
            _criterion_from_dict(name, spec, registry) for name, spec in raw_criteria.items()
        ]
        kwargs: dict[str, Any] = {"criteria": criteria}
        if "name" in data:
            kwargs["name"] = data["name"]
        if "levels" in data:
            kwargs["levels"] = data["levels"]
        if "missing_input" in data:
            kwargs["missing_input"] = data["missing_input"]
        levels = kwargs.get("levels", 5)
        bands = data.get("bands")
        if bands is None:
            # Five levels keep the documented pyramid; other counts get even quantiles.
            valid = isinstance(levels, int) and not isinstance(levels, bool)
            if valid and levels != 5 and 2 <= levels <= 10:
                kwargs["bands"] = StarBands(kind=BandKind.QUANTILE, cuts=_even_quantiles(levels))
        else:
            kwargs["bands"] = _from_mapping(StarBands, "bands", bands, {"kind", "cuts"})
        if "hysteresis" in data:
            kwargs["hysteresis"] = _from_mapping(
                Hysteresis, "hysteresis", data["hysteresis"], {"margin", "consecutive"}
            )
        if "schedule" in data:
            schedule = data["schedule"]
            if isinstance(schedule, str):
                schedule = {"rule": schedule}
            kwargs["schedule"] = _from_mapping(Schedule, "schedule", schedule, {"rule", "timezone"})
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str | bytes, *, registry: Registry | None = None) -> RatingPolicy:
        """Build a policy from JSON text (see :meth:`from_dict`).

        Raises:
            ValidationError: invalid JSON, or an invalid policy.
        """
        # Errors describe the text instead of quoting it: a file given by mistake (a
        # customer list) would otherwise have its first line, names and phone
        # numbers included, printed.
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise ValidationError("policy", _described(text), f"valid JSON ({exc})") from None
        except RecursionError:
            raise ValidationError(
                "policy", _described(text), "JSON nested under 1,000 levels"
            ) from None
        return cls.from_dict(data, registry=registry)

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data (JSON-compatible)."""
        return {
            "name": self.name,
            "criteria": {c.name: c.to_dict() for c in self.criteria},
            "bands": self.bands.to_dict(),
            "levels": self.levels,
            "hysteresis": self.hysteresis.to_dict(),
            "schedule": self.schedule.to_dict(),
            "missing_input": self.missing_input,
        }

    def to_json(self) -> str:
        """The policy as JSON text (keys in a stable order, non-ASCII kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    # -- use ---------------------------------------------------------------------------
    @property
    def scorer(self) -> WeightedSum:
        """The weighted-sum scorer of the criteria."""
        return WeightedSum(self.criteria)

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns the policy reads, without repeats, in criterion order."""
        return tuple(dict.fromkeys(c.feature for c in self.criteria))

    def without(self, features: Iterable[str]) -> RatingPolicy:
        """This policy without the criteria that read ``features``, the remaining
        weights rescaled to add up to 1 (what ``missing_input="rescale"`` rates with).

        >>> p = RatingPolicy.default().without(["category_breadth"])
        >>> [(c.name, round(c.weight, 4)) for c in p.criteria]
        [('spend', 0.6667), ('frequency', 0.3333)]

        Raises:
            ValidationError: no criterion would remain, or none with a positive weight.
        """
        dropped = set(features)
        kept = [c for c in self.criteria if c.feature not in dropped]
        total = math.fsum(c.weight for c in kept)
        if not kept or total <= 0:
            raise ValidationError(
                "features", sorted(dropped), "leaving at least one weighted criterion"
            )
        if len(kept) == len(self.criteria):
            return self
        criteria = [attrs.evolve(c, weight=c.weight / total) for c in kept]
        return attrs.evolve(self, criteria=criteria)

    def criterion(self, name: str) -> Criterion:
        """The criterion called ``name``.

        Raises:
            ValidationError: the policy has no such criterion.
        """
        for c in self.criteria:
            if c.name == name:
                return c
        raise ValidationError("criterion", name, f"one of {[c.name for c in self.criteria]}")

    def next_runs(self, *, after: datetime, count: int = 1) -> list[datetime]:
        """The next ``count`` scheduled run times strictly after ``after``.

        >>> from datetime import UTC
        >>> [d.isoformat() for d in RatingPolicy.default().next_runs(
        ...     after=datetime(2026, 1, 15, tzinfo=UTC), count=2)]
        ['2026-02-01T00:00:00+00:00', '2026-03-01T00:00:00+00:00']
        """
        return self.schedule.next_runs(after, count)

    def previous_run_time(self, before: datetime) -> datetime | None:
        """The last scheduled run time at or before ``before`` (None if none)."""
        return self.schedule.previous_run(before)


def _described(text: Any) -> str:
    """What a refused policy text is, without its content."""
    if isinstance(text, str):
        return f"text of {len(text):,} characters"
    if isinstance(text, bytes | bytearray):
        return f"{len(text):,} bytes"
    return type(text).__name__


def _even_quantiles(levels: int) -> tuple[float, ...]:
    return tuple(round(i / levels, 10) for i in range(1, levels))


def _from_mapping(cls: Any, field: str, value: Any, keys: set[str]) -> Any:
    if not isinstance(value, Mapping):
        raise ValidationError(field, value, f"a mapping with keys {sorted(keys)}")
    for key in value:
        if key not in keys:
            raise ValidationError(f"{field}.{key}", value[key], f"only the keys {sorted(keys)}")
    return cls(**dict(value))


def _criterion_from_dict(name: Any, spec: Any, registry: Registry) -> Criterion:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("criteria", name, "a non-blank criterion name")
    if not isinstance(spec, Mapping):
        raise ValidationError(f"criteria.{name}", spec, "a mapping with at least 'weight'")
    allowed = {"weight", "feature", "normalisation", "direction", "cap"}
    for key in spec:
        if key not in allowed:
            raise ValidationError(f"criteria.{name}.{key}", spec[key], f"one of {sorted(allowed)}")
    if "weight" not in spec:
        raise ValidationError(f"criteria.{name}.weight", None, "a weight")
    registered = registry.criteria().get(name)
    if registered is None:
        if "feature" not in spec:
            known = ", ".join(sorted(registry.criteria()))
            raise ValidationError(
                "criteria", name, f"a known criterion ({known}) or one with a 'feature'"
            )
        _check_feature_name(name, spec["feature"])
        defaults: dict[str, Any] = {}
    else:
        defaults = {
            "feature": registered.feature,
            "normalisation": registered.normalisation,
            "direction": registered.direction,
            "cap": registered.cap,
        }
        if "feature" in spec and spec["feature"] != registered.feature:
            _check_feature_name(name, spec["feature"])
    merged = {**defaults, **dict(spec)}
    normalisation = _enum_field(name, "normalisation", merged.get("normalisation"))
    if "cap" not in spec and normalisation != "capped":
        merged.pop("cap", None)  # a registered default cap only matters for 'capped'
    try:
        return Criterion(name=name, **merged)
    except TypeError as exc:
        raise ValidationError(f"criteria.{name}", spec, f"valid settings ({exc})") from None


def _enum_field(name: str, field: str, value: Any) -> str:
    from custmgmt.scoring import Normalisation

    if value is None:
        return Normalisation.PERCENTILE_RANK.value
    member = _enum(Normalisation, value, f"criteria.{name}.{field}")
    return str(member.value)


def _check_feature_name(criterion: str, feature: Any) -> None:
    if not isinstance(feature, str) or not feature.strip():
        raise ValidationError(f"criteria.{criterion}.feature", feature, "a feature name")
    from custmgmt.analytics.features import describe_feature

    try:
        describe_feature(feature)
    except (ValidationError, KeyError, LookupError):
        raise ValidationError(
            f"criteria.{criterion}.feature",
            feature,
            "a feature computed by custmgmt.analytics.features (register a criterion "
            "for a feature the host computes)",
        ) from None

