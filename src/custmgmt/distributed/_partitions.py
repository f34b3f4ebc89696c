"""What the orders' and the interactions' Dask inputs share.

Both read a Parquet dataset piece by piece (:func:`dataset_id_kind` fixes the id
type of the Dask ``meta`` from the first file) or normalise each partition of a
host's Dask DataFrame (:func:`frame_id_kind`, :func:`partition_table`), and both
give Dask an empty frame of the normalised columns (:func:`empty_partition`). The
columns themselves, and their checks, stay with each dataset's module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from custmgmt._extras import require
from custmgmt.distributed.parquet import ParquetDataset, columns_by_lower_name
from custmgmt.errors import ValidationError

__all__ = [
    "dataset_id_kind",
    "empty_partition",
    "frame_columns",
    "frame_id_kind",
    "partition_table",
]


def dataset_id_kind(data: ParquetDataset, *, purpose: str) -> str:
    """``"i"`` when the first file's customer ids are integers, ``"O"`` for text.

    Only the first footer is read: the other files are held to its type when their
    pieces are read. ``purpose`` names the reader in a missing-pyarrow message.
    """
    pq = require("pyarrow.parquet", extra="dask", purpose=purpose)
    id_type = pq.read_schema(data.files[0]).field(data.columns["customer_id"]).type
    return "i" if str(id_type).startswith(("int", "uint")) else "O"


def frame_columns(frame: Any, known: Iterable[str], *, what: str) -> set[str]:
    """The lower-case column names of a host's Dask DataFrame, checked: ``frame`` is
    a Dask DataFrame (not pandas, which has no partitions to map), and no ``known``
    column is there twice under names that differ in case only (which one would be
    read is not for the library to guess). ``what`` names the frame in errors.

    Raises:
        ValidationError: not a Dask DataFrame, or a column given twice.
    """
    dd = require("dask.dataframe", extra="dask", purpose=what)
    if not isinstance(frame, dd.DataFrame):
        raise ValidationError(
            what,
            type(frame).__name__,
            "a Dask DataFrame (dask.dataframe.from_pandas(frame, npartitions=...) "
            "turns a pandas one into one)",
        )
    return set(columns_by_lower_name(what, [str(c) for c in frame.columns], set(known)))


def frame_id_kind(frame: Any) -> str:
    """``"i"`` when a Dask DataFrame's ``customer_id`` column (any case) holds
    integers, ``"O"`` otherwise; the caller has checked that the column is there."""
    kind = frame.dtypes[next(c for c in frame.columns if str(c).lower() == "customer_id")]
    return "i" if getattr(kind, "kind", "O") in "iu" else "O"


def empty_partition(id_kind: str, typed: Mapping[str, Any], text: Iterable[str]) -> Any:
    """The empty pandas frame Dask takes as ``meta``: ``customer_id`` of ``id_kind``,
    then the ``typed`` columns (name -> numpy dtype) in order, then the ``text``
    columns as objects."""
    pd = require("pandas", extra="pandas", purpose="Dask partitions")
    out = pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=np.int64 if id_kind == "i" else object),
            **{name: pd.Series([], dtype=dtype) for name, dtype in typed.items()},
        }
    )
    for name in text:
        out[name] = pd.Series([], dtype=object)
    return out


def partition_table(
    pdf: Any, known: Iterable[str], partition_info: Any, *, purpose: str
) -> tuple[int, dict[str, str], Any]:
    """One partition of a host's Dask DataFrame as an Arrow table of its ``known``
    columns (matched case-insensitively, others dropped).

    Returns:
        The partition's number (0 when Dask gives no ``partition_info``: it names the
        partition in errors and numbers its rows), the known columns found (name ->
        the frame's column name) and the table. ``purpose`` names the reader in a
        missing-pyarrow message.
    """
    pa = require("pyarrow", extra="dask", purpose=purpose)
    number = 0 if partition_info is None else int(partition_info["number"])
    columns = {str(c).lower(): str(c) for c in pdf.columns}
    found = {c: columns[c] for c in known if c in columns}
    table = pa.Table.from_pandas(pdf[list(found.values())], preserve_index=False)
    return number, found, table
