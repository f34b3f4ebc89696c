"""Migration matrices between two segmentations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.errors import ValidationError
from custmgmt.segmentation import Columns, Scheme, Segment, feature, migration_matrix

SCHEME = Scheme(
    name="v",
    segments=[
        Segment(name="high", rule=feature("x") >= 2),
        Segment(name="mid", rule=feature("x") >= 1),
    ],
    default="low",
)


@settings(max_examples=100, deadline=None)
@given(
    before=st.dictionaries(st.integers(0, 30), st.integers(0, 3), max_size=20),
    after=st.dictionaries(st.integers(0, 30), st.integers(0, 3), max_size=20),
)
def test_migration_counts_match_a_slow_reference(
    before: dict[int, int], after: dict[int, int]
) -> None:
    def seg(d: dict[int, int]):  # type: ignore[no-untyped-def]
        ids = list(d)
        return SCHEME.assign(
            Columns(np.array(ids, dtype=np.int64), {"x": [float(d[i]) for i in ids]})
        )

    m = migration_matrix(seg(before), seg(after))
    name = {0: "low", 1: "mid", 2: "high", 3: "high"}
    expected: dict[tuple[str, str], int] = {}
    for cid in set(before) | set(after):
        src = name[before[cid]] if cid in before else "(new)"
        dst = name[after[cid]] if cid in after else "(gone)"
        expected[(src, dst)] = expected.get((src, dst), 0) + 1
    got = {
        (r, c): int(m.counts[i, j])
        for i, r in enumerate(m.rows)
        for j, c in enumerate(m.columns)
        if m.counts[i, j]
    }
    assert got == expected
    for i in range(len(m.rows)):
        total = m.counts[i].sum()
        if total:
            assert np.isclose(m.shares[i].sum(), 1.0)


def test_a_migration_between_different_schemes_is_refused() -> None:
    other = Scheme(name="o", segments=[Segment(name="x", rule=feature("x") > 0)], default="y")
    table = Columns(["a"], {"x": [1.0]})
    with pytest.raises(ValidationError):
        migration_matrix(SCHEME.assign(table), other.assign(table))


def test_the_migration_table_reads_counts_and_shares() -> None:
    before = SCHEME.assign(Columns(["a", "b"], {"x": [2.0, 0.0]}))
    after = SCHEME.assign(Columns(["a", "b"], {"x": [1.0, 0.0]}))
    m = migration_matrix(before, after)
    assert m.count("high", "mid") == 1
    assert "1 (100%)" in m.format_table()
    with pytest.raises(ValidationError):
        m.count("nope", "mid")


def test_migrate_segments_the_frames_at_two_dates() -> None:
    from datetime import UTC, datetime, timedelta

    from custmgmt.analytics.frames import OrderFrame
    from custmgmt.segmentation import activity, migrate

    t0 = datetime(2025, 1, 1, tzinfo=UTC)

    def us(days: int) -> int:
        return int((t0 + timedelta(days=days)).timestamp()) * 1_000_000

    orders = OrderFrame.from_arrays(
        customer_id=["a", "b", "b", "c"],
        placed_at=[us(0), us(10), us(200), us(150)],
        amount=[100, 100, 100, 100],
        currency="CNY",
    )
    moves = migrate(activity(), orders, start=t0 + timedelta(days=30), end=t0 + timedelta(days=220))
    # a: active -> dormant (silent 220 days); b: active -> active; c: prospect -> active.
    assert moves.count("active", "dormant") == 1
    assert moves.count("active", "active") == 1
    assert moves.count("prospect", "active") == 1
    assert moves.rows == ("prospect", "active", "dormant", "churned")
    with pytest.raises(ValidationError):
        migrate(activity(), orders, start=t0 + timedelta(days=30), end=t0)
