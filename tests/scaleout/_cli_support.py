"""What the tests of the commands on Parquet share: one set of orders as a CSV file and
as Parquet files, a command run in this process, and one run as a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from custmgmt.cli import main

from ._data import write_csv, write_orders

#: Orders in the inputs: enough for every partition and cluster to have customers.
ORDERS = 3_000


def csv_and_parquet(folder: Path) -> tuple[Path, Path]:
    """The same :data:`ORDERS` orders as ``orders.csv`` and as four Parquet files in
    ``parquet/``, under ``folder``."""
    write_orders(folder / "parquet", orders=ORDERS, files=4)
    return write_csv(folder / "orders.csv", orders=ORDERS), folder / "parquet"


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """What the command prints, in this process; it must succeed."""
    assert main(argv) == 0
    return capsys.readouterr().out


def run_in_a_process(*argv: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, as a user runs it: a cluster the command
    starts (or a client it opens) must not meet the session cluster this process's
    other tests hold."""
    return subprocess.run(
        [sys.executable, "-m", "custmgmt", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
