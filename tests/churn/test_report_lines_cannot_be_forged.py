"""Customer ids with line breaks or terminal escapes cannot forge report lines.

A quoted CSV cell may hold ``"evil\\nFAKE: 5 stars"`` or an ANSI colour escape; the
churn list of ``custmgmt segment`` and the CLV tables printed them raw, so a fake line
appeared in the report (``rate`` already escaped them). Ids refuse control characters
now, so the ids here use what an id can still hold: a line separator (U+2028) and a
bidi override (U+202E).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custmgmt.cli import main

EVIL = "evil\u2028FAKE: 5 stars"
RED = "\u202ered"


def _orders(path: Path) -> Path:
    rows = ["customer_id,placed_at,amount"]
    for cid in (f'"{EVIL}"', f'"{RED}"', "ok"):
        rows += [f"{cid},2025-0{m}-1{m},{10 * m}.00" for m in (1, 3, 6)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["segment", "--top", "10"], ["clv", "--top", "10"]])
def test_an_id_cannot_start_a_line_or_colour_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    orders = _orders(tmp_path / "orders.csv")
    assert main([command[0], str(orders), "--as-of", "2026-12-01", *command[1:]]) == 0
    out = capsys.readouterr().out
    assert "\u2028" not in out
    assert "\u202e" not in out
    assert not any(line.startswith("FAKE") for line in out.splitlines())
    if command[0] == "segment":
        assert "evil\\u2028FAKE: 5 stars: high risk" in out
