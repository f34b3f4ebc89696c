"""Exports of every per-customer result: pandas, polars and Arrow share one column
declaration; money comes out as minor units or decimals by choice; the top-level
one-call analyses from a DataFrame equal the array path customer by customer."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from _notebook_data import AS_OF, dataframe, random_data
from hypothesis import given
from hypothesis import strategies as st

import custmgmt
from custmgmt.analytics.clv import analyse_clv
from custmgmt.analytics.features import customer_features
from custmgmt.churn import ChurnEngine
from custmgmt.errors import MissingDependency, ValidationError
from custmgmt.notebook.dataframes import FrameExport, MoneyColumn, to_arrow, to_pandas, to_polars
from custmgmt.rating import RatingPolicy
from custmgmt.rating.result import rate
from custmgmt.segmentation.clustering import cluster_customers
from custmgmt.segmentation.inputs import add_derived_features
from custmgmt.segmentation.presets import value_tiers
from custmgmt.segmentation.rfm import RFM
from custmgmt.tickets import (
    DEFAULT_WORKFLOW,
    Ticket,
    TicketEvent,
    default_calendar,
    default_sla_policy,
)
from custmgmt.tickets.satisfaction import ticket_statistics
from custmgmt.tickets.sla_vectorised import sla_status_many

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return random_data(
        seed=3, customers=300, first_id=5000, most_orders=6, amounts=(100, 90_000),
        interactions=500, days=200,
    )  # fmt: skip


#: Walks through the workflow, some with responses and waits on the customer.
_PATHS: tuple[tuple[tuple[TicketEvent, dict[str, Any]], ...], ...] = (
    (),
    ((TicketEvent.ASSIGN, {"assignee": "a-1"}),),
    ((TicketEvent.ASSIGN, {"assignee": "a-1"}), (TicketEvent.START, {}),
     (TicketEvent.RESPOND, {})),
    ((TicketEvent.ASSIGN, {"assignee": "a-1"}), (TicketEvent.START, {}),
     (TicketEvent.WAIT_ON_CUSTOMER, {}), (TicketEvent.CUSTOMER_REPLIED, {})),
    ((TicketEvent.ASSIGN, {"assignee": "a-1"}), (TicketEvent.START, {}),
     (TicketEvent.RESOLVE, {"solution": "换新"})),
)


def _tickets(n: int = 10) -> list[Ticket]:
    opened = datetime(2024, 12, 23, 2, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        at = opened + timedelta(hours=3 * i)
        t = Ticket.open(id=f"T-{i}", customer_id=f"c-{i % 4}", category="logistics",
                        priority=("low", "normal", "high")[i % 3], subject="快递",
                        at=at, actor="web")
        for event, extra in _PATHS[i % len(_PATHS)]:
            at += timedelta(minutes=20 + 13 * i)
            t = DEFAULT_WORKFLOW.fire(t, event, at=at, actor="a-1", **extra)
        out.append(t)
    return out


@pytest.fixture(scope="module")
def results(data: dict[str, Any]) -> dict[str, FrameExport]:
    table = data["table"]
    segments = value_tiers().assign(table)
    tickets = _tickets()
    return {
        "Rating": rate(RatingPolicy.default(), table, as_of=AS_OF),
        "Segmentation": segments,
        "RFMScores": RFM().score(table),
        "Clustering": cluster_customers(table, k=3),
        "ChurnReport": ChurnEngine().evaluate(data["orders"], data["interactions"], as_of=AS_OF),
        "ClvReport": analyse_clv(data["orders"], as_of=AS_OF, models=("bg", "gg"),
                                 time_limit=None),
        "TicketStatistics": ticket_statistics(tickets, AS_OF),
        "SLAStatusFrame": sla_status_many(tickets, default_sla_policy(), default_calendar(),
                                          AS_OF),
    }


def _plain(value: Any) -> Any:
    """A cell as a comparable Python value (missing -> None)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


# -- one declaration, three exports --------------------------------------------------


