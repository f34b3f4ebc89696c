"""Money in the analyst printouts shows its currency's minor-unit digits: 3 for KWD, 0 for
JPY, 2 for CNY and USD; counts, days and percentages keep their formatting.

Each test names the printout that rounded money to cents before (churn explanations,
segment-rule explanations, the cluster means of ``custmgmt segment --clusters``, the
``monetary`` column of ``segment --out``).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.analytics.frames import OrderFrame
from custmgmt.churn import ChurnEngine
from custmgmt.churn.rules import SpendDrop
from custmgmt.cli import main
from custmgmt.cli.segment import format_clusters
from custmgmt.domain.money import MajorAmount, format_money
from custmgmt.errors import ValidationError
from custmgmt.segmentation import feature, segment_features
from custmgmt.segmentation.clustering import Clustering, ClusterProfile
from custmgmt.segmentation.rules import format_number
from custmgmt.segmentation.table import Columns

AS_OF = datetime(2025, 5, 1, 23, 59, tzinfo=UTC)
DIGITS = {"KWD": 3, "JPY": 0, "CNY": 2, "USD": 2}


# -- the formatting itself ------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [(1.234, "KWD", "1.234"), (12.996, "KWD", "12.996"), (1.2, "KWD", "1.200"),
     (1234567.891, "KWD", "1,234,567.891"), (1234.0, "JPY", "1,234"),
     (13.0, "CNY", "13.00"), (1234.5, "USD", "1,234.50"), (-0.0004, "KWD", "0.000"),
     (float("nan"), "KWD", "missing")],
)  # fmt: skip
def test_format_money_shows_exactly_the_currency_digits(
    value: float, currency: str, shown: str
) -> None:
    # an explanation words a missing amount; format_money leaves that to its callers
    assert format_number(MajorAmount(value, currency)) == shown
    if value == value:
        assert format_money(value, currency) == shown


@given(
    # 15 significant digits survive a float64 (DBL_DIG); 2**53 minor units need 16.
    minor=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    currency=st.sampled_from(sorted(DIGITS)),
)
def test_an_amount_from_minor_units_prints_back_its_exact_digits(
    minor: int, currency: str
) -> None:
    digits = DIGITS[currency]
    exact = f"{Decimal(minor).scaleb(-digits):,.{digits}f}"
    assert format_money(minor / 10**digits, currency) == exact
    assert format_number(MajorAmount(minor / 10**digits, currency)) == exact


def test_a_major_amount_is_a_float_and_other_numbers_keep_their_format() -> None:
    amount = MajorAmount(1.234, "KWD")
    assert amount == 1.234
    assert isinstance(amount, float)
    assert type(amount * 2) is float  # arithmetic gives plain floats
    assert format_number(1.234) == "1.23"  # not money: at most 2 decimals, as before
    assert format_number(45.0) == "45"


def test_an_unknown_currency_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="'XXY'"):
        format_money(1.0, "XXY")
    with pytest.raises(ValidationError, match="'XXY'"):
        MajorAmount(1.0, "XXY")


# -- churn explanations -----------------------------------------------------------------
def _spend_drop_text(currency: str, previous_minor: int, current_minor: int) -> str:
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["a", "a"]),
        placed_at=np.array(["2025-01-01", "2025-04-20"], dtype="datetime64[D]"),
        amount=np.array([previous_minor, current_minor]),
        currency=currency,
    )
    report = ChurnEngine(rules=(SpendDrop(),)).evaluate(orders, as_of=AS_OF)
    assert report.currency == currency
    (fired,) = report.explain("a").fired
    return fired.text


@pytest.mark.parametrize(
    ("currency", "previous", "current", "text"),
    [("KWD", 10_000, 1_234, "1.234 vs 10.000 before: down 87.66% > 50%"),
     ("KWD", 30_000, 12_996, "12.996 vs 30.000 before: down 56.68% > 50%"),
     ("JPY", 10_000, 1_234, "1,234 vs 10,000 before: down 87.66% > 50%"),
     ("CNY", 1_000, 123, "1.23 vs 10.00 before: down 87.7% > 50%"),
     ("USD", 1_000, 123, "1.23 vs 10.00 before: down 87.7% > 50%")],
)  # fmt: skip
def test_the_spend_drop_explanation_shows_money_at_the_currency_digits(
    currency: str, previous: int, current: int, text: str
) -> None:
    # KWD 1.234 was printed "1.23", 12.996 "13", 10.000 "10"; CNY 10.00 "10".
    assert _spend_drop_text(currency, previous, current) == f"spend in the last 90 days {text}"


def test_the_explanation_keeps_plain_values_and_days_and_percentages_as_before() -> None:
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["a", "a", "b"]),
        placed_at=np.array(["2025-01-01", "2025-04-20", "2024-10-01"], dtype="datetime64[D]"),
        amount=np.array([10_000, 1_234, 5_000]),
        currency="KWD",
    )
    report = ChurnEngine().evaluate(orders, as_of=AS_OF)
    (spend,) = report.explain("a").fired
    assert spend.values["current_spend"] == pytest.approx(1.234)
    assert all(type(v) is float for v in spend.values.values())  # plain data, as before
    assert spend.text.endswith("down 87.66% > 50%")
    silent = next(f for f in report.explain("b").fired if f.rule == "no recent purchase")
    days = silent.values["silent_days"]
    assert 212.99 < days < 213  # 212.9993 days: at most 2 decimals, not KWD's 3
    assert silent.text == "no purchase for 213 days > 180"


def _write(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "orders.csv"
    lines = ["customer_id,placed_at,amount", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("currency", "previous", "current", "shown"),
    [("KWD", "30.000", "12.996", "12.996 vs 30.000"), ("JPY", "30000", "12996", "12,996 vs 30,000"),
     ("CNY", "30.00", "12.90", "12.90 vs 30.00"), ("USD", "30", "12", "12.00 vs 30.00")],
)  # fmt: skip
def test_the_segment_command_s_churn_list_shows_money_at_the_currency_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    currency: str, previous: str, current: str, shown: str,
) -> None:
    path = _write(tmp_path, [("a", "2025-01-01", previous), ("a", "2025-04-20", current)])
    args = ["segment", str(path), "--currency", currency, "--as-of", "2025-05-01"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"spend in the last 90 days {shown} before" in printed


# -- segment-rule explanations --------------------------------------------------------------
@pytest.mark.parametrize(
    ("currency", "amount", "text"),
    [("KWD", 1_234, "annual spend 1.234 > 1.000"), ("JPY", 1_234, "annual spend 1,234 > 1,000"),
     ("CNY", 1_234, "annual spend 12.34 > 1.00"), ("USD", 1_234, "annual spend 12.34 > 1.00")],
)  # fmt: skip
def test_rule_explanations_show_major_unit_money_at_the_currency_digits(
    currency: str, amount: int, text: str
) -> None:
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["a"]), placed_at=np.array(["2025-04-20"], dtype="datetime64[D]"),
        amount=np.array([amount]), currency=currency,
    )
    features = segment_features(orders, as_of=AS_OF)
    threshold = 1_000 if currency == "JPY" else 1
    assert (feature("annual_spend") > threshold).explain(features, "a") == text
    between = feature("total_spend").between(threshold, 10**6)
    low, high = format_money(threshold, currency), format_money(10**6, currency)
    assert between.explain(features, "a") == (
        f"total spend {text.split()[2]} in [{low}, {high})"
    )
    # frequency is a count: as before
    assert (feature("frequency") >= 1).explain(features, "a") == "frequency 1 >= 1"


def test_a_table_without_a_currency_explains_as_before() -> None:
    table = Columns(["c1"], {"annual_spend": [52_000.125]})
    assert (feature("annual_spend") > 50_000).explain(table, "c1") == (
        "annual spend 52,000.12 > 50,000"
    )


# -- cluster means ----------------------------------------------------------------------
def _clustering(spend: float) -> Clustering:
    profile = ClusterProfile(
        cluster=0, size=3, share=1.0, revenue_share=1.0,
        means={"recency": 482.3912, "frequency": 1.3712, "total_spend": spend},
    )  # fmt: skip
    return Clustering(
        customer_ids=np.array(["a", "b", "c"]), labels=np.zeros(3, dtype=np.int64),
        features=("recency", "frequency", "total_spend"), profiles=(profile,), clusterer=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("currency", "spend", "shown"),
    [("KWD", 1018.3591, "1018.359"), ("KWD", 42.1, "42.100"), ("JPY", 101824.7, "101825"),
     ("CNY", 42.1567, "42.16"), ("USD", 42.1, "42.10"), (None, 42.1567, "42.16")],
)  # fmt: skip
def test_cluster_means_of_money_show_the_currency_digits(
    currency: str | None, spend: float, shown: str
) -> None:
    # KWD 1018.359 was printed "1018.36", JPY 101825 "101824.70".
    row = format_clusters(_clustering(spend), currency=currency).splitlines()[2].split()
    assert row[4:] == ["482.39", "1.37", shown]  # recency and frequency: 2 decimals


def test_format_clusters_refuses_an_unknown_currency() -> None:
    with pytest.raises(ValidationError, match="'XXY'"):
        format_clusters(_clustering(1.0), currency="XXY")


@pytest.mark.parametrize(
    ("currency", "amounts", "shown"),
    [("KWD", ("10.125", "20.250"), "15.188"), ("JPY", ("1013", "2025"), "1519"),
     ("CNY", ("10.10", "20.20"), "15.15"), ("USD", ("10.10", "20.20"), "15.15")],
)  # fmt: skip
def test_the_segment_command_s_clusters_show_money_at_the_currency_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    currency: str, amounts: tuple[str, str], shown: str,
) -> None:
    path = _write(tmp_path, [("a", "2025-04-20", amounts[0]), ("b", "2025-04-20", amounts[1])])
    args = ["segment", str(path), "--currency", currency, "--as-of", "2025-05-01",
            "--clusters", "1"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    table = printed[printed.index("1 behavioural clusters") :].splitlines()
    assert table[2].split()[-1] == shown


# -- the --out CSV --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [("KWD", "100.518", "100.518"), ("JPY", "10050", "10050"), ("CNY", "100.5", "100.50"),
     ("USD", "7", "7.00")],
)  # fmt: skip
def test_the_segments_csv_writes_monetary_at_the_currency_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], currency: str, amount: str, shown: str
) -> None:
    # JPY 10050 was written "10050.0", CNY 100.50 "100.5".
    path = _write(tmp_path, [("a", "2025-04-20", amount)])
    out = tmp_path / "segments.csv"
    args = ["segment", str(path), "--currency", currency, "--as-of", "2025-05-01",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    with out.open(encoding="utf-8", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["monetary"] == shown
    assert row["recency_days"] == "12.0"  # days (as_of is the end of 1 May): as before
