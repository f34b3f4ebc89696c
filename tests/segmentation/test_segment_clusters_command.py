"""``custmgmt segment --clusters K``: the cluster profiles of ``cluster_customers``,
printed after the report (issue 21)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from _segment_cli import ORDERS_CSV, store_of_60_customers, write_orders

from custmgmt.analytics.frames import OrderFrame
from custmgmt.cli import main
from custmgmt.segmentation.clustering import cluster_customers
from custmgmt.segmentation.inputs import segment_features

#: Two more small buyers than the command tests' orders, so clusters have members.
CSV = ORDERS_CSV + "zhao,2025-02-20,25,books\nqian,2025-03-05,30.00,books\n"
AS_OF = datetime(2025, 3, 10, 23, 59, 59, 999999, tzinfo=ZoneInfo("Asia/Shanghai"))


def write(tmp_path: Path) -> Path:
    return write_orders(tmp_path, CSV)


def test_the_profiles_are_those_of_cluster_customers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path)
    assert main(["segment", str(path), "--as-of", "2025-03-10", "--clusters", "2"]) == 0
    printed = capsys.readouterr().out
    table = segment_features(OrderFrame.from_csv(path), as_of=AS_OF)
    expected = cluster_customers(table, k=2)
    lines = printed[printed.index("2 behavioural clusters of 5 customers") :].splitlines()
    assert lines[0].endswith("(k-means on standardised recency, frequency, total_spend):")
    assert lines[1].split() == [
        "cluster", "customers", "share", "revenue",
        "mean", "recency", "mean", "frequency", "mean", "total_spend",
    ]  # fmt: skip
    rows = [line.split() for line in lines[2:]]
    assert rows == [
        [
            str(p.cluster),
            str(p.size),
            f"{p.share:.1%}",
            f"{p.revenue_share:.1%}",
            *(f"{p.means[n]:.2f}" for n in ("recency", "frequency", "total_spend")),
        ]
        for p in expected.profiles
    ]
    # li, the big spender, is a cluster of one holding most of the revenue.
    assert sorted(p.size for p in expected.profiles) == [1, 4]
    assert "li" not in "\n".join(lines)  # aggregates only, no customer


def test_without_the_option_no_clusters_are_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["segment", str(write(tmp_path)), "--as-of", "2025-03-10"]) == 0
    assert "behavioural clusters" not in capsys.readouterr().out


def test_the_clusters_go_to_standard_error_when_the_csv_goes_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["segment", str(write(tmp_path)), "--clusters", "3", "--out", "-"]) == 0
    captured = capsys.readouterr()
    assert "3 behavioural clusters of 5 customers" in captured.err
    assert "behavioural" not in captured.out


@pytest.mark.parametrize(
    ("clusters", "message"),
    [("0", "--clusters: got 0, expected a positive number of clusters"),
     ("-2", "--clusters: got -2"),
     ("6", "--clusters: got 6, expected at most the number of customers (5)")],
)  # fmt: skip
def test_bad_cluster_counts_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clusters: str, message: str
) -> None:
    assert main(["segment", str(write(tmp_path)), "--clusters", clusters]) == 2
    assert message in capsys.readouterr().err


def test_a_store_s_customers_are_clustered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from custmgmt.datasets import DEFAULT_AS_OF

    db = store_of_60_customers(tmp_path)
    argv = ["segment", "--db", str(db), "--as-of", DEFAULT_AS_OF.isoformat(), "--clusters", "4"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    lines = printed[printed.index("4 behavioural clusters of 60 customers") :].splitlines()
    assert sum(int(line.split()[1]) for line in lines[2:6]) == 60
