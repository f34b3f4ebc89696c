"""``custmgmt clv``'s top-customers table shows each predicted lifetime value at the
currency's minor-unit digits: 3 for KWD, 0 for JPY, 2 for CNY and USD (KWD values were
printed with 2 decimals, JPY ones with 2 too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from custmgmt.cli import main

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample.csv"


def _orders(tmp_path: Path, currency: str) -> Path:
    # The sample's amounts have 2 decimals: shift them to the currency's digits.
    lines = CDNOW.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cid, day, amount, *rest = line.split(",")
        value = {"KWD": amount + "5", "JPY": amount.replace(".", ""), "CNY": amount,
                 "USD": amount}[currency]
        out.append(",".join([cid, day, value, *rest]))
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("currency", "digits"), [("KWD", 3), ("JPY", 0), ("CNY", 2), ("USD", 2)])
def test_the_top_table_shows_values_at_the_currency_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], currency: str, digits: int
) -> None:
    pytest.importorskip("scipy")
    path = _orders(tmp_path, currency)
    assert main(["clv", str(path), "--currency", currency, "--top", "3"]) == 0
    out = capsys.readouterr().out
    rows = out[out.index(f"({currency};") :].splitlines()[2:5]
    assert len(rows) == 3
    fraction = rf"\.\d{{{digits}}}" if digits else ""
    for row in rows:
        assert re.fullmatch(r"\d{1,3}(,\d{3})*" + fraction, row.split()[-1]), row
