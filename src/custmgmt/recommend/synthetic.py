"""Synthetic purchase histories, with or without planted co-purchase structure.

For tests, benchmarks and demos of the recommenders: with ``structure=True`` items
fall into groups and each customer mostly buys within one group (so "bought X, also
bought Y" is true and learnable); with ``structure=False`` every purchase is an
independent draw from the same popularity curve (nothing to learn beyond popularity).
Popularity is Zipf-like in both. Fully vectorised and seeded.
"""

from __future__ import annotations

import numpy as np

from custmgmt.errors import ValidationError
from custmgmt.recommend.purchases import Purchases

__all__ = ["synthetic_purchases"]

_YEAR_US = 365 * 86_400_000_000
_START_US = 1_735_689_600_000_000  # 2025-01-01 UTC


def synthetic_purchases(
    *,
    customers: int,
    items: int,
    lines: int,
    structure: bool = True,
    groups: int = 20,
    in_group: float = 0.8,
    seed: int = 0,
) -> Purchases:
    """``lines`` purchases by ``customers`` of ``items`` over one year (2025).

    Args:
        customers: how many customers (each buys at least once when lines allow).
        items: catalogue size.
        lines: purchase rows.
        structure: plant co-purchase groups (see the module docstring).
        groups: how many item groups.
        in_group: share of a customer's purchases from their group.
        seed: the random seed.

    Raises:
        ValidationError: sizes that are not positive, or ``in_group`` outside [0, 1].

    >>> p = synthetic_purchases(customers=50, items=30, lines=400, seed=1)
    >>> len(p), p.n_customers <= 50, p.n_items <= 30
    (400, True, True)
    """
    for name, value in (("customers", customers), ("items", items), ("lines", lines),
                        ("groups", groups)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValidationError(name, value, "a positive integer")
    if not 0 <= in_group <= 1:
        raise ValidationError("in_group", in_group, "a share from 0 to 1")
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, items + 1) ** 0.8
    popular = np.cumsum(weights / weights.sum())
    who = np.concatenate([
        np.arange(min(customers, lines), dtype=np.int64),
        rng.integers(0, customers, max(0, lines - customers), dtype=np.int64),
    ])
    drawn = np.minimum(np.searchsorted(popular, rng.random(lines)), items - 1).astype(np.int64)
    if structure:
        # Items are dealt round-robin into groups, so every group has popular and rare items.
        group_of_customer = rng.integers(0, groups, customers)
        own = rng.random(lines) < in_group
        per_group = -(-items // groups)
        member = (rng.random(lines) ** 1.5 * per_group).astype(np.int64)
        candidate = member * groups + group_of_customer[who]
        own &= candidate < items
        drawn = np.where(own, candidate, drawn)
    at = _START_US + rng.integers(0, _YEAR_US, lines, dtype=np.int64)
    width = len(str(max(customers, items)))
    cust_names = np.array([f"C{i:0{width}d}" for i in range(customers)], dtype=object)
    item_names = np.array([f"SKU-{i:0{width}d}" for i in range(items)], dtype=object)
    used_c, c_codes = np.unique(who, return_inverse=True)
    used_i, i_codes = np.unique(drawn, return_inverse=True)
    return Purchases(
        customer=c_codes.astype(np.int64), item=i_codes.astype(np.int64), at=at,
        customer_ids=cust_names[used_c], item_ids=item_names[used_i],
    )
