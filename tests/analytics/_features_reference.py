"""A slow, obviously-correct reference for the customer features: dicts and loops."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from typing import Any

DAY = 86_400_000_000
NAN = float("nan")


def order_features(
    rows: list[dict[str, Any]], customers: list[Any], limit: int, windows: tuple[int, ...]
) -> dict[Any, dict[str, Any]]:
    """rows: dicts with customer, t, amount, returned, status, categories (set)."""
    by_customer: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_customer[row["customer"]].append(row)
    out: dict[Any, dict[str, Any]] = {}
    for c in customers:
        mine = [r for r in by_customer[c] if r["t"] <= limit]
        counted = [r for r in mine if r["status"] != "cancelled"]
        cancelled = [r for r in mine if r["status"] == "cancelled"]
        f = len(counted)
        times = sorted(r["t"] for r in counted)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        gross = sum(r["amount"] for r in counted)
        refunded = sum(r["returned"] for r in counted)
        returned_orders = sum(
            1
            for r in counted
            if r["returned"] > 0 or r["status"] in ("returned", "partially_returned")
        )
        categories: set[str] = set()
        for r in counted:
            categories |= r["categories"]
        feats: dict[str, Any] = {
            "frequency": f,
            "recency": (limit - times[-1]) / DAY if f else NAN,
            "tenure": (limit - times[0]) / DAY if f else NAN,
            "first_purchase": times[0] if f else -(2**63),
            "last_purchase": times[-1] if f else -(2**63),
            "monetary_total": gross,
            "monetary_net": gross - refunded,
            "monetary_mean": gross / f if f else NAN,
            "aov": (gross - refunded) / f if f else NAN,
            "returned_total": refunded,
            "return_rate": returned_orders / f if f else NAN,
            "cancelled_count": len(cancelled),
            "cancellation_rate": len(cancelled) / len(mine) if mine else NAN,
            "interval_mean": statistics.fmean(gaps) / DAY if gaps else NAN,
            "interval_median": statistics.median(gaps) / DAY if gaps else NAN,
            "interval_std": statistics.pstdev(gaps) / DAY if gaps else NAN,
            "category_breadth": len(categories),
        }
        for w in windows:
            inside = [r for r in counted if limit - w * DAY < r["t"] <= limit]
            before = [r for r in counted if limit - 2 * w * DAY < r["t"] <= limit - w * DAY]
            feats[f"orders_{w}d"] = len(inside)
            feats[f"spend_{w}d"] = sum(r["amount"] - r["returned"] for r in inside)
            feats[f"spend_prev_{w}d"] = sum(r["amount"] - r["returned"] for r in before)
        out[c] = feats
    return out


def interaction_features(
    rows: list[dict[str, Any]],
    customers: list[Any],
    limit: int,
    windows: tuple[int, ...],
    kinds: list[str],
) -> dict[Any, dict[str, Any]]:
    """rows: dicts with customer, t, kind (str), rating, resolved."""
    out: dict[Any, dict[str, Any]] = {}
    for c in customers:
        mine = [r for r in rows if r["customer"] == c and r["t"] <= limit]
        reviews = [r for r in mine if r["kind"] == "review"]
        rated = [r["rating"] for r in reviews if r["rating"] > 0]
        complaints = [r for r in mine if r["kind"] == "complaint"]
        feats: dict[str, Any] = {
            "review_count": len(reviews),
            "review_mean": sum(rated) / len(rated) if rated else NAN,
            "complaint_count": len(complaints),
            "complaint_unresolved": sum(1 for r in complaints if not r["resolved"]),
        }
        for w in windows:
            for kind in kinds:
                feats[f"{kind}_{w}d"] = sum(
                    1 for r in mine if r["kind"] == kind and r["t"] > limit - w * DAY
                )
        out[c] = feats
    return out


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN, floats to 1e-9 (relative) or 1e-9 days."""
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)