def test_every_result_exports_the_same_table_to_pandas_polars_and_arrow(
    results: dict[str, FrameExport],
) -> None:
    for name, result in results.items():
        pandas_df = result.to_pandas()
        polars_df = result.to_polars()
        arrow = result.to_arrow()
        assert isinstance(arrow, pa.Table), name
        assert list(pandas_df.columns) == polars_df.columns == arrow.column_names, name
        assert len(pandas_df) == polars_df.height == arrow.num_rows, name
        for column in arrow.column_names:
            expected = [_plain(v) for v in pandas_df[column].astype(object).tolist()]
            assert [_plain(v) for v in arrow.column(column).to_pylist()] == expected, (
                name, column)
            assert [_plain(v) for v in polars_df[column].to_list()] == expected, (name, column)


def test_arrow_shares_the_numeric_columns_and_encodes_labels_and_times(
    results: dict[str, FrameExport],
) -> None:
    rating = results["Rating"]
    arrow = rating.to_arrow()  # type: ignore[attr-defined]
    for column, values in (("score", rating.score), ("stars", rating.stars)):  # type: ignore[attr-defined]
        chunk = arrow.column(column).chunk(0)
        assert np.shares_memory(chunk.to_numpy(zero_copy_only=True), values)
    churn = results["ChurnReport"]
    chunk = churn.to_arrow().column("score").chunk(0)
    assert np.shares_memory(chunk.to_numpy(zero_copy_only=True), churn.score)  # type: ignore[attr-defined]
    segments = results["Segmentation"].to_arrow()
    assert pa.types.is_dictionary(segments.schema.field("segment").type)
    sla = results["SLAStatusFrame"].to_arrow()
    assert sla.schema.field("resolution_due_at").type == pa.timestamp("us", tz="UTC")


def test_without_pyarrow_to_arrow_names_the_extra(
    results: dict[str, FrameExport], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    with pytest.raises(MissingDependency) as caught:
        results["Rating"].to_arrow()
    assert caught.value.extra == "arrow"
    assert "pip install 'custmgmt[arrow]'" in str(caught.value)


# -- money ------------------------------------------------------------------------


def test_money_as_computed_is_shared_and_as_decimals_is_exact_to_the_cent(
    results: dict[str, FrameExport],
) -> None:
    report = results["ClvReport"]
    assert report.clv is not None  # type: ignore[attr-defined]
    clv = np.asarray(report.clv)  # type: ignore[attr-defined]
    assert np.shares_memory(report.to_pandas()["clv"].to_numpy(), clv)
    decimals = report.to_pandas(money="decimal")["clv"].tolist()
    minor = report.to_pandas(money="minor")["clv"]
    arrow = report.to_arrow(money="decimal").column("clv")
    assert arrow.type == pa.decimal128(38, 2)
    polars = report.to_polars(money="decimal")["clv"]
    assert polars.dtype == pl.Decimal(38, 2)
    for value, dec, cents, a, p in zip(clv.tolist(), decimals, minor.tolist(),
                                       arrow.to_pylist(), polars.to_list(), strict=True):
        if value != value:
            assert dec is None
            assert cents is pd.NA
            assert a is None
            assert p is None
            continue
        assert isinstance(dec, Decimal)
        assert dec.as_tuple().exponent == -2
        assert abs(dec - Decimal(value)) <= Decimal("0.005")
        assert dec == a == p == Decimal(int(cents)).scaleb(-2)


def test_rfm_monetary_is_money_in_the_features_currency(
    results: dict[str, FrameExport], data: dict[str, Any]
) -> None:
    scores = results["RFMScores"]
    assert scores.currency == "CNY"  # type: ignore[attr-defined]
    df = scores.to_pandas(money="minor")
    buyers = ~np.isnan(scores.monetary)  # type: ignore[attr-defined]
    # The slow way: each buyer's net spend summed order by order, in fen.
    spend: dict[int, int] = {}
    for cid, amount in zip(data["cols"]["customer_id"].tolist(),
                           data["cols"]["amount"].tolist(), strict=True):
        spend[cid] = spend.get(cid, 0) + amount
    got = dict(zip(df["customer_id"].tolist(), df["monetary"].tolist(), strict=True))
    ids = np.asarray(scores.customer_ids)[buyers].tolist()  # type: ignore[attr-defined]
    assert ids
    assert all(got[c] == spend[c] for c in ids)


def test_exact_minor_units_are_shared_in_every_library() -> None:
    cents = np.array([150, -2, 0, 12_345_678_901_234], dtype=np.int64)
    columns = {"spend": MoneyColumn(cents, "CNY")}
    pandas_df = to_pandas(columns, purpose="test", money="minor")
    assert np.shares_memory(pandas_df["spend"].to_numpy(), cents)
    assert np.shares_memory(to_polars(columns, purpose="test", money="minor")["spend"]
                            .to_numpy(), cents)
    chunk = to_arrow(columns, purpose="test", money="minor").column("spend").chunk(0)
    assert np.shares_memory(chunk.to_numpy(zero_copy_only=True), cents)
    assert to_pandas(columns, purpose="test", money="decimal")["spend"].tolist() == [
        Decimal("1.50"), Decimal("-0.02"), Decimal("0.00"), Decimal("123456789012.34")]


@given(
    st.lists(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), max_size=40),
    st.sampled_from(["CNY", "JPY", "KWD"]),
)
def test_decimals_equal_the_minor_units_scaled_in_every_library(
    values: list[int], currency: str
) -> None:
    digits = {"CNY": 2, "JPY": 0, "KWD": 3}[currency]
    column = MoneyColumn(np.asarray(values, dtype=np.int64), currency)
    expected = [Decimal(v) / Decimal(10) ** digits for v in values]
    got_arrow = to_arrow({"m": column}, purpose="t", money="decimal").column("m").to_pylist()
    got_polars = to_polars({"m": column}, purpose="t", money="decimal")["m"].to_list()
    got_pandas = to_pandas({"m": column}, purpose="t", money="decimal")["m"].tolist()
    assert got_arrow == got_polars == got_pandas == expected
    assert all(d.as_tuple().exponent == -digits for d in got_arrow)


