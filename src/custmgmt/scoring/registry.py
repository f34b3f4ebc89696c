"""Named criteria and scorers that policies and hosts refer to by name.

A rating policy names its criteria (``"spend"``, ``"frequency"`` ...); the registry
says which feature each name reads, how it is normalised by default and whether more
is better. Hosts add their own with :func:`register_criterion` (a criterion on a
feature the host computes) and :func:`register_scorer` (any :class:`Scorer` factory).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs

from custmgmt.errors import ValidationError
from custmgmt.scoring.model import ModelScorer
from custmgmt.scoring.normalise import Direction, Normalisation, _enum
from custmgmt.scoring.weighted import Scorer, WeightedSum

__all__ = [
    "CriterionSpec",
    "Registry",
    "default_registry",
    "get_scorer",
    "register_criterion",
    "register_scorer",
]


@attrs.frozen(kw_only=True)
class CriterionSpec:
    """What a named criterion reads and how, unless a policy says otherwise.

    Attributes:
        feature: the feature column.
        normalisation: the default normalisation.
        direction: whether more is better.
        cap: the default cap for ``capped``.
        incremental: whether :class:`custmgmt.rating.IncrementalRater` can keep the
            feature up to date from single events (false for time-dependent
            features such as recency and tenure, which change for everyone daily).
        description: one line for documentation and the command line.
    """

    feature: str
    normalisation: Normalisation = Normalisation.PERCENTILE_RANK
    direction: Direction = Direction.HIGHER
    cap: float | None = None
    incremental: bool = False
    description: str = ""


class Registry:
    """A thread-safe table of named criteria and scorer factories."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._criteria: dict[str, CriterionSpec] = {}
        self._scorers: dict[str, Callable[..., Scorer]] = {}

    def register_criterion(
        self,
        name: str,
        *,
        feature: str,
        normalisation: Normalisation | str = Normalisation.PERCENTILE_RANK,
        direction: Direction | str = Direction.HIGHER,
        cap: float | None = None,
        incremental: bool = False,
        description: str = "",
        replace: bool = False,
    ) -> CriterionSpec:
        """Register (or with ``replace=True`` redefine) the criterion ``name``.

        Raises:
            ValidationError: a blank name or feature, an unknown normalisation or
                direction, or ``name`` already registered without ``replace``.
        """
        for field, value in (("name", name), ("feature", feature)):
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(field, value, "a non-blank string")
        spec = CriterionSpec(
            feature=feature,
            normalisation=_enum(Normalisation, normalisation, "normalisation"),
            direction=_enum(Direction, direction, "direction"),
            cap=cap,
            incremental=incremental,
            description=description,
        )
        with self._lock:
            if name in self._criteria and not replace:
                raise ValidationError("name", name, "a criterion name not yet registered")
            self._criteria[name] = spec
        return spec

    def criterion(self, name: str) -> CriterionSpec:
        """The registered criterion ``name``.

        Raises:
            ValidationError: no criterion of that name (the message lists the known ones).
        """
        with self._lock:
            spec = self._criteria.get(name)
            known = sorted(self._criteria)
        if spec is None:
            raise ValidationError("criteria", name, f"a known criterion ({', '.join(known)})")
        return spec

    def criteria(self) -> dict[str, CriterionSpec]:
        """A copy of every registered criterion by name."""
        with self._lock:
            return dict(self._criteria)

    def register_scorer(
        self, name: str, factory: Callable[..., Scorer], *, replace: bool = False
    ) -> None:
        """Register a scorer factory (called with keyword parameters by :meth:`scorer`).

        Raises:
            ValidationError: a blank name, a non-callable factory, or a name already
                registered without ``replace``.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name", name, "a non-blank string")
        if not callable(factory):
            raise ValidationError("factory", factory, "a callable returning a Scorer")
        with self._lock:
            if name in self._scorers and not replace:
                raise ValidationError("name", name, "a scorer name not yet registered")
            self._scorers[name] = factory

    def scorer(self, name: str, **params: Any) -> Scorer:
        """Build the scorer registered as ``name`` with ``params``.

        Raises:
            ValidationError: no scorer of that name.
        """
        with self._lock:
            factory = self._scorers.get(name)
            known = sorted(self._scorers)
        if factory is None:
            raise ValidationError("scorer", name, f"a registered scorer ({', '.join(known)})")
        return factory(**params)

    def scorers(self) -> list[str]:
        """The registered scorer names, sorted."""
        with self._lock:
            return sorted(self._scorers)


def _builtin() -> Registry:
    registry = Registry()
    builtin: list[tuple[str, dict[str, Any]]] = [
        ("spend", {"feature": "monetary_net", "incremental": True,
                   "description": "net spend: order totals minus returns"}),
        ("frequency", {"feature": "frequency", "incremental": True,
                       "description": "number of orders"}),
        ("category_breadth", {"feature": "category_breadth", "incremental": True,
                              "description": "number of distinct categories bought"}),
        ("average_order_value", {"feature": "aov",
                                 "description": "average order value net of returns"}),
        ("loyalty", {"feature": "tenure",
                     "description": "days since the first purchase"}),
        ("recency", {"feature": "recency", "direction": "lower",
                     "description": "days since the last purchase (fewer is better)"}),
        ("review_score", {"feature": "review_mean", "normalisation": "min_max",
                          "description": "mean review rating"}),
        ("complaints", {"feature": "complaint_count", "direction": "lower",
                        "incremental": True,
                        "description": "number of complaints (fewer is better)"}),
        ("return_rate", {"feature": "return_rate", "direction": "lower",
                         "normalisation": "min_max",
                         "description": "share of spend returned (less is better)"}),
    ]
    for name, spec in builtin:
        registry.register_criterion(name, **spec)
    registry.register_scorer("weighted_sum", WeightedSum)
    registry.register_scorer("model", ModelScorer)
    return registry


#: The registry policies use unless given another.
default_registry = _builtin()


def register_criterion(name: str, **spec: Any) -> CriterionSpec:
    """Register a criterion in :data:`default_registry` (see ``Registry.register_criterion``)."""
    return default_registry.register_criterion(name, **spec)


def register_scorer(name: str, factory: Callable[..., Scorer], *, replace: bool = False) -> None:
    """Register a scorer in :data:`default_registry` (see :meth:`Registry.register_scorer`)."""
    default_registry.register_scorer(name, factory, replace=replace)


def get_scorer(name: str, **params: Any) -> Scorer:
    """Build a scorer registered in :data:`default_registry`."""
    return default_registry.scorer(name, **params)
