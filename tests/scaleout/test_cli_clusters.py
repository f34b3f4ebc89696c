"""``custmgmt segment --clusters K`` on Parquet, on one machine and on a cluster: the
same printout as on the CSV of the same orders (issue 21)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from custmgmt.cli import main

from ._data import write_csv, write_orders

ORDERS = 3_000


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cli-clusters")
    write_orders(folder / "parquet", orders=ORDERS, files=4)
    return write_csv(folder / "orders.csv", orders=ORDERS), folder / "parquet"


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def command(*argv: str) -> subprocess.CompletedProcess[str]:
    # A process of its own, as a user runs it (the session cluster's client is this
    # process's default; the command's own client must not replace it).
    return subprocess.run(
        [sys.executable, "-m", "custmgmt", *argv],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def test_parquet_prints_the_clusters_the_csv_prints(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]
) -> None:
    csv_path, folder = inputs
    from_csv = run(capsys, ["segment", str(csv_path), "--top", "3", "--clusters", "4"])
    assert "4 behavioural clusters of " in from_csv
    assert run(capsys, ["segment", str(folder), "--top", "3", "--clusters", "4"]) == from_csv


def test_a_scheduler_prints_what_one_machine_prints(
    client: Any, capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]
) -> None:
    _, folder = inputs
    single = run(capsys, ["segment", str(folder), "--top", "3", "--clusters", "5"])
    address = client.scheduler.address
    done = command("segment", str(folder), "--top", "3", "--clusters", "5", "--scheduler", address)
    assert done.returncode == 0, done.stderr
    assert done.stdout == single
    assert "5 behavioural clusters of " in done.stdout


def test_too_many_clusters_on_a_scheduler_name_the_option(
    client: Any, inputs: tuple[Path, Path]
) -> None:
    _, folder = inputs
    address = client.scheduler.address
    done = command("segment", str(folder), "--clusters", "100000", "--scheduler", address)
    assert done.returncode == 2
    assert "--clusters: got 100000, expected at most the number of customers" in done.stderr


@pytest.mark.slow
def test_a_local_cluster_prints_the_clusters_one_machine_prints(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]
) -> None:
    _, folder = inputs
    single = run(capsys, ["segment", str(folder), "--top", "3", "--clusters", "3"])
    done = command("segment", str(folder), "--top", "3", "--clusters", "3", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout == single


def test_clusters_with_interactions_are_refused_on_a_cluster(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, folder = inputs
    argv = ["segment", str(folder), "--clusters", "3", "--workers", "2"]
    assert main([*argv, "--interactions", str(tmp_path / "interactions")]) == 2
    assert "--clusters: got 3, expected no --interactions with a cluster" in capsys.readouterr().err
