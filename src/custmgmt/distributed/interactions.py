"""Interactions in Parquet files or any Dask DataFrame, read exactly, for the cluster.

The columns are those :meth:`InteractionFrame.from_arrays
<custmgmt.analytics.frames.InteractionFrame.from_arrays>` takes, matched
case-insensitively:

``customer_id``         required; integers or text, of the orders' type
``at``                  required; a timestamp *with* a time zone (a naive time or a
                        date is refused: an interaction is an instant)
``kind``                required; ``InteractionKind`` values (``review``,
                        ``complaint``, ``browse`` ...), case-insensitive
``rating``              optional; a review's rating 1..5 (0 or empty: none; whole
                        floats too, as pandas writes an integer column with gaps)
``complaint_category``  optional; ``ComplaintCategory`` values (empty: none)
``resolved``            optional; booleans (empty: False)
``channel``             optional; text

Rows are normalised where they are read (int64 µs UTC, int8 codes) and each carries
its ordinal in the dataset (files in sorted path order, as for the orders), so a
partition of the cluster puts its rows back in the single-machine order.

:func:`read_interactions_parquet` is the single-machine reader (an
``InteractionFrame``); :func:`read_interactions` and :func:`interactions_from_dask`
give the cluster's :class:`DistributedInteractions`, for the ``interactions=``
argument of :func:`custmgmt.distributed.rate`, :func:`~custmgmt.distributed.segment`
and :func:`~custmgmt.distributed.analyse`. Errors name the file (or the partition)
and the column: ``events/part-3.parquet: column kind: got 'bought', expected one of
browse, cart, ...``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt._extras import require
from custmgmt.analytics.frames import COMPLAINT_CATEGORY_CODES, KIND_CODES, InteractionFrame
from custmgmt.distributed._partitions import (
    dataset_id_kind,
    empty_partition,
    frame_columns,
    frame_id_kind,
    partition_table,
)
from custmgmt.distributed.parquet import (
    ROW_BITS,
    ParquetDataset,
    _ids,
    _text,
    _whole_column,
    dataset,
    joined_pieces,
    read_piece_table,
)
from custmgmt.errors import ValidationError

__all__ = [
    "INTERACTION_COLUMNS",
    "INTERACTION_OPTIONAL_COLUMNS",
    "DistributedInteractions",
    "InteractionColumns",
    "columns_to_interactions",
    "interactions_dataset",
    "interactions_from_dask",
    "normalise_interactions",
    "read_interaction_piece",
    "read_interactions",
    "read_interactions_parquet",
]

#: Columns every interactions file must have.
INTERACTION_COLUMNS = ("customer_id", "at", "kind")
#: Columns an interactions dataset may have (then in every file).
INTERACTION_OPTIONAL_COLUMNS = ("rating", "complaint_category", "resolved", "channel")
#: Rows per input piece by default (as for the orders).
_ROWS_PER_PARTITION = 1 << 21

AnyArray = npt.NDArray[Any]


def _pa() -> Any:
    return require("pyarrow", extra="dask", purpose="reading Parquet interactions")


def _pc() -> Any:
    return require("pyarrow.compute", extra="dask", purpose="reading Parquet interactions")


@attrs.frozen(kw_only=True, eq=False)
class InteractionColumns:
    """One piece's interactions, normalised: what crosses the shuffle.

    ``row`` is each row's ordinal in the dataset; ``at`` µs UTC; ``kind`` codes into
    ``KIND_CODES``; ``rating`` 0..5 (0 none); ``complaint_category`` codes into
    ``COMPLAINT_CATEGORY_CODES`` (-1 none); ``channel`` an object array (None for
    blank) or None when the dataset has no channel column.
    """

    customer_id: AnyArray
    row: npt.NDArray[np.int64]
    at: npt.NDArray[np.int64]
    kind: npt.NDArray[np.int8]
    rating: npt.NDArray[np.int8]
    complaint_category: npt.NDArray[np.int8]
    resolved: npt.NDArray[np.bool_]
    channel: AnyArray | None

    def as_dict(self) -> dict[str, Any]:
        """The columns by name (an absent channel left out)."""
        out = attrs.asdict(self, recurse=False)
        return {k: v for k, v in out.items() if v is not None}


def interactions_dataset(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> ParquetDataset:
    """Find and check the files of an interactions dataset from their footers.

    Raises:
        ValidationError: no file, an unreadable file, a missing column (naming the
            file and the column), no row in any file.
    """
    return dataset(
        source,
        required=INTERACTION_COLUMNS,
        optional=INTERACTION_OPTIONAL_COLUMNS,
        what="interactions",
    )


def _instants(label: str, array: Any) -> npt.NDArray[np.int64]:
    pa, pc = _pa(), _pc()
    field = f"{label}: column at"
    kind = array.type
    if not pa.types.is_timestamp(kind):
        raise ValidationError(field, str(kind), "a timestamp with a time zone")
    if kind.tz is None:
        raise ValidationError(
            field, str(kind), "a timestamp with a time zone (naive times are ambiguous)"
        )
    if array.null_count:
        raise ValidationError(field, None, "a time in every row")
    values = pc.cast(array, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def _codes(label: str, name: str, array: Any, names: Sequence[str], blank: int | None) -> Any:
    """Text of ``names`` (case-insensitive) as int8 codes; null/blank is ``blank``
    (None: refused)."""
    pa, pc = _pa(), _pc()
    field = f"{label}: column {name}"
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        if len(array) and array.null_count < len(array):
            raise ValidationError(field, str(array.type), f"text: one of {', '.join(names)}")
        array = pc.cast(array, pa.string())
    encoded = pc.dictionary_encode(array)
    found = encoded.dictionary.to_pylist()
    index = {n: i for i, n in enumerate(names)}
    table = np.empty(len(found) + 1, dtype=np.int8)
    for i, value in enumerate(found):
        key = value.strip().lower() if isinstance(value, str) else value
        if key == "" and blank is not None:
            table[i] = blank
        elif key in index:
            table[i] = index[key]
        else:
            raise ValidationError(field, value, f"one of {', '.join(names)}")
    if blank is None:
        if encoded.null_count or any(isinstance(v, str) and not v.strip() for v in found):
            raise ValidationError(field, None, f"a {name} in every row")
        table[-1] = 0
    else:
        table[-1] = blank
    indices = encoded.indices.fill_null(len(found)).to_numpy(zero_copy_only=False)
    return table[np.asarray(indices, dtype=np.int64)]


def _ratings(label: str, array: Any) -> npt.NDArray[np.int8]:
    pa, pc = _pa(), _pc()
    field = f"{label}: column rating"
    if pa.types.is_floating(array.type):
        # pandas writes an integer column with gaps as floats (NaN for none)
        raw = np.asarray(pc.fill_null(array, 0).to_numpy(zero_copy_only=False), dtype=np.float64)
        raw = np.where(np.isnan(raw), 0.0, raw)
        if (raw != np.round(raw)).any():
            value = float(raw[raw != np.round(raw)][0])
            raise ValidationError(field, value, "whole ratings 0..5 (0 or empty: none)")
        array = pa.array(raw.astype(np.int64))
    if not pa.types.is_integer(array.type):
        if len(array) and array.null_count < len(array):
            raise ValidationError(field, str(array.type), "integer ratings 0..5 (0 or empty: none)")
        array = pc.cast(array, pa.int64())
    values = np.asarray(
        pc.fill_null(pc.cast(array, pa.int64()), 0).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    bad = (values < 0) | (values > 5)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValidationError(field, int(values[row]), "a rating 0..5 (0 or empty: none)")
    return values.astype(np.int8)


def _flags(label: str, array: Any) -> npt.NDArray[np.bool_]:
    pa, pc = _pa(), _pc()
    if not pa.types.is_boolean(array.type):
        if len(array) and array.null_count < len(array):
            raise ValidationError(f"{label}: column resolved", str(array.type), "booleans")
        array = pc.cast(array, pa.bool_())
    filled = pc.fill_null(array, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def normalise_interactions(
    table: Any, *, label: str, columns: dict[str, str], first_row: int
) -> InteractionColumns:
    """Normalise a pyarrow Table of interactions (``columns``: dataset name -> the
    table's column name); ``label`` names it in errors; rows get ordinals from
    ``first_row``.

    Raises:
        ValidationError: a malformed column, naming ``label`` and the column.
    """

    def col(name: str) -> Any:
        return _whole_column(table, columns[name])

    n = table.num_rows
    kinds = tuple(k.value for k in KIND_CODES)
    categories = tuple(c.value for c in COMPLAINT_CATEGORY_CODES)
    return InteractionColumns(
        customer_id=_ids(label, col("customer_id")),
        row=np.int64(first_row) + np.arange(n, dtype=np.int64),
        at=_instants(label, col("at")),
        kind=_codes(label, "kind", col("kind"), kinds, None),
        rating=_ratings(label, col("rating")) if "rating" in columns else np.zeros(n, np.int8),
        complaint_category=(
            _codes(label, "complaint_category", col("complaint_category"), categories, -1)
            if "complaint_category" in columns
            else np.full(n, -1, dtype=np.int8)
        ),
        resolved=_flags(label, col("resolved")) if "resolved" in columns else np.zeros(n, bool),
        channel=_text(col("channel")) if "channel" in columns else None,
    )


def read_interaction_piece(
    data: ParquetDataset, file_index: int, row_groups: Sequence[int]
) -> InteractionColumns:
    """Read and normalise one piece of a file (its ``row_groups``).

    Raises:
        ValidationError: a malformed column, naming the file and the column.
    """
    table, first_row = read_piece_table(data, file_index, row_groups)
    return normalise_interactions(
        table, label=data.files[file_index], columns=data.columns, first_row=first_row
    )


def columns_to_interactions(
    columns: dict[str, Any], *, customer_index: Any = None
) -> InteractionFrame:
    """An :class:`InteractionFrame` of normalised columns (as
    :class:`InteractionColumns` gives, possibly concatenated or shuffled), rows in
    dataset order (``row``); ``customer_index`` as for
    :meth:`InteractionFrame.from_arrays` (pass the partition's ``OrderFrame``).

    Raises:
        ValidationError: a blank text id; ids of another type than the index's.
    """
    order = np.argsort(np.asarray(columns["row"]), kind="stable")
    ids = np.asarray(columns["customer_id"])[order]
    if ids.dtype == object and any(not isinstance(v, str) or v == "" for v in ids.tolist()):
        raise ValidationError("customer_id", "", "non-empty string ids")
    channel = columns.get("channel")
    return InteractionFrame.from_arrays(
        customer_id=ids,
        at=np.asarray(columns["at"], dtype=np.int64)[order],
        kind=np.asarray(columns["kind"], dtype=np.int8)[order],
        rating=np.asarray(columns["rating"], dtype=np.int8)[order],
        complaint_category=np.asarray(columns["complaint_category"], dtype=np.int8)[order],
        resolved=np.asarray(columns["resolved"], dtype=bool)[order],
        channel=None if channel is None else np.asarray(channel, dtype=object)[order],
        customer_index=customer_index,
    )


def read_interactions_parquet(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    customer_index: Any = None,
) -> InteractionFrame:
    """Read a Parquet dataset of interactions into one :class:`InteractionFrame` (one
    machine), rows in file order (files sorted by path).

    Args:
        source: a ``.parquet`` file, a directory, a glob, or a list of files.
        customer_index: fixes the first customer codes; pass the ``OrderFrame``.

    Raises:
        ValidationError: see :func:`interactions_dataset` and
            :func:`normalise_interactions`; ids of two types in the files.
        MissingDependency: pyarrow is not installed.
    """
    data = interactions_dataset(source)
    pieces = [
        read_interaction_piece(data, index, tuple(range(len(groups))))
        for index, groups in enumerate(data.row_groups)
    ]
    return columns_to_interactions(joined_pieces(data, pieces), customer_index=customer_index)


# -- on a cluster ---------------------------------------------------------------------
@attrs.frozen(kw_only=True, eq=False)
class DistributedInteractions:
    """Interactions as a Dask DataFrame of normalised columns (see
    :class:`InteractionColumns`).

    Attributes:
        frame: the Dask DataFrame, one partition per input piece.
        source: what was read, for messages.
    """

    frame: Any
    source: str

    @property
    def npartitions(self) -> int:
        """Input partitions."""
        return int(self.frame.npartitions)

    @property
    def id_kind(self) -> str:
        """``"i"`` for integer customer ids, ``"O"`` for text."""
        return "i" if self.frame._meta["customer_id"].dtype.kind in "iu" else "O"


def _pandas_of(columns: InteractionColumns) -> Any:
    pd = require("pandas", extra="pandas", purpose="Dask partitions")
    data = columns.as_dict()
    out = pd.DataFrame({k: v for k, v in data.items() if k not in ("customer_id", "channel")})
    ids = data["customer_id"]
    out.insert(
        0, "customer_id", pd.Series(ids, dtype=np.int64 if ids.dtype.kind in "iu" else object)
    )
    if "channel" in data:
        out["channel"] = pd.Series(data["channel"], dtype=object)
    return out


#: The normalised columns after ``customer_id``, with their dtypes (``channel``, text,
#: comes last when the dataset has it).
_TYPED = {
    "row": np.int64,
    "at": np.int64,
    "kind": np.int8,
    "rating": np.int8,
    "complaint_category": np.int8,
    "resolved": bool,
}


def _meta(id_kind: str, columns: Any) -> Any:
    return empty_partition(id_kind, _TYPED, ["channel"] if "channel" in set(columns) else [])


def _read_piece_frame(piece: tuple[int, tuple[int, ...]], data: ParquetDataset) -> Any:
    return _pandas_of(read_interaction_piece(data, piece[0], piece[1]))


def read_interactions(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    rows_per_partition: int = _ROWS_PER_PARTITION,
) -> DistributedInteractions:
    """A Parquet dataset of interactions as a Dask DataFrame, checked from the footers
    now and per piece when read (errors name the file and the column).

    Raises:
        ValidationError: no file, no row, a missing column (naming file and column).
        MissingDependency: the ``dask`` extra is not installed.
    """
    dd = require("dask.dataframe", extra="dask", purpose="analyses on a Dask cluster")
    data = interactions_dataset(source)
    id_kind = dataset_id_kind(data, purpose="reading Parquet interactions")
    frame = dd.from_map(
        _read_piece_frame,
        data.pieces(rows_per_partition),
        data=data,
        meta=_meta(id_kind, data.columns),
        label="custmgmt-interactions",
        enforce_metadata=False,
    )
    return DistributedInteractions(frame=frame, source=data.source)


def _normalise_partition(pdf: Any, partition_info: Any = None) -> Any:
    number, known, table = partition_table(
        pdf,
        (*INTERACTION_COLUMNS, *INTERACTION_OPTIONAL_COLUMNS),
        partition_info,
        purpose="reading Parquet interactions",
    )
    normalised = normalise_interactions(
        table,
        label=f"interactions partition {number}",
        columns=known,
        first_row=number << ROW_BITS,
    )
    return _pandas_of(normalised)


def interactions_from_dask(frame: Any) -> DistributedInteractions:
    """Any Dask DataFrame with the interaction columns (types as in Parquet: ``at``
    a time-zone-aware datetime), normalised per partition; errors name the partition
    ("interactions partition 3: column kind").

    Raises:
        ValidationError: not a Dask DataFrame, a required column missing from the
            frame, or a column given twice (names differing in case only).
    """
    names = frame_columns(
        frame, (*INTERACTION_COLUMNS, *INTERACTION_OPTIONAL_COLUMNS), what="interactions frame"
    )
    for column in INTERACTION_COLUMNS:
        if column not in names:
            raise ValidationError(f"interactions frame: column {column}", None, "the column")
    normalised = frame.map_partitions(
        _normalise_partition, meta=_meta(frame_id_kind(frame), names), enforce_metadata=False
    )
    return DistributedInteractions(frame=normalised, source="a Dask DataFrame")