def test_polars_decimals_without_pyarrow_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    column = MoneyColumn(np.array([np.nan, 1.005, -2.5, 123.456]), "CNY", "major")
    with_arrow = to_polars({"m": column}, purpose="t", money="decimal")["m"].to_list()
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    without = to_polars({"m": column}, purpose="t", money="decimal")["m"].to_list()
    assert with_arrow == without
    assert without[0] is None
    assert without[2] == Decimal("-2.50")


@given(st.lists(st.one_of(st.none(), st.floats(min_value=-1e9, max_value=1e9)), max_size=30))
def test_float_estimates_round_to_the_nearest_minor_unit_and_missing_stays_missing(
    values: list[float | None],
) -> None:
    raw = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    column = MoneyColumn(raw, "USD", "major")
    pandas_minor = to_pandas({"m": column}, purpose="t", money="minor")["m"].tolist()
    arrow_minor = to_arrow({"m": column}, purpose="t", money="minor").column("m").to_pylist()
    polars_minor = to_polars({"m": column}, purpose="t", money="minor")["m"].to_list()
    arrow_dec = to_arrow({"m": column}, purpose="t", money="decimal").column("m").to_pylist()
    for v, a, p, q, d in zip(values, pandas_minor, arrow_minor, polars_minor, arrow_dec,
                             strict=True):
        if v is None:
            assert a is pd.NA
            assert p is None
            assert q is None
            assert d is None
            continue
        # Nearest cent to the float's exact value (ties may go either way by 1 ulp).
        assert abs(Decimal(int(a)) - Decimal(v) * 100) <= Decimal("0.5000001")
        assert a == p == q
        assert d == Decimal(int(a)).scaleb(-2)


def test_an_unknown_money_unit_is_refused_naming_the_argument(
    results: dict[str, FrameExport],
) -> None:
    for export in ("to_pandas", "to_polars", "to_arrow"):
        with pytest.raises(ValidationError, match="money"):
            getattr(results["ClvReport"], export)(money="cents")


