"""``--scheduler`` / ``--workers``: ``rate``, ``segment`` and ``clv`` on a Dask cluster.

The commands keep their options and printouts; only where the work runs changes:
``--scheduler tcp://host:8786`` connects to a running cluster, ``--workers N`` starts a
local one (N worker processes, one thread each) for the command's duration. The
orders are a Parquet file, directory or glob (:mod:`custmgmt.distributed.parquet`);
the analysis is :mod:`custmgmt.distributed.pipeline`, whose results equal the
single-machine ones customer for customer. dask, distributed and pyarrow are the
``dask`` extra, imported only when one of these options is given.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from custmgmt.cli._inputs import parse_as_of
from custmgmt.domain.time import from_epoch_micros
from custmgmt.errors import ValidationError

__all__ = [
    "add_cluster_arguments",
    "clv_on_cluster",
    "on_cluster",
    "rate_on_cluster",
    "segment_on_cluster",
]


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler`` and ``--workers``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on this Dask scheduler (tcp://host:8786); the orders must be Parquet "
        "(a file, directory or glob) the workers can read (needs custmgmt[dask])",
    )
    group.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run on a local Dask cluster of N worker processes (needs custmgmt[dask])",
    )


def on_cluster(args: argparse.Namespace) -> bool:
    """Whether the command was asked to run on a cluster (and may)."""
    wanted = (
        getattr(args, "scheduler", None) is not None or getattr(args, "workers", None) is not None
    )
    if not wanted:
        return False
    if args.workers is not None and args.workers < 1:
        raise ValidationError("--workers", args.workers, "a positive number of workers")
    if getattr(args, "db", None) is not None:
        raise ValidationError("--db", args.db, "Parquet orders (not a store) with a cluster")
    if args.orders is None:
        raise ValidationError("ORDERS", None, "Parquet orders (a file, directory or glob)")
    return True


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    from custmgmt._extras import require

    distributed = require("distributed", extra="dask", purpose="--scheduler / --workers")
    if args.scheduler is not None:
        with distributed.Client(args.scheduler) as client:
            yield client
        return
    with (
        distributed.LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _orders_and_as_of(args: argparse.Namespace, tz: ZoneInfo) -> tuple[Any, datetime]:
    from custmgmt.distributed import read_orders

    orders = read_orders(args.orders, currency=args.currency, tz=args.tz)
    if args.as_of is not None:
        return orders, parse_as_of(args.as_of, tz)
    # The default as_of is the last order, as for a CSV: one pass, no shuffle.
    last = int(orders.frame["placed_at"].max().compute())
    return orders, from_epoch_micros(last, tz)


def _interactions(args: argparse.Namespace) -> Any:
    """``--interactions`` as the cluster reads them (None without)."""
    if getattr(args, "interactions", None) is None:
        return None
    from custmgmt.distributed import read_interactions

    return read_interactions(args.interactions)


def _run(args: argparse.Namespace, tz: ZoneInfo, work: Callable[[Any, datetime], Any]) -> Any:
    with _client(args):
        orders, as_of = _orders_and_as_of(args, tz)
        return work(orders, as_of)


def rate_on_cluster(args: argparse.Namespace, policy: Any, tz: ZoneInfo) -> Any:
    """The ``Rating`` of ``rate`` computed on the cluster."""
    from custmgmt.distributed import rate

    if getattr(args, "save", False):
        raise ValidationError("--save", True, "--save only with --db (not with a cluster)")
    return _run(
        args,
        tz,
        lambda orders, as_of: rate(
            orders, policy, as_of=as_of, interactions=_interactions(args)
        ).collect(),
    )


def segment_on_cluster(args: argparse.Namespace, tz: ZoneInfo) -> Any:
    """The ``SegmentReport`` of ``segment`` computed on the cluster."""
    from custmgmt.distributed import segment

    return _run(
        args,
        tz,
        lambda orders, as_of: segment(
            orders, as_of=as_of, interactions=_interactions(args)
        ).collect(),
    )


def clv_on_cluster(
    args: argparse.Namespace,
    tz: ZoneInfo,
    *,
    unit: str,
    period: str,
    models: list[str],
    progress: Callable[[Any], None],
) -> Any:
    """The ``ClvReport`` of ``clv`` computed on the cluster (events sent to
    ``progress`` as the single-machine command sends them)."""
    from custmgmt.distributed import clv

    if args.calibration_end is not None:
        raise ValidationError(
            "--calibration-end", args.calibration_end, "no calibration split with a cluster"
        )

    def work(orders: Any, as_of: datetime) -> Any:
        result = clv(
            orders,
            as_of=as_of,
            unit=unit,
            period=period,
            models=models,
            months=args.months,
            discount_rate=args.discount_rate,
            time_limit=args.time_limit,
        )
        return result.collect(progress=progress)

    return _run(args, tz, work)
