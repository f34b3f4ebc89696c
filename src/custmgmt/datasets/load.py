"""Writing a synthetic dataset into any store, chunk by chunk, with progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from custmgmt.datasets.objects import DEFAULT_CHUNK_SIZE, SyntheticDataset, _check_chunk_size
from custmgmt.errors import ValidationError
from custmgmt.notebook.progress import Tracker
from custmgmt.ports import Store

__all__ = ["LoadReport", "ProgressCallback", "load_into"]

#: Called as ``progress(done, total)`` after each chunk is committed.
ProgressCallback = Callable[[int, int], None]


@attrs.frozen(kw_only=True)
class LoadReport:
    """How many entities :func:`load_into` wrote.

    Attributes:
        customers: customers written.
        orders: orders written.
        interactions: interactions written.
    """

    customers: int
    orders: int
    interactions: int

    @property
    def total(self) -> int:
        """Every entity written."""
        return self.customers + self.orders + self.interactions


def load_into(
    store: Store,
    dataset: SyntheticDataset,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | bool | None = None,
) -> LoadReport:
    """Write ``dataset`` into ``store``: customers, then orders, then interactions.

    Each chunk is one ``add_many`` inside its own ``store.transaction()``, so a
    failure leaves every earlier chunk committed and nothing of the failing one;
    memory stays bounded by one chunk of objects. Loading into a store that already
    holds the dataset raises ``Conflict`` on the first chunk and writes nothing more.

    >>> from custmgmt.adapters.memory import MemoryStore
    >>> from custmgmt.datasets import make_dataset
    >>> store = MemoryStore()
    >>> seen = []
    >>> report = load_into(store, make_dataset(20, 50, seed=4),
    ...                    progress=lambda done, total: seen.append((done, total)))
    >>> store.orders.count(), report.orders, seen[-1][0] == seen[-1][1] == report.total
    (50, 50, True)

    Args:
        store: any implementation of :class:`custmgmt.ports.Store`.
        dataset: from :func:`custmgmt.datasets.make_dataset`.
        chunk_size: entities per transaction.
        progress: called as ``progress(done, total)`` after each committed chunk
            (``total`` counts every entity of the dataset); ``True`` draws a bar on
            an interactive terminal or notebook (nothing on a pipe); ``False`` /
            ``None`` report nothing.

    Raises:
        ValidationError: a bad ``dataset``, ``chunk_size`` or ``progress``.
        Conflict: an entity is already stored (its chunk is not written).
        StorageError: the store failed (its chunk is not written).
    """
    if not isinstance(dataset, SyntheticDataset):
        raise ValidationError("dataset", dataset, "a SyntheticDataset from make_dataset()")
    size = _check_chunk_size(chunk_size)
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise ValidationError(
            "progress", progress, "a callable progress(done, total), True, False or None"
        )
    total = dataset.n_customers + dataset.n_orders + dataset.n_interactions
    callback = None if isinstance(progress, bool) else progress
    with Tracker("loading", total, progress=progress is True) as bar:
        return _load(store, dataset, size, total, callback, bar)


def _load(
    store: Store,
    dataset: SyntheticDataset,
    size: int,
    total: int,
    progress: ProgressCallback | None,
    bar: Tracker,
) -> LoadReport:
    done = 0
    counts: dict[str, int] = {}
    streams: tuple[tuple[str, Iterator[Sequence[Any]]], ...] = (
        ("customers", dataset.iter_customers(size)),
        ("orders", dataset.iter_orders(size)),
        ("interactions", dataset.iter_interactions(size)),
    )
    for name, chunks in streams:
        repository = getattr(store, name)
        counts[name] = 0
        for chunk in chunks:
            with store.transaction():
                written = repository.add_many(chunk)
            counts[name] += written
            done += len(chunk)
            bar.update(done, name)
            if progress is not None:
                progress(done, total)
    return LoadReport(**counts)
