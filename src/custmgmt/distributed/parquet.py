"""Orders in Parquet files: the same columns as the orders CSV, read exactly.

A Parquet dataset of orders is a file, a directory (every ``*.parquet`` under it) or a
glob; its files are taken in sorted path order, so the rows have one well-defined
order, the order in which the single-machine reader concatenates them. Columns are
named as in the orders CSV (:data:`custmgmt.cli._inputs.CSV_HELP`), matched
case-insensitively:

``customer_id``      required; integers or text, kept as written
``placed_at``        required; a timestamp (naive values are in ``tz``, as the CSV
                     reader reads them) or a date (its start in ``tz``)
``amount``           required; major units: a decimal (exact), text ("199.90"),
                     an integer or a float exact to the currency's digits
``order_id``         optional; rows sharing one are the lines of one order
``currency``         optional; per row, every row in ``currency``
``category``         optional; ``status`` optional (``OrderStatus`` values, default
                     ``delivered``); ``returned_amount`` optional (major units);
                     ``channel`` optional

Every file must have the required columns and the same optional ones: a file that
lacks a column another has is refused by name, as is a file whose rows are priced in
another currency. pyarrow (the ``dask`` extra) is imported only here, when asked.

:func:`read_orders_parquet` is the single-machine reader (an
:class:`~custmgmt.analytics.frames.OrderFrame`); :func:`read_piece` is the unit of
work the distributed reader runs per file piece, giving the normalised columns both
share, so both paths see the same orders bit for bit.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import numpy.typing as npt

from custmgmt._extras import require
from custmgmt.analytics._convert import MAX_MICROS, MIN_MICROS, relabel, to_minor
from custmgmt.analytics.frames import STATUS_CODES, OrderFrame
from custmgmt.domain.money import currency_digits
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import iana_zone
from custmgmt.errors import ValidationError

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ROW_BITS",
    "ParquetDataset",
    "PieceColumns",
    "columns_by_lower_name",
    "columns_to_frame",
    "dataset",
    "dataset_files",
    "is_parquet_source",
    "joined_pieces",
    "normalise_table",
    "read_orders_parquet",
    "read_piece",
    "read_piece_table",
]

#: Columns every file must have.
REQUIRED_COLUMNS = ("customer_id", "placed_at", "amount")
#: Columns a dataset may have (then in every file).
OPTIONAL_COLUMNS = ("order_id", "currency", "category", "status", "returned_amount", "channel")
#: A row's ordinal is ``file_index << ROW_BITS | row``: the single-machine row order.
ROW_BITS = 40

AnyArray = npt.NDArray[Any]


def _pa() -> Any:
    return require("pyarrow", extra="dask", purpose="reading Parquet orders")


def _pq() -> Any:
    return require("pyarrow.parquet", extra="dask", purpose="reading Parquet orders")


def is_parquet_source(source: str | os.PathLike[str]) -> bool:
    """Whether a command's input names Parquet: a ``.parquet`` file or glob, or a
    directory.

    >>> is_parquet_source("orders.csv"), is_parquet_source("part-*.parquet")
    (False, True)
    """
    text = os.fspath(source)
    return text.lower().endswith((".parquet", ".pq")) or os.path.isdir(text)


@attrs.frozen(kw_only=True)
class ParquetDataset:
    """The files of a Parquet dataset and what their footers say.

    Attributes:
        source: what the caller named (a file, directory or glob).
        files: the files, sorted.
        rows: rows per file (from the footers).
        row_groups: per file, the rows of each row group.
        columns: per dataset column (lower case), its name in the files.
    """

    source: str
    files: tuple[str, ...]
    rows: tuple[int, ...]
    row_groups: tuple[tuple[int, ...], ...]
    columns: dict[str, str]

    @property
    def total_rows(self) -> int:
        """Rows in every file together."""
        return sum(self.rows)

    def pieces(self, rows_per_piece: int) -> list[tuple[int, tuple[int, ...]]]:
        """``(file_index, row_group_indexes)`` pieces of about ``rows_per_piece`` rows
        (a row group is never split; an empty file is a piece of its own, so its
        checks still run)."""
        if rows_per_piece < 1:
            raise ValidationError("rows_per_partition", rows_per_piece, "a positive integer")
        out: list[tuple[int, tuple[int, ...]]] = []
        for index, groups in enumerate(self.row_groups):
            current: list[int] = []
            size = 0
            for g, n in enumerate(groups):
                if current and size + n > rows_per_piece:
                    out.append((index, tuple(current)))
                    current, size = [], 0
                current.append(g)
                size += n
            out.append((index, tuple(current)))
        return out


def dataset_files(source: str, what: str = "orders") -> list[str]:
    """The files a Parquet source names, in sorted path order: a file itself, a glob's
    files, or a directory's ``.parquet`` / ``.pq`` files (recursively).

    Raises:
        ValidationError: nothing exists under ``source`` (named as ``what``).
    """
    if os.path.isdir(source):
        found = [
            str(p)
            for p in Path(source).rglob("*")
            if p.is_file() and p.suffix.lower() in (".parquet", ".pq")
        ]
    elif _glob.has_magic(source):
        found = [p for p in _glob.glob(source, recursive=True) if os.path.isfile(p)]
    elif os.path.isfile(source):
        found = [source]
    else:
        raise ValidationError(what, source, "an existing Parquet file, directory or glob")
    return sorted(found)


def dataset(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    required: Sequence[str] = REQUIRED_COLUMNS,
    optional: Sequence[str] = OPTIONAL_COLUMNS,
    what: str = "orders",
) -> ParquetDataset:
    """Find and check the files of a dataset from their footers (no data read).

    ``required`` and ``optional`` are the dataset's columns (the orders' by default;
    :mod:`custmgmt.distributed.interactions` passes the interactions'), ``what``
    names the dataset in errors.

    Raises:
        ValidationError: no file, one file named twice (a repeated path, a link),
            an unreadable file, a file without a required column or without an
            optional column that another file has (naming the file and the column), a
            column spelt differently across files or twice in one file, a dataset
            without any row.
        MissingDependency: pyarrow is not installed.
    """
    pq = _pq()
    if isinstance(source, str | os.PathLike):
        label = os.fspath(source)
        files = dataset_files(label, what)
    else:
        files = sorted(os.fspath(p) for p in source)
        label = ", ".join(files[:3]) + (" ..." if len(files) > 3 else "")
        for path in files:
            if not os.path.isfile(path):
                raise ValidationError(what, path, "an existing Parquet file")
    if not files:
        raise ValidationError(what, label, "at least one Parquet file")
    seen: dict[str, str] = {}
    for path in files:
        # One file under two names (listed twice, a link) would count its rows twice.
        real = os.path.realpath(path)
        if real in seen:
            raise ValidationError(what, path, f"each file once (it is also named as {seen[real]})")
        seen[real] = path
    rows: list[int] = []
    groups: list[tuple[int, ...]] = []
    names: list[dict[str, str]] = []
    for path in files:
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as exc:  # pyarrow raises several types for a bad footer
            raise ValidationError(what, path, f"a readable Parquet file ({exc})") from None
        rows.append(int(meta.num_rows))
        groups.append(tuple(int(meta.row_group(i).num_rows) for i in range(meta.num_row_groups)))
        schema = meta.schema.to_arrow_schema()
        names.append(columns_by_lower_name(path, schema.names, set(required) | set(optional)))
    known = set(required) | set(optional)
    present = {c for cols in names for c in cols if c in known}
    for path, cols in zip(files, names, strict=True):
        for column in (*required, *sorted(present - set(required))):
            if column not in cols:
                others = "every file" if column in required else "every file (others have it)"
                raise ValidationError(f"{path}: column {column}", None, f"the column in {others}")
    if sum(rows) == 0:
        single = "interaction" if what == "interactions" else what.rstrip("s")
        raise ValidationError(what, label, f"at least one {single} (every file is empty)")
    columns = {c: names[0][c] for c in (*required, *optional) if c in present}
    for path, cols in zip(files[1:], names[1:], strict=True):
        for column, spelt in columns.items():
            if cols[column] != spelt:
                # Every file is read by the first file's column names.
                raise ValidationError(
                    f"{path}: column {cols[column]}",
                    None,
                    f"the column spelt {spelt!r} as in {files[0]} (one spelling in every file)",
                )
    return ParquetDataset(
        source=label,
        files=tuple(files),
        rows=tuple(rows),
        row_groups=tuple(groups),
        columns=columns,
    )


def columns_by_lower_name(path: str, names: Sequence[str], known: set[str]) -> dict[str, str]:
    """A file's (or a Dask frame's) columns by lower-case name; a ``known`` column
    spelt twice (``amount`` and ``AMOUNT``) is ambiguous and refused, naming ``path``."""
    out: dict[str, str] = {}
    for name in names:
        key = name.lower()
        if key in out and key in known:
            raise ValidationError(
                f"{path}: column {key}",
                f"{out[key]}, {name}",
                "one column of that name (names are read ignoring case)",
            )
        out.setdefault(key, name)
    return out


@attrs.frozen(kw_only=True, eq=False)
class PieceColumns:
    """One piece's orders, normalised: what crosses the shuffle (plain numpy columns).

    ``row`` is each row's ordinal in the dataset (:data:`ROW_BITS`); times are µs UTC,
    money int64 minor units, ``status`` codes into ``STATUS_CODES``; the optional text
    columns are object arrays (None for blank) or None when the dataset lacks them.
    """

    customer_id: AnyArray
    row: npt.NDArray[np.int64]
    placed_at: npt.NDArray[np.int64]
    amount: npt.NDArray[np.int64]
    returned_amount: npt.NDArray[np.int64]
    status: npt.NDArray[np.int8]
    category: AnyArray | None
    channel: AnyArray | None
    order_id: AnyArray | None

    def as_dict(self) -> dict[str, Any]:
        """The columns by name (absent optional ones left out)."""
        out = attrs.asdict(self, recurse=False)
        return {k: v for k, v in out.items() if v is not None}


def _zone(tz: str) -> ZoneInfo:
    return iana_zone(tz, "tz")


def _micros(path: str, array: Any, tz: str) -> npt.NDArray[np.int64]:
    pa = _pa()
    pc = require("pyarrow.compute", extra="dask", purpose="reading Parquet orders")
    kind = array.type
    field = f"{path}: column placed_at"
    if pa.types.is_date(kind):
        array = pc.cast(array, pa.timestamp("us"))
        kind = array.type
    if not pa.types.is_timestamp(kind):
        raise ValidationError(field, str(kind), "a timestamp or date column")
    if array.null_count:
        raise ValidationError(field, None, "a time in every row")
    if kind.tz is None:
        try:
            array = pc.assume_timezone(
                array, timezone=tz, ambiguous="earliest", nonexistent="earliest"
            )
        except pa.ArrowInvalid as exc:
            raise ValidationError(field, str(exc), f"times that exist in {tz}") from None
    try:
        # Seconds or milliseconds far from today can lie past int64 microseconds.
        values = pc.cast(array, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    except pa.ArrowInvalid as exc:
        raise ValidationError(field, str(exc), "times that fit in microseconds") from None
    out = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)
    outside = (out < MIN_MICROS) | (out > MAX_MICROS)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise ValidationError(f"{field}, row {row}", int(out[row]),
                              "a time in the years 1..9999 (UTC), as microseconds")
    return out


def _money(path: str, name: str, array: Any, digits: int) -> npt.NDArray[np.int64]:
    pa = _pa()
    pc = require("pyarrow.compute", extra="dask", purpose="reading Parquet orders")
    field = f"{path}: column {name}"
    kind = array.type
    if array.null_count:
        if name == "returned_amount":
            array = pc.fill_null(array, pa.scalar(0, kind))
        else:
            raise ValidationError(field, None, "an amount in every row")
    try:
        if pa.types.is_decimal(kind):
            scaled = pc.multiply_checked(array, pa.scalar(10**digits, pa.decimal128(19, 0)))
            minor = pc.cast(scaled, pa.int64())  # safe cast: a fraction left is an error
        elif pa.types.is_integer(kind):
            minor = pc.multiply_checked(pc.cast(array, pa.int64()), 10**digits)
        else:
            values = np.asarray(array.to_numpy(zero_copy_only=False))
            if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                values = values.astype(object)
            return np.asarray(to_minor(values, digits, "major", name), dtype=np.int64)
    except (pa.ArrowInvalid, ValidationError) as exc:
        detail = exc.expected if isinstance(exc, ValidationError) else str(exc)
        raise ValidationError(
            field, getattr(exc, "value", None), f"amounts exact to {digits} decimals ({detail})"
        ) from None
    out = np.asarray(minor.to_numpy(zero_copy_only=False), dtype=np.int64)
    if (out < 0).any():
        raise ValidationError(field, int(out[out < 0][0]), "non-negative amounts (minor units)")
    return out


def _text(array: Any) -> AnyArray:
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)
    blank = (
        np.array(
            [v is None or (isinstance(v, str) and not v.strip()) for v in values.tolist()],
            dtype=bool,
        )
        if len(values)
        else np.zeros(0, dtype=bool)
    )
    if blank.any():
        values[blank] = None
    return values


def _ids(path: str, array: Any) -> AnyArray:
    pa = _pa()
    if array.null_count:
        raise ValidationError(f"{path}: column customer_id", None, "an id in every row")
    if pa.types.is_dictionary(array.type):
        # Written from a pandas categorical or by a dictionary-encoding writer.
        array = array.cast(array.type.value_type)
    if pa.types.is_integer(array.type):
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)
    raise ValidationError(f"{path}: column customer_id", str(array.type), "integer or text ids")


def _status(path: str, array: Any) -> npt.NDArray[np.int8]:
    pa = _pa()
    pc = require("pyarrow.compute", extra="dask", purpose="reading Parquet orders")
    codes = {s.value: STATUS_CODES.index(s) for s in OrderStatus}
    encoded = (
        pc.dictionary_encode(array).combine_chunks()
        if isinstance(array, pa.ChunkedArray)
        else pc.dictionary_encode(array)
    )
    names = encoded.dictionary.to_pylist()
    table = np.empty(len(names) + 1, dtype=np.int8)
    for i, name in enumerate(names):
        key = name.strip().lower() if isinstance(name, str) else name
        if key not in codes:
            raise ValidationError(
                f"{path}: column status", name, f"one of {', '.join(sorted(codes))}"
            )
        table[i] = codes[key]
    table[-1] = codes[OrderStatus.DELIVERED.value]  # a blank status: the CSV default
    index = encoded.indices.fill_null(len(names)).to_numpy(zero_copy_only=False)
    return table[np.asarray(index, dtype=np.int64)]


def read_piece(
    data: ParquetDataset,
    file_index: int,
    row_groups: Sequence[int],
    *,
    currency: str,
    tz: str,
) -> PieceColumns:
    """Read and normalise one piece of a file (its ``row_groups``).

    Raises:
        ValidationError: a malformed column or a row in another currency, naming the
            file and the column.
    """
    table, first_row = read_piece_table(data, file_index, row_groups)
    return normalise_table(
        table,
        label=data.files[file_index],
        columns=data.columns,
        first_row=first_row,
        currency=currency,
        tz=tz,
    )


def _whole_column(table: Any, name: str) -> Any:
    """Column ``name`` of an Arrow table as one array (chunks combined only when
    there are several: a single chunk is used as it is, not copied)."""
    found = table.column(name)
    return found.combine_chunks() if found.num_chunks != 1 else found.chunk(0)


def _check_currency(path: str, array: Any, currency: str) -> None:
    """Refuse a ``currency`` column naming another currency than the dataset's
    (case and blanks around it ignored, empty cells allowed): amounts in two
    currencies cannot be summed.

    Raises:
        ValidationError: naming ``path``, the column and the first other currency.
    """
    values = {v for v in array.unique().to_pylist() if v is not None}
    other = sorted(str(v) for v in values if str(v).strip().upper() != currency.upper())
    if other:
        raise ValidationError(
            f"{path}: column currency",
            other[0],
            f"every order in {currency} (the dataset's currency)",
        )


def read_piece_table(
    data: ParquetDataset, file_index: int, row_groups: Sequence[int]
) -> tuple[Any, int]:
    """The Arrow table of one piece of a file (its ``row_groups``, the dataset's
    columns; an empty table of them when there are none) and the ordinal of its first
    row in the dataset (``file_index << ROW_BITS | row``)."""
    pq = _pq()
    wanted = list(data.columns.values())
    handle = pq.ParquetFile(data.files[file_index])
    table = (
        handle.read_row_groups(list(row_groups), columns=wanted)
        if len(row_groups) and handle.metadata.num_row_groups
        else handle.schema_arrow.empty_table().select(wanted)
    )
    first_row = sum(data.row_groups[file_index][: row_groups[0]]) if len(row_groups) else 0
    return table, (file_index << ROW_BITS) + first_row


def normalise_table(
    table: Any,
    *,
    label: str,
    columns: dict[str, str],
    first_row: int,
    currency: str,
    tz: str,
) -> PieceColumns:
    """Normalise a pyarrow Table of orders (``columns``: dataset name -> the table's
    column name); ``label`` names it in errors; rows get ordinals from ``first_row``.

    Raises:
        ValidationError: a malformed column or a row in another currency, naming
            ``label`` and the column.
    """
    digits = currency_digits(currency)
    _zone(tz)
    path = label
    n = table.num_rows

    def col(name: str) -> Any:
        return _whole_column(table, columns[name])

    if "currency" in columns:
        _check_currency(path, col("currency"), currency)
    amount = _money(path, "amount", col("amount"), digits)
    returned = (
        _money(path, "returned_amount", col("returned_amount"), digits)
        if "returned_amount" in columns
        else np.zeros(n, dtype=np.int64)
    )
    over = returned > amount
    if over.any():
        row = int(np.flatnonzero(over)[0])
        raise ValidationError(
            f"{path}: row {(first_row & ((1 << ROW_BITS) - 1)) + row}, column returned_amount",
            int(returned[row]),
            f"at most the order's amount {int(amount[row])} (minor units)",
        )
    status = (
        _status(path, col("status"))
        if "status" in columns
        else np.full(n, STATUS_CODES.index(OrderStatus.DELIVERED), dtype=np.int8)
    )
    return PieceColumns(
        customer_id=_ids(path, col("customer_id")),
        row=np.int64(first_row) + np.arange(n, dtype=np.int64),
        placed_at=_micros(path, col("placed_at"), tz),
        amount=amount,
        returned_amount=returned,
        status=status,
        category=_text(col("category")) if "category" in columns else None,
        channel=_text(col("channel")) if "channel" in columns else None,
        order_id=_text(col("order_id")) if "order_id" in columns else None,
    )


def _encoded_text(values: AnyArray, field: str) -> tuple[AnyArray, list[str]]:
    """Text (None for blank) as codes into its distinct values sorted (-1 for None):
    pyarrow's hash table instead of a Python dict per row."""
    pa = _pa()
    pc = require("pyarrow.compute", extra="dask", purpose="reading Parquet orders")
    encoded = pc.dictionary_encode(pa.array(values, type=pa.string()))
    names = encoded.dictionary.to_pylist()
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names) + 1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(names), dtype=np.int64)
    rank[-1] = -1
    index = encoded.indices.fill_null(len(names)).to_numpy(zero_copy_only=False)
    return rank[np.asarray(index, dtype=np.int64)], [names[k] for k in order]