# -- one call from a DataFrame --------------------------------------------------------


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_the_top_level_calls_from_a_dataframe_equal_the_array_path(
    data: dict[str, Any], library: str
) -> None:
    orders_df = dataframe(library, data["cols"], "placed_at")
    inter_df = dataframe(library, data["inter"], "at")
    table = data["table"]
    orders_only = add_derived_features(customer_features(data["orders"], as_of=AS_OF))

    policy = RatingPolicy.default()
    got = custmgmt.rate(orders_df, policy, inter_df, as_of=AS_OF)
    want = rate(policy, table, as_of=AS_OF)
    pd.testing.assert_frame_equal(got.to_pandas(), want.to_pandas())

    got_seg = custmgmt.segment(orders_df, value_tiers(), inter_df, as_of=AS_OF)
    pd.testing.assert_frame_equal(got_seg.to_pandas(), value_tiers().assign(table).to_pandas())

    got_rfm = custmgmt.rfm(orders_df, as_of=AS_OF)
    pd.testing.assert_frame_equal(got_rfm.to_pandas(money="decimal"),
                                  RFM().score(orders_only).to_pandas(money="decimal"))

    got_churn = custmgmt.churn_flags(orders_df, inter_df, as_of=AS_OF)
    want_churn = ChurnEngine().evaluate(data["orders"], data["interactions"], as_of=AS_OF)
    pd.testing.assert_frame_equal(got_churn.to_pandas(), want_churn.to_pandas())

    got_clv = custmgmt.clv(orders_df, as_of=AS_OF, models=("bg", "gg"), time_limit=None)
    want_clv = analyse_clv(data["orders"], as_of=AS_OF, models=("bg", "gg"), time_limit=None)
    pd.testing.assert_frame_equal(got_clv.to_pandas(money="decimal"),
                                  want_clv.to_pandas(money="decimal"))


def _ticket_frames(tickets: list[Ticket], library: str) -> tuple[Any, Any]:
    ticket_rows = {
        "ticket_id": [t.id for t in tickets],
        "created_at": [t.created_at for t in tickets],
        "priority": [t.priority.value for t in tickets],
        "category": [t.category.value for t in tickets],
    }
    events = [(t.id, e) for t in tickets for e in t.events]
    # Interleave the tickets' rows: only each ticket's own order matters.
    events.sort(key=lambda pair: pair[1].at)
    event_rows = {
        "ticket_id": [tid for tid, _ in events],
        "at": [e.at for _, e in events],
        "event": [e.event.value for _, e in events],
        "from_status": [None if e.from_status is None else e.from_status.value
                        for _, e in events],
        "to_status": [e.to_status.value for _, e in events],
    }
    if library == "pandas":
        return pd.DataFrame(ticket_rows), pd.DataFrame(event_rows)
    return pl.DataFrame(ticket_rows), pl.DataFrame(event_rows)


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_sla_status_from_dataframes_equals_the_ticket_objects_path(library: str) -> None:
    tickets = _tickets(12)
    ticket_df, event_df = _ticket_frames(tickets, library)
    for as_of in (AS_OF - timedelta(days=8), AS_OF, AS_OF + timedelta(days=5)):
        as_of = max(as_of, max(t.created_at for t in tickets))
        got = custmgmt.sla_status(ticket_df, event_df, as_of=as_of)
        want = sla_status_many(tickets, default_sla_policy(), default_calendar(), as_of)
        pd.testing.assert_frame_equal(got.to_pandas(), want.to_pandas())


def test_sla_dataframes_that_do_not_describe_tickets_are_refused() -> None:
    tickets = _tickets(3)
    ticket_df, event_df = _ticket_frames(tickets, "pandas")
    with pytest.raises(ValidationError, match=r"events\.ticket_id"):
        custmgmt.sla_status(ticket_df, event_df.assign(ticket_id="T-99"), as_of=AS_OF)
    with pytest.raises(ValidationError, match=r"tickets\['T-2'\]\.events"):
        custmgmt.sla_status(ticket_df, event_df[event_df["ticket_id"] != "T-2"], as_of=AS_OF)
    with pytest.raises(ValidationError, match="one row per ticket"):
        custmgmt.sla_status(pd.concat([ticket_df, ticket_df]), event_df, as_of=AS_OF)
    with pytest.raises(ValidationError, match=r"tickets\.priority"):
        custmgmt.sla_status(ticket_df.drop(columns="priority"), event_df, as_of=AS_OF)
    early = event_df.copy()
    early.loc[early["ticket_id"] == "T-1", "at"] = tickets[1].created_at - timedelta(hours=1)
    with pytest.raises(ValidationError, match=r"tickets\['T-1'\]\.events\[0\]\.at"):
        custmgmt.sla_status(ticket_df, early, as_of=AS_OF)
    naive = ticket_df.assign(created_at=ticket_df["created_at"].dt.tz_localize(None))
    with pytest.raises(ValidationError, match="created_at"):
        custmgmt.sla_status(naive, event_df, as_of=AS_OF)
    with pytest.raises(ValidationError, match="tickets"):
        custmgmt.sla_status([1, 2], event_df, as_of=AS_OF)
