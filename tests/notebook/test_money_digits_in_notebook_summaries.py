"""Notebook summaries show money at the currency's minor-unit digits (KWD 3, JPY 0,
CNY 2), not to 4 significant digits: a KWD cluster mean of 1018.359 showed ``1,018``,
an RFM monetary quantile or a CLV of 1018.359 KWD the same. Counts, days and other
numbers keep their 4 significant digits.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.analytics.clv import analyse_clv
from custmgmt.analytics.features import customer_features
from custmgmt.analytics.frames import OrderFrame
from custmgmt.domain.money import MajorAmount
from custmgmt.errors import ValidationError
from custmgmt.notebook.dataframes import MoneyColumn
from custmgmt.notebook.display import Table, format_value, numeric_summary
from custmgmt.segmentation.clustering import Clustering, ClusterProfile, cluster_customers
from custmgmt.segmentation.inputs import add_derived_features
from custmgmt.segmentation.rfm import RFM
from custmgmt.segmentation.table import Columns

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
DIGITS = {"KWD": 3, "JPY": 0, "CNY": 2, "USD": 2}


# -- the formatter ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [(1018.359, "KWD", "1,018.359"), (1.2, "KWD", "1.200"), (101824.7, "JPY", "101,825"),
     (42.1567, "CNY", "42.16"), (1234567.891, "KWD", "1,234,567.891"),
     (-0.0004, "KWD", "0.000"), (math.nan, "KWD", "NaN")],
)  # fmt: skip
def test_an_amount_shows_exactly_the_currency_digits(
    value: float, currency: str, shown: str
) -> None:
    assert format_value(MajorAmount(value, currency)) == shown


def test_other_floats_keep_four_significant_digits() -> None:
    assert format_value(1018.359) == "1,018"  # the old money display, for plain numbers
    amount = MajorAmount(1018.359, "KWD")
    assert amount == 1018.359
    assert isinstance(amount, float)
    assert type(amount + 1) is float  # arithmetic gives plain floats


@given(minor=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
       currency=st.sampled_from(sorted(DIGITS)))
def test_an_amount_from_minor_units_prints_back_its_exact_digits(
    minor: int, currency: str
) -> None:
    digits = DIGITS[currency]
    exact = f"{Decimal(minor).scaleb(-digits):,.{digits}f}"
    assert format_value(MajorAmount(minor / 10**digits, currency)) == exact


def test_an_unknown_currency_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="'XXY'"):
        MajorAmount(1.0, "XXY")


def test_a_table_right_aligns_amounts_as_numbers() -> None:
    table = Table(caption="t", header=("who", "spend"),
                  rows=(("a", MajorAmount(1.5, "KWD")), ("b", MajorAmount(1018.359, "KWD"))))
    assert table.to_text().splitlines()[1:] == [
        "  who      spend", "  a        1.500", "  b    1,018.359"]


def test_a_money_column_is_summarised_at_the_currency_digits() -> None:
    minor = MoneyColumn(np.array([1_018_359, 2_000_001, 1]), "KWD")
    major = MoneyColumn(np.array([1018.359, np.nan]), "JPY", "major")
    table = numeric_summary({"spend": minor, "clv": major, "days": np.array([1.23456])})
    spend, clv, days = (tuple(format_value(v) for v in row) for row in table.rows)
    assert spend == ("spend", "3", "0", "1,006.120", "0.001", "509.180", "1,018.359",
                     "1,509.180", "2,000.001")
    assert clv == ("clv", "2", "1", "1,018", "1,018", "1,018", "1,018", "1,018", "1,018")
    assert days[3] == "1.235"  # not money: 4 significant digits, as before


# -- cluster means ----------------------------------------------------------------------------
def _clustering(spend: float, currency: str | None) -> Clustering:
    profile = ClusterProfile(
        cluster=0, size=3, share=1.0, revenue_share=1.0,
        means={"recency": 482.3912, "frequency": 1.3712, "total_spend": spend},
    )  # fmt: skip
    return Clustering(
        customer_ids=np.array(["a", "b", "c"]), labels=np.zeros(3, dtype=np.int64),
        features=("recency", "frequency", "total_spend"), profiles=(profile,), clusterer=None,
        currency=currency,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("currency", "spend", "shown"),
    [("KWD", 1018.3591, "1,018.359"), ("JPY", 101824.7, "101,825"), ("CNY", 42.1567, "42.16"),
     ("USD", 42.1, "42.10"), (None, 1018.3591, "1,018")],
)  # fmt: skip
def test_the_cluster_summary_shows_money_means_at_the_currency_digits(
    currency: str | None, spend: float, shown: str
) -> None:
    text = _clustering(spend, currency).summary()
    row = text.splitlines()[-1].split()
    assert row[4:] == ["482.4", "1.371", shown]  # recency, frequency: 4 significant digits
    assert shown in _clustering(spend, currency)._repr_html_()


def test_a_clustering_refuses_an_unknown_currency() -> None:
    with pytest.raises(ValidationError, match="'XXY'"):
        _clustering(1.0, "XXY")
    with pytest.raises(ValidationError, match="'XXY'"):
        cluster_customers(Columns(["a"], {"total_spend": [1.0]}), ["total_spend"], k=1,
                          currency="XXY")


def _orders(currency: str, amounts: list[int]) -> OrderFrame:
    n = len(amounts)
    start = int((AS_OF - timedelta(days=400)).timestamp() * 1_000_000)
    return OrderFrame.from_arrays(
        customer_id=np.repeat(np.arange(n), 2),
        placed_at=start + np.arange(2 * n, dtype=np.int64) * 86_400_000_000 * 7,
        amount=np.repeat(np.array(amounts, dtype=np.int64), 2),
        currency=currency,
    )


def test_clusters_of_kwd_features_know_their_currency() -> None:
    # Two customers of 509.180 KWD each: total spend 1,018.360; was shown "1,018".
    features = add_derived_features(customer_features(_orders("KWD", [509_180, 509_180]),
                                                      as_of=AS_OF))
    clustering = cluster_customers(features, k=1)
    assert clustering.currency == "KWD"
    assert clustering.summary().splitlines()[-1].split()[-1] == "1,018.360"
    plain = cluster_customers(Columns(["a"], {"total_spend": [1018.36]}), ["total_spend"], k=1)
    assert plain.currency is None
    assert plain.summary().splitlines()[-1].split()[-1] == "1,018"  # unknown: a number
    told = cluster_customers(Columns(["a"], {"total_spend": [1018.36]}), ["total_spend"], k=1,
                             currency="USD")
    assert told.summary().splitlines()[-1].split()[-1] == "1,018.36"


# -- RFM and CLV ---------------------------------------------------------------------------------
def _values_scored_row(text: str, name: str) -> list[str]:
    table = text[text.index("values scored") :]
    line = next(ln for ln in table.splitlines() if ln.split()[:1] == [name])
    return line.split()


@pytest.mark.parametrize(
    ("currency", "amounts", "mean"),
    [("KWD", [509_180, 1_000], "510.180"), ("JPY", [509_180, 1_000], "510,180"),
     ("CNY", [509_180, 1_000], "5,101.80")],
)  # fmt: skip
def test_the_rfm_summary_shows_monetary_at_the_currency_digits(
    currency: str, amounts: list[int], mean: str
) -> None:
    features = add_derived_features(customer_features(_orders(currency, amounts),
                                                      as_of=AS_OF))
    scores = RFM().score(features)
    assert scores.currency == currency
    text = scores._display().to_text()  # the notebook's text (summary() is the RFM table)
    row = _values_scored_row(text, "monetary")
    assert row[3] == mean  # KWD 510.180 was "510.2", JPY 510,180 "5.102e+05"
    digits = DIGITS[currency]
    assert all(re.fullmatch(r"[\d,]+" + (rf"\.\d{{{digits}}}" if digits else ""), v)
               for v in row[3:])
    recency = _values_scored_row(text, "recency")
    assert recency[3] == format_value(float(np.mean(scores.recency)))  # days: as before


def test_the_clv_summary_shows_lifetime_values_at_the_currency_digits() -> None:
    rng = np.random.default_rng(0)
    n = 60
    per = rng.integers(1, 6, n)
    ids = np.repeat(np.arange(n), per)
    days = rng.integers(0, 700, ids.size).astype(np.int64)
    start = int((AS_OF - timedelta(days=720)).timestamp() * 1_000_000)
    orders = OrderFrame.from_arrays(
        customer_id=ids, placed_at=start + days * 86_400_000_000,
        amount=rng.integers(1_000, 50_000, ids.size), currency="KWD",
    )
    report = analyse_clv(orders, as_of=AS_OF, currency="KWD", time_limit=None)
    assert report.clv is not None
    text = report._display().to_text()  # the notebook's text (.summary is the summary stage)
    row = next(ln.split() for ln in text.splitlines() if ln.strip().startswith("clv (KWD)"))
    assert all(re.fullmatch(r"[\d,]+\.\d{3}", v) for v in row[4:]), row
    assert row[4] == f"{float(np.mean(report.clv)):,.3f}"