def columns_to_frame(columns: dict[str, Any], *, currency: str) -> OrderFrame:
    """An :class:`OrderFrame` of normalised columns (as :class:`PieceColumns` gives,
    possibly concatenated or shuffled), rows taken in dataset order (``row``).

    Text ids and categories are factorised by pyarrow; the frame is the one
    :meth:`OrderFrame.from_arrays` builds from the labels (ids and names sorted).

    Raises:
        ValidationError: a blank customer id.
    """
    order = np.argsort(np.asarray(columns["row"]), kind="stable")

    def pick(values: Any) -> Any:
        return None if values is None else np.asarray(values)[order]

    ids = np.asarray(columns["customer_id"])[order]
    text_ids: list[str] | None = None
    if ids.dtype == object:
        codes, text_ids = _encoded_text(ids, "customer_id")
        if (codes < 0).any() or "" in text_ids:
            raise ValidationError("customer_id", "", "non-empty string ids")
        ids = codes
    category = pick(columns.get("category"))
    category_codes = None
    if category is not None and columns.get("order_id") is None:
        category_codes = _encoded_text(category, "category")
        category = None
    frame = OrderFrame.from_arrays(
        customer_id=ids,
        placed_at=pick(columns["placed_at"]),
        amount=pick(columns["amount"]),
        returned_amount=pick(columns["returned_amount"]),
        status=pick(columns["status"]),
        category=category,
        channel=pick(columns.get("channel")),
        order_id=pick(columns.get("order_id")),
        currency=currency,
    )
    if text_ids is not None:
        names = np.empty(len(text_ids), dtype=object)
        names[:] = text_ids
        frame = attrs.evolve(frame, customer_ids=names)
    if category_codes is not None:
        codes, labels = category_codes
        new_codes, new_names = relabel(codes, labels)
        frame = attrs.evolve(frame, category=new_codes, category_names=new_names)
    return frame


