"""``--scheduler`` / ``--workers``: ``rate``, ``segment`` and ``clv`` on a Dask cluster.

``segment --clusters K`` clusters on the cluster too (:func:`custmgmt.distributed.cluster`),
as a second graph after the segments, on the same client (:func:`cluster_session`).

The commands keep their options and printouts; only where the work runs changes:
``--scheduler tcp://host:8786`` connects to a running cluster, ``--workers N`` starts a
local one (N worker processes, one thread each) for the command's duration. The
orders are a Parquet file, directory or glob (:mod:`custmgmt.distributed.parquet`);
the analysis is :mod:`custmgmt.distributed.pipeline`, whose results equal the
single-machine ones customer for customer. dask, distributed and pyarrow are the
``dask`` extra, imported only when one of these options is given.

``--db`` with a cluster: the orders always come from ``ORDERS`` (Parquet), never
from a store, so ``--db`` is refused except in ``rate --save``, where it names the
store the run is saved into (an existing custmgmt store, SQLite or PostgreSQL).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from custmgmt._text import one_line
from custmgmt.cli._inputs import is_postgres_dsn, open_existing_store, parse_as_of
from custmgmt.domain import SystemClock
from custmgmt.domain.time import from_epoch_micros
from custmgmt.errors import StorageError, ValidationError

__all__ = [
    "add_cluster_arguments",
    "cluster_session",
    "clusters_on_cluster",
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
    if args.workers is not None and not 1 <= args.workers <= _max_workers():
        raise ValidationError(
            "--workers",
            args.workers,
            f"a number of local worker processes from 1 to {_max_workers()} "
            f"({WORKERS_PER_CPU} per CPU); --scheduler ADDRESS for a larger cluster",
        )
    if getattr(args, "db", None) is not None and not getattr(args, "save", False):
        raise ValidationError(
            "--db",
            # A DSN may hold a password: never echo it.
            "postgresql://..." if is_postgres_dsn(args.db) else args.db,
            "Parquet orders (not a store) with a cluster; a store only as where "
            "rate --save keeps the run",
        )
    if args.orders is None:
        raise ValidationError("ORDERS", None, "Parquet orders (a file, directory or glob)")
    return True


#: The most worker processes ``--workers`` starts per CPU of this machine: a local
#: cluster of more only competes for the same cores (and each process costs memory).
WORKERS_PER_CPU = 4


def _max_workers() -> int:
    return WORKERS_PER_CPU * (os.cpu_count() or 1)


#: The client of an open :func:`cluster_session`, which every graph of it reuses.
_SESSION: ContextVar[Any] = ContextVar("custmgmt_cluster_session", default=None)


@contextlib.contextmanager
def cluster_session(args: argparse.Namespace) -> Iterator[Any]:
    """One client (one local cluster with ``--workers``) for several graphs of one
    command, e.g. ``segment --clusters``'s segments and clusters."""
    with _client(args) as client:
        token = _SESSION.set(client)
        try:
            yield client
        finally:
            _SESSION.reset(token)


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    from custmgmt._extras import require

    if _SESSION.get() is not None:
        yield _SESSION.get()
        return
    distributed = require("distributed", extra="dask", purpose="--scheduler / --workers")
    if args.scheduler is not None:
        with _connected(distributed, args.scheduler) as client:
            yield client
        return
    with (
        distributed.LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _connected(distributed: Any, address: str) -> Any:
    """A client of the scheduler at ``address``; a malformed address or a scheduler
    that cannot be reached is a library error, not a traceback."""
    try:
        return distributed.Client(address)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            "--scheduler", address, f"a Dask scheduler address such as tcp://host:8786 ({exc})"
        ) from exc
    except OSError as exc:  # TimeoutError and refused connections included
        raise StorageError(
            f"cannot reach the Dask scheduler at {address!r}; expected a running "
            f"scheduler there: {exc}"
        ) from exc


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
    """The ``Rating`` of ``rate`` computed on the cluster; with ``--save`` the run
    is kept in the store ``--db`` names, as ``rate --db --save`` keeps it (see
    :func:`custmgmt.distributed.rate_into_store`), and ``saved run ...`` printed."""
    from custmgmt.distributed import rate

    if not getattr(args, "save", False):
        return _run(
            args,
            tz,
            lambda orders, as_of: rate(
                orders, policy, as_of=as_of, interactions=_interactions(args)
            ).collect(),
        )
    if args.db is None:
        raise ValidationError("--save", True, "--db STORE, the store the run is kept in")
    from custmgmt.distributed import rate_into_store

    clock = SystemClock(tz)
    store = open_existing_store(args.db, writable=True)
    try:
        rating, run = _run(
            args,
            tz,
            lambda orders, as_of: rate_into_store(
                orders,
                store,
                policy,
                as_of=as_of,
                created_at=clock.now(),
                interactions=_interactions(args),
            ),
        )
    finally:
        store.close()
    # The line rate --db --save prints; beside a CSV on standard output, on stderr.
    print(
        f"saved run {one_line(run.id)} (as of {run.as_of.isoformat()}; a run of the same policy "
        "and as_of is kept once)",
        file=sys.stderr if args.out == "-" else sys.stdout,
    )
    return rating


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


def clusters_on_cluster(args: argparse.Namespace, tz: ZoneInfo, k: int) -> Any:
    """The ``Clustering`` of ``segment --clusters K`` computed on the cluster (the
    default features: recency, frequency, total_spend)."""
    from custmgmt.distributed import cluster

    def work(orders: Any, as_of: datetime) -> Any:
        try:
            return cluster(orders, as_of=as_of, k=k).collect()
        except ValidationError as exc:
            if exc.field != "k":
                raise
            raise ValidationError("--clusters", exc.value, exc.expected) from exc

    return _run(args, tz, work)


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

    calibration_end = None
    if args.calibration_end is not None:
        calibration_end = parse_as_of(args.calibration_end, tz, option="--calibration-end")

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
            calibration_end=calibration_end,
        )
        return result.collect(progress=progress)

    return _run(args, tz, work)
