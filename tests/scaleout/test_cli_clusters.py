"""``custmgmt segment --clusters K`` on Parquet, on one machine and on a cluster: the
same printout as on the CSV of the same orders (issue 21)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custmgmt.cli import main

from ._cli_support import csv_and_parquet, run, run_in_a_process


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return csv_and_parquet(tmp_path_factory.mktemp("cli-clusters"))


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
    done = run_in_a_process(
        "segment", str(folder), "--top", "3", "--clusters", "5", "--scheduler", address
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == single
    assert "5 behavioural clusters of " in done.stdout


def test_too_many_clusters_on_a_scheduler_name_the_option(
    client: Any, inputs: tuple[Path, Path]
) -> None:
    _, folder = inputs
    address = client.scheduler.address
    done = run_in_a_process("segment", str(folder), "--clusters", "100000", "--scheduler", address)
    assert done.returncode == 2
    assert "--clusters: got 100000, expected at most the number of customers" in done.stderr


@pytest.mark.slow
def test_a_local_cluster_prints_the_clusters_one_machine_prints(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]
) -> None:
    _, folder = inputs
    single = run(capsys, ["segment", str(folder), "--top", "3", "--clusters", "3"])
    done = run_in_a_process(
        "segment", str(folder), "--top", "3", "--clusters", "3", "--workers", "2"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == single


def test_clusters_with_interactions_are_refused_on_a_cluster(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, folder = inputs
    argv = ["segment", str(folder), "--clusters", "3", "--workers", "2"]
    assert main([*argv, "--interactions", str(tmp_path / "interactions")]) == 2
    assert "--clusters: got 3, expected no --interactions with a cluster" in capsys.readouterr().err
