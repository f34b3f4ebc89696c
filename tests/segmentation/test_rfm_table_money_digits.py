"""The RFM table prints mean spend with the currency's own minor-unit digits."""

from __future__ import annotations

import attrs

from custmgmt.segmentation.rfm import RFM
from custmgmt.segmentation.table import Columns


def _spend_by_segment(currency: str | None, spend: list[float]) -> dict[str, str]:
    # a scores R4F4 (loyal); b and c land in hibernating (mean spend of the two).
    table = Columns(["a", "b", "c"], {
        "recency": [1.0, 50.0, 400.0],
        "frequency": [5.0, 2.0, 1.0],
        "total_spend": spend,
    })
    scores = attrs.evolve(RFM().score(table), currency=currency)
    cells = {}
    for line in scores.format_table().splitlines()[1:]:
        for name in ("loyal", "hibernating"):
            if line.startswith(name + " "):
                cells[name] = line.split()[-2]
    return cells


def test_three_digit_currency_keeps_its_third_digit() -> None:
    # KWD 3.333 was printed "3.33": a mean spend rounded to cents.
    assert _spend_by_segment("KWD", [3.333, 1.235, 10.5]) == {
        "loyal": "3.333", "hibernating": "5.867"}


def test_zero_digit_currency_prints_no_fraction() -> None:
    # JPY 2500 was printed "2,500.00".
    assert _spend_by_segment("JPY", [2500.0, 999.0, 3.0]) == {
        "loyal": "2,500", "hibernating": "501"}


def test_unknown_or_two_digit_currency_keeps_two_digits() -> None:
    expected = {"loyal": "3.50", "hibernating": "1.50"}
    assert _spend_by_segment(None, [3.5, 2.0, 1.0]) == expected
    assert _spend_by_segment("USD", [3.5, 2.0, 1.0]) == expected
