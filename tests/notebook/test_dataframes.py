"""DataFrames in and out: the DataFrame path equals the array path; results convert back
without copying numeric columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from _notebook_data import AS_OF, dataframe, random_data

from custmgmt.analytics.features import customer_features
from custmgmt.churn import ChurnEngine
from custmgmt.errors import ValidationError
from custmgmt.notebook import analyses
from custmgmt.rating import RatingPolicy
from custmgmt.rating.result import rate
from custmgmt.segmentation.clustering import cluster_customers
from custmgmt.segmentation.inputs import add_derived_features
from custmgmt.segmentation.presets import value_tiers
from custmgmt.segmentation.rfm import RFM

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return random_data(
        seed=0, customers=400, first_id=1000, most_orders=5, amounts=(1_000, 50_000),
        interactions=600, days=300,
    )  # fmt: skip


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_the_dataframe_path_gives_the_array_paths_results(
    data: dict[str, Any], library: str
) -> None:
    orders_df = dataframe(library, data["cols"], "placed_at")
    inter_df = dataframe(library, data["inter"], "at")
    table = data["table"]

    rating = analyses.rate(orders_df, interactions=inter_df, as_of=AS_OF)
    expected = rate(RatingPolicy.default(), table, as_of=AS_OF)
    np.testing.assert_array_equal(rating.customer_ids, expected.customer_ids)
    np.testing.assert_array_equal(rating.stars, expected.stars)
    np.testing.assert_array_equal(rating.score, expected.score)

    segments = analyses.segment(orders_df, interactions=inter_df, as_of=AS_OF)
    np.testing.assert_array_equal(segments.codes, value_tiers().assign(table).codes)

    scores = analyses.rfm(orders_df, as_of=AS_OF)
    reference = RFM().score(add_derived_features(
        customer_features(data["orders"], as_of=AS_OF)))
    np.testing.assert_array_equal(scores.codes, reference.codes)
    np.testing.assert_array_equal(scores.r, reference.r)

    flags = analyses.churn(orders_df, inter_df, as_of=AS_OF)
    ref_flags = ChurnEngine().evaluate(data["orders"], data["interactions"], as_of=AS_OF)
    np.testing.assert_array_equal(flags.risk, ref_flags.risk)
    np.testing.assert_array_equal(flags.fired, ref_flags.fired)


def test_anything_but_a_dataframe_or_frame_is_refused() -> None:
    with pytest.raises(ValidationError, match="orders"):
        analyses.rate({"customer_id": [1]}, as_of=AS_OF)
    with pytest.raises(ValidationError, match="interactions"):
        analyses.interaction_frame([1, 2])


def test_results_convert_to_pandas_sharing_their_numeric_columns(
    data: dict[str, Any],
) -> None:
    table = data["table"]
    rating = rate(RatingPolicy.default(), table, as_of=AS_OF)
    df = rating.to_pandas()
    assert np.shares_memory(df["score"].to_numpy(), rating.score)
    assert np.shares_memory(df["stars"].to_numpy(), rating.stars)

    scores = RFM().score(table)
    rfm_df = scores.to_pandas()
    assert np.shares_memory(rfm_df["recency"].to_numpy(), scores.recency)
    assert list(rfm_df["segment"].astype(str)) == list(scores.labels)
    assert rfm_df["r"].tolist() == scores.r.tolist()

    segments = value_tiers().assign(table)
    seg_df = segments.to_pandas()
    assert list(seg_df["segment"].astype(str)) == list(segments.labels)
    assert seg_df["customer_id"].tolist() == segments.customer_ids.tolist()
    assert seg_df["segment"].value_counts().to_dict() == segments.sizes()

    clusters = cluster_customers(table, k=3)
    assert clusters.to_pandas()["cluster"].tolist() == clusters.labels.tolist()

    flags = ChurnEngine().evaluate(data["orders"], data["interactions"], as_of=AS_OF)
    churn_df = flags.to_pandas()
    assert np.shares_memory(churn_df["score"].to_numpy(), flags.score)
    explained = flags.explain(flags.customer_ids[int(np.argmax(flags.score))])
    row = churn_df.loc[int(np.argmax(flags.score))]
    assert row["risk"] == explained.risk.label
    assert row["reason"] == explained.reason.value
    assert row["flagged"] == bool(explained.fired)
    for rule in flags.rules:
        assert churn_df[f"fired_{rule.name}"].sum() == flags.rule_counts()[rule.name]
    assert churn_df.loc[~churn_df["flagged"], "reason"].isna().all()


def test_results_convert_to_polars_with_the_same_values(data: dict[str, Any]) -> None:
    table = data["table"]
    rating = rate(RatingPolicy.default(), table, as_of=AS_OF)
    pl_df, pd_df = rating.to_polars(), rating.to_pandas()
    assert pl_df.columns == list(pd_df.columns)
    np.testing.assert_array_equal(pl_df["score"].to_numpy(), pd_df["score"].to_numpy())
    assert np.shares_memory(pl_df["score"].to_numpy(), rating.score)

    segments = value_tiers().assign(table)
    assert segments.to_polars()["segment"].to_list() == list(segments.labels)
    scores = RFM().score(table)
    assert scores.to_polars()["segment"].to_list() == list(scores.labels)
    flags = ChurnEngine().evaluate(data["orders"], data["interactions"], as_of=AS_OF)
    polars_flags = flags.to_polars()
    assert polars_flags["risk"].to_list() == flags.to_pandas()["risk"].astype(str).tolist()
    assert polars_flags["reason"].null_count() == int((~flags.flagged).sum())


def test_the_clv_report_converts_with_its_predictions(data: dict[str, Any]) -> None:
    from custmgmt.analytics.clv import analyse_clv

    report = analyse_clv(data["orders"], as_of=AS_OF, models=("bg", "gg"), time_limit=None)
    assert report.clv is not None
    assert report.alive is not None
    df = report.to_pandas()
    assert list(df.columns) == ["customer_id", "frequency", "recency", "T",
                                "monetary_value", "p_alive", "clv"]
    assert np.shares_memory(df["clv"].to_numpy(), report.clv)
    np.testing.assert_array_equal(df["frequency"].to_numpy(), report.summary.frequency)
    polars_df = report.to_polars()
    np.testing.assert_array_equal(polars_df["p_alive"].to_numpy(), report.alive)
    assert polars_df["customer_id"].to_list() == df["customer_id"].tolist()


def test_ticket_statistics_convert_with_one_row_per_customer() -> None:
    from custmgmt.tickets import Ticket
    from custmgmt.tickets.satisfaction import ticket_statistics

    tickets = [
        Ticket.open(id=f"T-{i}", customer_id=f"c-{i % 3}", category="logistics",
                    priority="normal", subject="快递没有更新", at=AS_OF - timedelta(hours=i + 1),
                    actor="web")
        for i in range(7)
    ]
    stats = ticket_statistics(tickets, AS_OF)
    df = stats.to_pandas()
    assert df["customer_id"].tolist() == ["c-0", "c-1", "c-2"]
    assert df["tickets"].tolist() == [3, 2, 2]
    assert np.shares_memory(df["tickets"].to_numpy(), stats.tickets)
    for row in df.to_dict("records"):
        expected = stats.row(row.pop("customer_id"))
        assert row.keys() == expected.keys()
        assert all(row[k] == expected[k] or (row[k] != row[k] and expected[k] != expected[k])
                   for k in row)
    assert stats.to_polars()["tickets"].to_list() == [3, 2, 2]


def test_the_sla_status_frame_converts_one_row_per_ticket_like_the_slow_path() -> None:
    from custmgmt.tickets import Ticket, default_calendar, default_sla_policy
    from custmgmt.tickets.sla_vectorised import sla_status_many

    opened = datetime(2024, 9, 23, 2, 0, tzinfo=UTC)
    tickets = []
    for i in range(9):
        t = Ticket.open(id=f"T-{i}", customer_id=f"c-{i}", category="logistics",
                        priority=("low", "normal", "high")[i % 3], subject="快递",
                        at=opened + timedelta(hours=5 * i), actor="web")
        tickets.append(t)
    frame = sla_status_many(tickets, default_sla_policy(), default_calendar(),
                            opened + timedelta(days=3))
    df = frame.to_pandas()
    assert len(df) == len(tickets)
    for i, row in df.iterrows():
        status = frame.status(int(i))
        assert row["ticket_id"] == status.ticket_id
        assert row["priority"] == getattr(status.priority, "value", status.priority)
        for name in ("first_response", "next_response", "resolution"):
            target = getattr(status, name)
            if target is None:
                assert pd.isna(row[f"{name}_state"])
                continue
            assert row[f"{name}_state"] == target.state.value
            assert row[f"{name}_breaches"] == target.breaches
            if target.due_at is None:
                assert pd.isna(row[f"{name}_due_at"])
            else:
                assert row[f"{name}_due_at"].to_pydatetime() == target.due_at
    assert df["resolution_due_at"].notna().all()
    assert df["resolution_state"].nunique() >= 1
    polars_df = frame.to_polars()
    assert polars_df["resolution_state"].to_list() == df["resolution_state"].astype(
        object).where(df["resolution_state"].notna(), None).tolist()
    assert str(polars_df["resolution_due_at"].dtype) == "Datetime(time_unit='us', time_zone='UTC')"
