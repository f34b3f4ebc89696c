"""``custmgmt report`` on orders without categories says so in one line under the
category heading, as the other breakdowns do, instead of an empty table (the text
report printed the heading "Net sales by category" with nothing under it, and the
HTML report an empty chart)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.cli import main

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample.csv"


def _section(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Net sales by category"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].strip())
    return lines[start + 1:end]


def test_orders_without_a_category_column_say_so_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html = tmp_path / "r.html"
    assert main(["report", str(CDNOW), "--currency", "USD", "--html", str(html)]) == 0
    body = _section(capsys.readouterr().out)
    assert body == ["  not measurable: the orders have no category"]
    assert "the orders have no category" in html.read_text(encoding="utf-8")


def test_orders_with_categories_still_list_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,placed_at,amount,category\n"
                   "a,2026-01-05,10.00,书\na,2026-03-05,12.00,书\n"
                   "b,2026-04-05,30.00,食品\nb,2026-05-05,20.00,书\n", encoding="utf-8")
    assert main(["report", str(csv), "--currency", "USD"]) == 0
    body = _section(capsys.readouterr().out)
    assert [line.split()[0] for line in body] == ["书", "食品"]
