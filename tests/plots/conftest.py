"""Results to plot: the CDNOW sample's lifetime models and a demo store's analyses.

matplotlib is the ``plot`` extra; without it the tests of this folder that draw are
skipped, the SVG ones still run.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from custmgmt.analytics.clv import ClvReport, analyse_clv
from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import main
from custmgmt.cli.demo import DEFAULT_AS_OF

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample.csv"


@pytest.fixture
def pyplot() -> Iterator[Any]:
    """pyplot on the Agg backend (no display); every figure closed afterwards."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="session")
def cdnow_orders() -> OrderFrame:
    return OrderFrame.from_csv(CDNOW, currency="USD", tz="UTC")


@pytest.fixture(scope="session")
def cdnow_clv(cdnow_orders: OrderFrame) -> ClvReport:
    """BG/NBD and Pareto/NBD on CDNOW as the literature fits them: weeks, purchases
    merged per day, calibration to 1997-09-30, holdout to 1998-06-30."""
    pytest.importorskip("scipy")
    return analyse_clv(cdnow_orders, as_of=datetime(1998, 6, 30, 23, tzinfo=UTC),
                       calibration_end=datetime(1997, 9, 30, 23, tzinfo=UTC), unit="week",
                       period="day", models=("bg", "pnbd"), time_limit=None)


@attrs.frozen(kw_only=True)
class Demo:
    """The analyses of a demo store."""

    orders: OrderFrame
    as_of: datetime
    rating: Any
    rfm: Any
    migration: Any
    kpi: Any
    clv: ClvReport


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A demo SQLite store of 150 customers (``custmgmt demo``) and its analyses: a
    rating run after the demo's (so stars move), RFM scores, the value tiers'
    migration over the last quarter, the KPI report and the lifetime models."""
    pytest.importorskip("scipy")
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.kpi import KpiInputs, KpiReport
    from custmgmt.notebook import analyses
    from custmgmt.rating import RatingPolicy
    from custmgmt.rating.services import rate_store
    from custmgmt.segmentation.migration import migrate
    from custmgmt.segmentation.presets import value_tiers
    from custmgmt.tickets import default_calendar, default_sla_policy

    db = tmp_path_factory.mktemp("plots-demo") / "demo.sqlite3"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["demo", "--db", str(db), "--customers", "150"]) == 0
    as_of = DEFAULT_AS_OF
    store = SQLiteStore(db)
    try:
        # A run half a year before the demo's "now" and one the day before: stars
        # move in between (new customers, rises; hysteresis holds drops back).
        earlier, later = as_of - timedelta(days=182), as_of - timedelta(days=1)
        rate_store(store, RatingPolicy.default(), as_of=earlier, currency="CNY",
                   created_at=earlier)
        rating, _ = rate_store(store, RatingPolicy.default(), as_of=later, currency="CNY",
                               created_at=later, save=False)
        inputs = KpiInputs.from_store(store, currency="CNY", as_of=as_of,
                                      sla_policy=default_sla_policy(),
                                      calendar=default_calendar())
        orders = OrderFrame.from_store(store, currency="CNY")
        clv = analyse_clv(store, as_of=as_of, models=("bg", "pnbd"), unit="week",
                          time_limit=None)
    finally:
        store.close()
    from custmgmt.cli.report import default_periods

    baseline, current = default_periods(as_of)
    return Demo(
        orders=orders, as_of=as_of, rating=rating,
        rfm=analyses.rfm(orders, as_of=as_of),
        migration=migrate(value_tiers(), orders, start=as_of - timedelta(days=91), end=as_of),
        kpi=KpiReport.build(inputs, baseline=baseline, current=current, as_of=as_of),
        clv=clv,
    )
