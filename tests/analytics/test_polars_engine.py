"""``engine="polars"`` gives the numpy engine's features value for value (integers,
money and floats bit for bit: the floats come from the same integers through the same
arithmetic), and so the same stars; without polars it is one clear library error."""

from __future__ import annotations

import csv
import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_properties import (
    WINDOWS,
    _as_of,
    _interactions_frame,
    _orders_frame,
    histories,
)
from test_partitioned import _shop, assert_identical

from custmgmt.analytics.features import ENGINES, customer_features, feature_names
from custmgmt.analytics.frames import InteractionFrame, OrderFrame
from custmgmt.cli import main
from custmgmt.errors import MissingDependency, ValidationError
from custmgmt.rating import RatingPolicy, rate_frames

HAS_POLARS = importlib.util.find_spec("polars") is not None
needs_polars = pytest.mark.skipif(
    not HAS_POLARS,
    reason="polars is not installed (pip install custmgmt[polars]): the polars engine "
    "cannot be compared with the numpy engine here",
)
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400_000_000


def both(*args: object, **kwargs: object) -> None:
    """The two engines' tables are identical (names, ids, dtypes, every value)."""
    expected = customer_features(*args, **kwargs, engine="numpy")  # type: ignore[arg-type]
    got = customer_features(*args, **kwargs, engine="polars")  # type: ignore[arg-type]
    assert_identical(got, expected)


@needs_polars
@settings(max_examples=150, deadline=None)
@given(histories())
def test_every_feature_of_random_frames_is_the_numpy_engines(h: dict) -> None:
    orders = _orders_frame(h["orders"], h["int_ids"])
    interactions = _interactions_frame(h["interactions"], h["int_ids"], orders)
    both(orders, interactions, as_of=_as_of(h["as_of"]), windows=WINDOWS)


@needs_polars
@settings(max_examples=60, deadline=None)
@given(histories(), st.data())
def test_any_subset_and_separately_indexed_frames_match_too(
    h: dict, data: st.DataObject
) -> None:
    orders = _orders_frame(h["orders"], h["int_ids"])
    rows = h["interactions"]
    separate = InteractionFrame.from_arrays(
        customer_id=np.array(
            [r["customer"] for r in rows], dtype=np.int64 if h["int_ids"] else object
        ),
        at=np.array([r["t"] for r in rows], dtype=np.int64),
        kind=[r["kind"] for r in rows],
        rating=np.array([r["rating"] for r in rows], dtype=np.int64),
        resolved=np.array([r["resolved"] for r in rows], dtype=bool),
    )
    as_of = _as_of(h["as_of"])
    names = data.draw(
        st.lists(st.sampled_from(feature_names((1, 30))), min_size=1, max_size=8, unique=True)
    )
    both(orders, separate, as_of=as_of, features=names)
    both(orders, as_of=as_of, windows=(30, 2))
    if len(separate.customer_ids):
        both(None, separate, as_of=as_of, windows=(7,))


def _busy_shop() -> OrderFrame:
    """40,000 orders with cancellations, returns and categories, plus multi-category
    lines, and a few customers with hundreds of orders (long gap sums)."""
    frame = _shop(40_000, seed=11)
    rng = np.random.default_rng(12)
    line_row = np.sort(rng.integers(0, len(frame), 30_000))
    line_category = rng.integers(-1, len(frame.category_names), 30_000).astype(np.int32)
    return attrs.evolve(frame, line_row=line_row, line_category=line_category)


@needs_polars
def test_a_busy_shop_has_every_feature_and_the_default_stars_of_the_numpy_engine() -> None:
    frame = _busy_shop()
    counts = np.bincount(frame.customer_code)
    assert counts.max() > 500  # long per-customer gap sums are exercised
    assert len(frame.category_names) > 1
    for as_of in (AS_OF, datetime(2024, 6, 30, 12, tzinfo=UTC)):
        both(frame, as_of=as_of, windows=(7, 30, 90, 365))
        policy = RatingPolicy.default()
        a = rate_frames(policy, frame, as_of=as_of, engine="numpy")
        b = rate_frames(policy, frame, as_of=as_of, engine="polars")
        assert len(a) == len(b) > 1_000
        np.testing.assert_array_equal(a.customer_ids, b.customer_ids, strict=True)
        np.testing.assert_array_equal(a.score, b.score, strict=True)
        np.testing.assert_array_equal(a.stars, b.stars, strict=True)
        assert set(np.unique(a.stars).tolist()) == {1, 2, 3, 4, 5}