def read_orders_parquet(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    currency: str = "CNY",
    tz: str = "Asia/Shanghai",
    rows_per_piece: int = 1 << 20,
) -> OrderFrame:
    """Read a Parquet dataset of orders into one :class:`OrderFrame` (one machine).

    The files are read piece by piece (whole row groups, about ``rows_per_piece``
    rows) straight into columns allocated once for the whole dataset: times, money
    and statuses as int64/int8, text (ids, categories, channels) as int32 codes into
    per-piece dictionaries unified at the end. The peak is the frame's columns plus
    one piece, not the Python objects of every text value (a dataset with an
    ``order_id`` column is read the general way, since its lines are merged by id).

    Args:
        source: a ``.parquet`` file, a directory, a glob, or a list of files.
        currency: the currency every order must be in.
        tz: the zone of naive timestamps and of dates.
        rows_per_piece: rows read at a time (row groups are never split).

    Raises:
        ValidationError: see :func:`dataset` and :func:`read_piece`.
        MissingDependency: pyarrow is not installed.
    """
    data = dataset(source)
    if "order_id" in data.columns:
        return _read_by_pieces(data, currency=currency, tz=tz)
    return _read_into_columns(data, currency=currency, tz=tz, rows_per_piece=rows_per_piece)


def _read_by_pieces(data: ParquetDataset, *, currency: str, tz: str) -> OrderFrame:
    """Every file normalised (object arrays for text), concatenated, then one frame:
    the general path, and the reference the column reader is tested against."""
    pieces = [
        read_piece(data, index, tuple(range(len(groups))), currency=currency, tz=tz)
        for index, groups in enumerate(data.row_groups)
    ]
    return columns_to_frame(joined_pieces(data, pieces), currency=currency)


