"""``custmgmt rate|segment|clv`` on Parquet, on one machine and with ``--workers``:
the same printouts as on the CSV of the same orders (issue 21)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custmgmt.cli import main

from ._cli_support import ORDERS, csv_and_parquet, run, run_in_a_process
from ._data import write_orders


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return csv_and_parquet(tmp_path_factory.mktemp("cli"))


@pytest.mark.parametrize(
    "command",
    [["rate", "--top", "5"], ["segment", "--top", "5"], ["clv", "--models", "bg,gg"]],
)
def test_parquet_prints_what_the_csv_prints(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], command: list[str]
) -> None:
    csv_path, folder = inputs
    from_csv = run(capsys, [command[0], str(csv_path), *command[1:]])
    assert run(capsys, [command[0], str(folder), *command[1:]]) == from_csv
    glob = str(folder / "orders-*.parquet")
    assert run(capsys, [command[0], glob, *command[1:]]) == from_csv


def drop_seconds(text: str) -> list[str]:
    # clv prints how long each fit took; everything else must match exactly.
    return [line for line in text.splitlines() if " s)" not in line and "seconds" not in line]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [["rate", "--top", "5"], ["segment", "--top", "5"], ["clv", "--models", "bg,gg"]],
)
def test_a_local_cluster_prints_what_one_machine_prints(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], command: list[str]
) -> None:
    _, folder = inputs
    single = run(capsys, [command[0], str(folder), *command[1:]])
    # A process of its own: the command starts (and stops) its own LocalCluster.
    done = run_in_a_process(command[0], str(folder), *command[1:], "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert drop_seconds(done.stdout) == drop_seconds(single)


def test_cluster_options_refuse_a_store_and_bad_counts(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, folder = inputs
    assert main(["rate", str(folder), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["rate", "--db", str(tmp_path / "x.sqlite3"), "--workers", "2"]) == 2
    assert "--db" in capsys.readouterr().err


# -- --interactions ----------------------------------------------------------------------
INTERACTION_POLICY = {
    "name": "with reviews",
    "criteria": {
        "spend": {"weight": 0.6},
        "frequency": {"weight": 0.2},
        "reviews": {"weight": 0.2, "feature": "review_mean"},
    },
}


@pytest.fixture(scope="module")
def with_interactions(
    inputs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    import json

    from ._data import synthetic_interactions, synthetic_orders, write_interactions

    folder = tmp_path_factory.mktemp("cli-interactions")
    data = synthetic_interactions(synthetic_orders(ORDERS), 8_000)
    write_interactions(folder / "interactions", data, files=2)
    policy = folder / "policy.json"
    policy.write_text(json.dumps(INTERACTION_POLICY), encoding="utf-8")
    return folder / "interactions", policy


def test_interactions_on_one_machine_print_the_library_report(
    capsys: pytest.CaptureFixture[str],
    inputs: tuple[Path, Path],
    with_interactions: tuple[Path, Path],
) -> None:
    from custmgmt.distributed import read_interactions_parquet, read_orders_parquet
    from custmgmt.domain.time import from_epoch_micros
    from custmgmt.rating import RatingPolicy, format_rating, rate_frames
    from custmgmt.segmentation.report import segment_report

    _, folder = inputs
    interactions, policy = with_interactions
    orders = read_orders_parquet(folder)
    found = read_interactions_parquet(interactions, customer_index=orders)
    as_of = from_epoch_micros(int(orders.placed_at.max()), ZoneInfo("Asia/Shanghai"))
    segments = run(capsys, ["segment", str(folder), "--interactions", str(interactions)])
    report = segment_report(orders, found, as_of=as_of)
    assert segments == report.format(top=10) + "\n"
    assert "quality tiers" in segments
    assert segments != run(capsys, ["segment", str(folder)])
    rated = run(
        capsys,
        ["rate", str(folder), "--interactions", str(interactions), "--policy", str(policy)],
    )
    rating = rate_frames(RatingPolicy.from_dict(INTERACTION_POLICY), orders, found, as_of=as_of)
    assert rated == format_rating(rating, top=10) + "\n"


def test_interactions_with_a_store_are_refused(
    capsys: pytest.CaptureFixture[str], with_interactions: tuple[Path, Path], tmp_path: Path
) -> None:
    interactions, _ = with_interactions
    argv = ["segment", "--db", str(tmp_path / "x.sqlite3"), "--interactions", str(interactions)]
    assert main(argv) == 2
    assert "--interactions" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("command", [["rate", "--top", "5"], ["segment", "--top", "5"]])
def test_interactions_on_a_local_cluster_print_what_one_machine_prints(
    capsys: pytest.CaptureFixture[str],
    inputs: tuple[Path, Path],
    with_interactions: tuple[Path, Path],
    command: list[str],
) -> None:
    _, folder = inputs
    interactions, policy = with_interactions
    extra = ["--interactions", str(interactions)]
    if command[0] == "rate":
        extra += ["--policy", str(policy)]
    single = run(capsys, [command[0], str(folder), *command[1:], *extra])
    done = run_in_a_process(command[0], str(folder), *command[1:], *extra, "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout == single


@pytest.mark.parametrize("command", ["rate", "segment"])
@pytest.mark.parametrize("named", ["directory", "glob"])
def test_out_never_lands_on_a_file_of_the_parquet_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, named: str
) -> None:
    # Regression: --out naming one of the files of a Parquet directory (or glob)
    # input used to overwrite it with the CSV.
    folder = tmp_path / "parquet"
    write_orders(folder, orders=200, files=2)
    victim = sorted(folder.glob("*.parquet"))[0]
    before = victim.read_bytes()
    source = str(folder) if named == "directory" else str(folder / "*.parquet")
    assert main([command, source, "--out", str(victim)]) == 2
    assert "a file other than the input" in capsys.readouterr().err
    assert victim.read_bytes() == before