@needs_polars
def test_money_sums_stay_exact_for_large_amounts() -> None:
    # Two customers, 3,000 orders each of up to 2**40 minor units: sums near 2**51.
    rng = np.random.default_rng(5)
    ids = np.repeat(np.array([1, 2]), 3_000)
    amount = rng.integers(2**39, 2**40, len(ids))
    returned = np.where(rng.random(len(ids)) < 0.3, amount // 3, 0)
    frame = OrderFrame.from_arrays(
        customer_id=ids,
        placed_at=int(AS_OF.timestamp() * 1e6) - rng.integers(1, 400 * DAY, len(ids)),
        amount=amount,
        returned_amount=returned,
        currency="CNY",
    )
    names = ["monetary_total", "monetary_net", "returned_total", "spend_90d", "spend_prev_90d"]
    got = customer_features(frame, as_of=AS_OF, features=names, engine="polars")
    expected_net = [
        sum(int(a) - int(r) for a, r, i in zip(amount, returned, ids, strict=True) if i == c)
        for c in (1, 2)
    ]
    assert got["monetary_net"].tolist() == expected_net
    assert max(expected_net) > 2**50
    both(frame, as_of=AS_OF, features=names)


@needs_polars
def test_the_rate_command_gives_the_same_stars_with_either_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    lines = ["customer_id,placed_at,amount,category,status"]
    statuses = ["delivered", "delivered", "delivered", "cancelled", "returned"]
    for i in range(600):
        day = 1 + int(rng.integers(0, 28))
        lines.append(
            f"c{int(rng.integers(0, 80))},2025-{1 + i % 12:02d}-{day:02d},"
            f"{int(rng.integers(1, 5000))}.{int(rng.integers(0, 100)):02d},"
            f"{['书', '茶', '电器'][i % 3]},{statuses[int(rng.integers(0, 5))]}"
        )
    orders = tmp_path / "orders.csv"
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = []
    for engine in ENGINES:
        out = tmp_path / f"{engine}.csv"
        assert main(["rate", str(orders), "--engine", engine, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        with out.open(encoding="utf-8") as stream:
            outputs.append((printed.split("wrote")[0], list(csv.reader(stream))))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][1]) > 50


def test_an_unknown_engine_is_refused_naming_the_argument() -> None:
    frame = _shop(50, seed=1)
    for bad in ("pandas", "", None, 1):
        with pytest.raises(ValidationError, match="engine") as caught:
            customer_features(frame, as_of=AS_OF, engine=bad)  # type: ignore[arg-type]
        assert caught.value.field == "engine"
    with pytest.raises(ValidationError, match="engine"):
        rate_frames(RatingPolicy.default(), frame, as_of=AS_OF, engine="dask")


def test_without_polars_the_polars_engine_is_a_missing_dependency_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = _shop(50, seed=2)
    monkeypatch.setitem(sys.modules, "polars", None)  # import polars -> ImportError
    with pytest.raises(MissingDependency, match="polars") as caught:
        customer_features(frame, as_of=AS_OF, engine="polars")
    assert isinstance(caught.value, ImportError)
    assert "custmgmt[polars]" in str(caught.value)
    # The default engine never needs it.
    assert customer_features(frame, as_of=AS_OF, features=["frequency"]).names == ("frequency",)


def test_the_rate_command_refuses_an_unknown_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,placed_at,amount\na,2025-01-01,10\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["rate", str(orders), "--engine", "spark"])
    assert "--engine" in capsys.readouterr().err
