"""``rate --workers N --db STORE --save --out -``: the CSV on standard output stays a CSV.

The cluster path printed its ``saved run ...`` line on standard output after the
stars, so a piped CSV ended with a line that is no customer (``rate`` on one machine
already sent it to standard error).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from custmgmt.adapters.sqlite import SQLiteStore

from ._cli_support import csv_and_parquet, run_in_a_process


@pytest.mark.slow
def test_the_saved_run_line_goes_to_stderr_beside_a_csv_on_stdout(tmp_path: Path) -> None:
    _, folder = csv_and_parquet(tmp_path)
    store = tmp_path / "store.sqlite3"
    SQLiteStore(store).close()
    done = run_in_a_process("rate", str(folder), "--workers", "1", "--db", str(store),
                            "--save", "--out", "-")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0][0] == "customer_id"
    assert all(len(row) == len(rows[0]) for row in rows)
    assert "saved run" not in done.stdout
    assert "saved run" in done.stderr
