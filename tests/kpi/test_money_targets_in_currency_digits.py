"""A money target's level is in major units of the report's currency and is printed at
its minor-unit digits: 3 for KWD, 0 for JPY, 2 for CNY and USD.

It was printed with ``:g`` (``net_sales >= 1.23457e+06``) and compared with the money
figures in minor units, so ``average_order_value >= 36.5`` was met by an AOV of 35.278
KWD (35278 fils >= 36.5).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import main
from custmgmt.errors import ValidationError
from custmgmt.kpi import KpiInputs, KpiReport, Period, Target
from custmgmt.kpi.figures import Figure
from custmgmt.kpi.targets import evaluate

BASE = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
CUR = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
AS_OF = datetime(2026, 6, 30, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("target", "currency", "text"),
    [(Target("net_sales", "level", 1234567.891), "KWD", "net_sales >= 1,234,567.891 KWD"),
     (Target("average_order_value", "level", 36.5), "KWD", "average_order_value >= 36.500 KWD"),
     (Target("net_sales", "level", 1234567), "JPY", "net_sales >= 1,234,567 JPY"),
     (Target("net_sales", "level", 1234567.5), "CNY", "net_sales >= 1,234,567.50 CNY"),
     (Target("average_order_value", "level", 12), "USD", "average_order_value >= 12.00 USD"),
     (Target("net_sales", "level", 1234567.891), None, "net_sales >= 1,234,567.891"),
     (Target("orders", "level", 1500), "KWD", "orders >= 1500"),
     (Target("net_sales", "change", 0.1), "KWD", "net_sales +10% vs baseline")],
)  # fmt: skip
def test_a_money_level_is_described_at_the_currency_digits(
    target: Target, currency: str | None, text: str
) -> None:
    assert target.describe(currency) == text


def _report(currency: str, amounts: list[int], targets: list[Target]) -> KpiReport:
    n = len(amounts)
    orders = OrderFrame.from_arrays(
        customer_id=np.arange(1, n + 1),
        placed_at=np.array(["2026-05-01"] * n, dtype="datetime64[D]"),
        amount=np.array(amounts, dtype=np.int64),
        currency=currency,
    )
    return KpiReport.build(
        KpiInputs(orders=orders), baseline=BASE, current=CUR, as_of=AS_OF, targets=targets
    )


@pytest.mark.parametrize(
    ("currency", "amounts", "met", "not_met"),
    [("KWD", [36_500, 36_499], 36.499, 36.5),  # AOV 36.4995 KWD
     ("JPY", [3_527, 3_528], 3_527, 3_528),  # AOV 3,527.5 JPY
     ("CNY", [1_000, 1_001], 10.0, 10.01),  # AOV 10.005 CNY
     ("USD", [1_000, 1_001], 10.005, 10.006)],
)  # fmt: skip
def test_an_aov_level_is_met_in_major_units(
    currency: str, amounts: list[int], met: float, not_met: float
) -> None:
    report = _report(
        currency, amounts,
        [Target("average_order_value", "level", met),
         Target("average_order_value", "level", not_met)],
    )  # fmt: skip
    assert [r.status for r in report.targets] == ["met", "not met"]


@pytest.mark.parametrize(
    ("currency", "amounts", "total", "just_above"),
    [("KWD", [1_234_567_891], 1234567.891, 1234567.892),
     ("JPY", [1_834_190], 1834190, 1834191),
     ("CNY", [1_834_190], 18341.90, 18341.91),
     ("USD", [10**15 - 1], 9999999999999.99, 10**13)],
)  # fmt: skip
def test_a_net_sales_level_is_met_exactly_at_the_total(
    currency: str, amounts: list[int], total: float, just_above: float
) -> None:
    report = _report(
        currency, amounts,
        [Target("net_sales", "level", total), Target("net_sales", "level", just_above)],
    )  # fmt: skip
    assert [r.status for r in report.targets] == ["met", "not met"]


def test_the_text_report_prints_the_money_target_at_the_currency_digits() -> None:
    report = _report("KWD", [35_278], [Target("average_order_value", "level", 36.5)])
    (line,) = [ln for ln in report.to_text().splitlines() if "average_order_value" in ln]
    assert "[   not met    ] average_order_value >= 36.500 KWD" in line
    assert "35.278 KWD" in line
    assert "- average_order_value >= 36.500 KWD: not met" in report.summary()
    assert "average_order_value &gt;= 36.500 KWD" in report.to_html()


def test_evaluate_refuses_an_unknown_currency_naming_it() -> None:
    figure = Figure(value=100.0, unit="money")
    with pytest.raises(ValidationError, match="'XXY'"):
        evaluate(Target("net_sales", "level", 1.0), figure, figure, currency="XXY")


def test_the_targets_file_of_the_report_command_reads_major_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,placed_at,amount\na,2026-02-01,40.000\nb,2026-05-01,35.278\n",
        encoding="utf-8",
    )
    targets = tmp_path / "targets.json"
    targets.write_text('[{"kpi": "average_order_value", "kind": "level", "value": 36.5}]',
                       encoding="utf-8")
    args = ["report", str(orders), "--currency", "KWD", "--as-of", "2026-06-30",
            "--from", "2026-04-01", "--to", "2026-06-30",
            "--baseline-from", "2026-01-01", "--baseline-to", "2026-03-31",
            "--targets", str(targets)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[   not met    ] average_order_value >= 36.500 KWD" in out