def joined_pieces(data: ParquetDataset, pieces: Sequence[Any]) -> dict[str, AnyArray]:
    """The columns of ``pieces`` (one per file of ``data``, in file order) joined end to
    end.

    Raises:
        ValidationError: a file's customer ids are of another type than the first
            file's (the error names the file).
    """
    kinds = [p.customer_id.dtype.kind for p in pieces]
    for path, kind in zip(data.files, kinds, strict=True):
        if kind != kinds[0]:
            raise ValidationError(
                f"{path}: column customer_id", kind, f"ids of the first file's type ({kinds[0]})"
            )
    names = pieces[0].as_dict().keys()
    return {name: np.concatenate([np.asarray(getattr(p, name)) for p in pieces]) for name in names}


def _dictionary(array: Any) -> Any:
    """A text column as a dictionary array of ``string`` values (one dictionary type
    for every piece, so they unify)."""
    pa = _pa()
    pc = require("pyarrow.compute", extra="dask", purpose="reading Parquet orders")
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    return pc.dictionary_encode(array)


def _unified_codes(chunks: list[Any], out: npt.NDArray[Any], *, blank_missing: bool) -> list[str]:
    """Write the codes of ``chunks`` (dictionary arrays, in row order) into ``out`` as
    ranks into their distinct values sorted (-1 for null, and for blank text when
    ``blank_missing``); return the sorted values that are not missing."""
    pa = _pa()
    unified = pa.chunked_array(chunks, type=chunks[0].type).unify_dictionaries()
    names: list[Any] = unified.chunk(0).dictionary.to_pylist() if unified.num_chunks else []
    keep = [i for i, v in enumerate(names) if not (blank_missing and (v is None or not v.strip()))]
    order = sorted(keep, key=names.__getitem__)
    rank = np.full(len(names) + 1, -1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
    start = 0
    for chunk in unified.chunks:
        index = chunk.indices.fill_null(len(names)).to_numpy(zero_copy_only=False)
        out[start : start + len(chunk)] = rank[np.asarray(index, dtype=np.int64)]
        start += len(chunk)
    return [names[i] for i in order]


def _read_into_columns(
    data: ParquetDataset, *, currency: str, tz: str, rows_per_piece: int
) -> OrderFrame:
    pa = _pa()
    digits = currency_digits(currency)
    _zone(tz)
    n = data.total_rows
    columns = data.columns
    placed_at = np.empty(n, dtype=np.int64)
    amount = np.empty(n, dtype=np.int64)
    returned = np.zeros(n, dtype=np.int64)
    status = np.full(n, STATUS_CODES.index(OrderStatus.DELIVERED), dtype=np.int8)
    int_ids: npt.NDArray[np.int64] | None = None
    text: dict[str, list[Any]] = {"customer_id": [], "category": [], "channel": []}
    id_kind: tuple[str, str] | None = None  # (kind, the file that set it)
    start = 0
    for file_index, groups in data.pieces(rows_per_piece):
        path = data.files[file_index]
        table, _ = read_piece_table(data, file_index, groups)
        rows = table.num_rows
        piece = slice(start, start + rows)

        def col(name: str, table: Any = table) -> Any:
            return _whole_column(table, columns[name])

        if "currency" in columns:
            _check_currency(path, col("currency"), currency)
        amount[piece] = _money(path, "amount", col("amount"), digits)
        if "returned_amount" in columns:
            returned[piece] = _money(path, "returned_amount", col("returned_amount"), digits)
            over = returned[piece] > amount[piece]
            if over.any():
                row = int(np.flatnonzero(over)[0])
                first = sum(data.row_groups[file_index][: groups[0]]) if len(groups) else 0
                raise ValidationError(
                    f"{path}: row {first + row}, column returned_amount",
                    int(returned[start + row]),
                    f"at most the order's amount {int(amount[start + row])} (minor units)",
                )
        if "status" in columns:
            status[piece] = _status(path, col("status"))
        ids = col("customer_id")
        if ids.null_count:
            raise ValidationError(f"{path}: column customer_id", None, "an id in every row")
        if pa.types.is_dictionary(ids.type):
            ids = ids.cast(ids.type.value_type)  # from a pandas categorical, say
        if pa.types.is_integer(ids.type):
            kind = "i"
        elif pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
            kind = "O"
        else:
            raise ValidationError(
                f"{path}: column customer_id", str(ids.type), "integer or text ids"
            )
        if id_kind is None:
            id_kind = (kind, path)
        elif kind != id_kind[0]:
            raise ValidationError(
                f"{path}: column customer_id", kind, f"ids of the first file's type ({id_kind[0]})"
            )
        if kind == "i":
            if int_ids is None:
                int_ids = np.empty(n, dtype=np.int64)
            int_ids[piece] = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=np.int64)
        else:
            text["customer_id"].append(_dictionary(ids))
        placed_at[piece] = _micros(path, col("placed_at"), tz)
        for name in ("category", "channel"):
            if name in columns:
                text[name].append(_dictionary(col(name)))
        del table, ids
        start += rows
    customer_id: npt.NDArray[np.int64]
    text_ids: list[str] | None = None
    if int_ids is not None:
        customer_id = int_ids
    else:
        customer_id = np.empty(n, dtype=np.int64)
        text_ids = _unified_codes(text.pop("customer_id"), customer_id, blank_missing=False)
        if (customer_id < 0).any() or (text_ids and text_ids[0] == ""):
            raise ValidationError("customer_id", "", "non-empty string ids")
    labels: dict[str, tuple[npt.NDArray[np.int32], tuple[str, ...]]] = {}
    for name in ("category", "channel"):
        if name in columns:
            codes = np.empty(n, dtype=np.int32)
            found = _unified_codes(text.pop(name), codes, blank_missing=True)
            labels[name] = (codes, tuple(found))
    frame = OrderFrame.from_arrays(
        customer_id=customer_id,
        placed_at=placed_at,
        amount=amount,
        returned_amount=returned,
        status=status,
        currency=currency,
    )
    del customer_id, placed_at, amount, returned, status
    if text_ids is not None:
        names = np.empty(len(text_ids), dtype=object)
        names[:] = text_ids
        frame = attrs.evolve(frame, customer_ids=names)
    if "category" in labels:
        codes, found_names = labels["category"]
        frame = attrs.evolve(frame, category=codes, category_names=found_names)
    if "channel" in labels:
        codes, found_names = labels["channel"]
        frame = attrs.evolve(frame, channel=codes, channel_names=found_names)
    return frame
