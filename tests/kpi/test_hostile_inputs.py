"""Hostile inputs to the KPI report: clear errors instead of tracebacks, no file of the
user's overwritten, exact money, calendar ages."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import main
from custmgmt.errors import ValidationError
from custmgmt.kpi import KpiInputs, KpiReport, Period, Target
from custmgmt.kpi.inputs import AGE_BANDS, CustomerAttributes
from custmgmt.kpi.measures import exact_sums
from custmgmt.testing import make_customer


@pytest.mark.parametrize("kpi", [["net_sales"], {"a": 1}, None, 3])
def test_a_target_whose_kpi_is_not_a_string_is_a_validation_error(kpi: object) -> None:
    with pytest.raises(ValidationError, match=r"Target\.kpi"):
        Target(kpi, "change", 0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [["change"], {"level": 1}])
def test_a_target_whose_kind_is_not_a_string_is_a_validation_error(kind: object) -> None:
    with pytest.raises(ValidationError, match=r"Target\.kind"):
        Target("net_sales", kind, 0.1)  # type: ignore[arg-type]


def test_an_integer_too_large_for_a_float_is_not_a_finite_target() -> None:
    with pytest.raises(ValidationError, match=r"Target\.value"):
        Target("net_sales", "change", 10**400)


def test_a_large_but_finite_integer_target_is_kept() -> None:
    assert Target("orders", "level", 10**20).value == 10**20


@pytest.mark.parametrize(
    "text",
    [
        '[{"kpi": ["x"], "kind": "change", "value": 1}]',
        '[{"kpi": "net_sales", "kind": {"a": 1}, "value": 1}]',
        '[{"kpi": "net_sales", "kind": "change", "value": 1' + "0" * 400 + "}]",
    ],
)
def test_report_with_a_hostile_targets_file_prints_an_error_without_a_traceback(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-01-10,100.00\n", encoding="utf-8")
    targets = tmp_path / "targets.json"
    targets.write_text(text, encoding="utf-8")
    json.loads(text)  # the file is valid JSON: the refusal is about its content
    assert main(["report", str(csv), "--targets", str(targets)]) == 2
    err = capsys.readouterr().err
    assert "custmgmt: error: Target." in err
    assert "Traceback" not in err


def _orders_csv(tmp_path: Path) -> Path:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-01-10,100.00\n", encoding="utf-8")
    return csv


@pytest.mark.parametrize("option", ["--html", "--json"])
def test_an_output_over_the_targets_file_is_refused_and_the_targets_survive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    targets = tmp_path / "targets.json"
    text = '[{"kpi": "net_sales", "kind": "change", "value": 0.1}]'
    targets.write_text(text, encoding="utf-8")
    code = main(["report", str(_orders_csv(tmp_path)), "--targets", str(targets),
                 option, str(tmp_path / "." / "targets.json")])
    assert code == 2
    assert "--targets" in capsys.readouterr().err
    assert targets.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("exists", [False, True])
def test_html_and_json_into_one_file_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exists: bool
) -> None:
    out = tmp_path / "report.out"
    if exists:
        out.write_text("keep me", encoding="utf-8")
    code = main(["report", str(_orders_csv(tmp_path)), "--html", str(out),
                 "--json", str(tmp_path / "." / "report.out")])
    assert code == 2
    assert "--json" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "keep me" if exists else not out.exists()



def test_a_targets_file_with_a_utf8_byte_order_mark_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "targets.json"
    targets.write_bytes(b'\xef\xbb\xbf[{"kpi": "orders", "kind": "level", "value": 1}]')
    assert main(["report", str(_orders_csv(tmp_path)), "--targets", str(targets)]) == 0
    assert "orders >= 1" in capsys.readouterr().out


def test_net_sales_past_two_to_the_53_minor_units_are_printed_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-05-10,1234567890123456.78\n"
                   "c2,2026-05-11,0.01\nc3,2026-02-11,1.00\n", encoding="utf-8")
    assert main(["report", str(csv), "--html", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    # 123456789012345679 minor units: through a float they read ...456.75
    total = "1,234,567,890,123,456.79 CNY"
    assert f"Net sales                            1.00 CNY                       {total}" in out
    assert f"2026-05  {total}" in out
    assert total in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_money_is_shown_with_the_currencys_own_decimals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-05-10,1.235\n"
                   "c2,2026-05-11,0.001\nc3,2026-02-11,1\n", encoding="utf-8")
    assert main(["report", str(csv), "--currency", "KWD"]) == 0
    out = capsys.readouterr().out
    assert "1.236 KWD" in out  # not rounded to 1.24
    assert "1.24 KWD" not in out


@pytest.mark.parametrize(
    ("given", "missing"),
    [("ticket_score", "ticket_score_at"), ("ticket_score_at", "ticket_score"),
     ("sla_met", "sla_at"), ("sla_at", "sla_met"), ("sla_stars", "sla_met")],
)
def test_half_a_pair_of_ticket_arrays_is_a_validation_error_naming_the_other_half(
    given: str, missing: str
) -> None:
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["a"]), placed_at=np.array(["2026-05-01"], dtype="datetime64[D]"),
        amount=np.array([100]), currency="CNY")
    values = {"sla_met": np.array([True])}.get(given, np.array([5]))
    with pytest.raises(ValidationError, match=missing):
        KpiInputs(orders=orders, **{given: values})


def test_age_bands_count_the_birthday_itself_as_a_year_more() -> None:
    customers = [make_customer(id="a", birth_date=date(2000, 3, 1)),
                 make_customer(id="b", birth_date=date(2000, 3, 2)),
                 make_customer(id="c", birth_date=date(2000, 2, 29))]
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["a", "b", "c"]),
        placed_at=np.array(["2025-01-01"] * 3, dtype="datetime64[D]"),
        amount=np.array([100, 100, 100]), currency="CNY")
    attributes = CustomerAttributes.from_customers(customers)
    at = datetime(2025, 3, 1, 12, tzinfo=timezone(timedelta(hours=8)))
    group, labels = attributes.groups(orders, "age", at)
    # a turns 25 that day; b is 24 until tomorrow; c (29 Feb) turned 25 on 1 March
    assert [labels[g] for g in group.tolist()] == ["25-34", "<25", "25-34"]


@settings(max_examples=300, deadline=None)
@given(born=st.dates(min_value=date(1900, 1, 2), max_value=date(2020, 12, 31)),
       days=st.integers(min_value=0, max_value=120 * 366))
def test_age_bands_match_calendar_ages(born: date, days: int) -> None:
    today = born + timedelta(days=days)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    expected = next(label for label, lo, hi in AGE_BANDS if lo <= age <= hi)
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["a"]), placed_at=np.array(["2025-01-01"], dtype="datetime64[D]"),
        amount=np.array([100]), currency="CNY")
    attributes = CustomerAttributes.from_customers([make_customer(id="a", birth_date=born)])
    group, labels = attributes.groups(orders, "age", datetime.combine(today, time(12), UTC))
    assert labels[int(group[0])] == expected


def _small_report() -> KpiReport:
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["a", "b"]),
        placed_at=np.array(["2026-05-01", "2026-02-01"], dtype="datetime64[D]"),
        amount=np.array([100, 200]), currency="CNY")
    return KpiReport.build(
        KpiInputs(orders=orders),
        baseline=Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
        current=Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
        as_of=datetime(2026, 6, 30, tzinfo=UTC))


@pytest.mark.parametrize("dpi", [0, -5, True, 1.5, float("nan"), 10**6],
                         ids=["zero", "negative", "bool", "fraction", "nan", "huge"])
def test_chart_export_refuses_a_bad_dpi_and_keeps_the_old_file(tmp_path: Path, dpi: Any) -> None:
    target = tmp_path / "chart.png"
    target.write_bytes(b"precious")
    with pytest.raises(ValidationError, match="dpi"):
        _small_report().export_charts(target, dpi=dpi)
    assert target.read_bytes() == b"precious"


def test_chart_export_into_a_directory_or_a_missing_one_is_a_validation_error(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ValidationError, match="directory"):
        _small_report().export_charts(tmp_path / "d.png")
    with pytest.raises(ValidationError, match="existing directory"):
        _small_report().export_charts(tmp_path / "missing" / "x.png")


def test_chart_export_replaces_a_file_keeping_its_mode_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "chart.pdf"
    target.write_bytes(b"old")
    target.chmod(0o640)
    _small_report().export_charts(target, dpi=30)
    assert target.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.pdf"]


def test_chart_export_writes_through_a_fifo(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from _fifo import fifo_with_reader

    with fifo_with_reader(tmp_path / "chart.pdf") as received:
        _small_report().export_charts(tmp_path / "chart.pdf", dpi=30)
    assert received[0].startswith(b"%PDF")
    assert stat.S_ISFIFO((tmp_path / "chart.pdf").stat().st_mode)


def test_sales_past_int64_minor_units_are_refused_rather_than_wrapped_negative(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-05-10,50000000000000000.00\n"
                   "c2,2026-05-11,50000000000000000.00\nc3,2026-02-11,1.00\n", encoding="utf-8")
    assert main(["report", str(csv)]) == 2
    captured = capsys.readouterr()
    assert "fit in int64 minor units" in captured.err
    assert "-84,467" not in captured.out


def test_sales_of_exactly_the_int64_limit_are_shown_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount\nc1,2026-05-10,46116860184273879.03\n"
                   "c2,2026-05-11,46116860184273879.04\nc3,2026-02-11,1.00\n", encoding="utf-8")
    assert main(["report", str(csv)]) == 0
    assert "92,233,720,368,547,758.07 CNY" in capsys.readouterr().out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**62), min_size=1, max_size=6),
       st.integers(min_value=1, max_value=3))
def test_exact_sums_are_exact_or_refused(values: list[int], groups: int) -> None:
    codes = np.arange(len(values)) % groups
    expected = [sum(v for v, c in zip(values, codes.tolist(), strict=True) if c == g)
                for g in range(groups)]
    if max(expected) > 2**63 - 1:
        with pytest.raises(ValidationError, match="int64"):
            exact_sums(codes, np.array(values, dtype=np.int64), groups)
    else:
        assert exact_sums(codes, np.array(values, dtype=np.int64), groups).tolist() == expected


def test_a_baseline_in_year_one_leaves_its_retention_not_measurable() -> None:
    orders = OrderFrame.from_arrays(
        customer_id=np.array(["a"]), placed_at=np.array(["2026-05-01"], dtype="datetime64[D]"),
        amount=np.array([100]), currency="CNY")
    report = KpiReport.build(
        KpiInputs(orders=orders),
        baseline=Period(datetime(1, 1, 1, tzinfo=UTC), datetime(2, 1, 1, tzinfo=UTC)),
        current=Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
        as_of=datetime(2026, 6, 30, tzinfo=UTC))
    baseline = report.figure("retention_rate", "baseline")
    assert baseline.value is None
    assert baseline.reason is not None
    assert "year 1" in baseline.reason
