"""The documented orders CSV format, parsed column by column with exact money.

The file is read whole and split into cells with numpy (the positions of commas and
newlines); each column is then parsed as one array: dates and times through a strict
check of their characters and numpy's ``datetime64`` parser, amounts into int64 minor
units by exact digit arithmetic, ids and labels by factorising their bytes. A cell the
vectorised check does not accept is parsed again on its own by the reference rules
(:func:`reference_time`, :func:`reference_minor`), so an unusual but valid spelling
(``+5``, ``1e3``, ``20240301``) is read exactly as before and a malformed cell is
reported with its physical line number (the header is line 1), its column and its raw
text: ``line 7, column amount: got '12,3x', expected ...``. A file with quoted cells or
bare carriage returns is split by the :mod:`csv` module instead, with the same result.

Ids are kept verbatim, surrounding whitespace included; an id cell (``customer_id``,
``order_id``) holding a control character (a tab, a quoted line break, DEL, C1) is
refused as the domain refuses such an id (:func:`~custmgmt.domain._validate.check_id`),
by one vectorised pass over the bytes of the distinct customer ids and of the order ids.

Rows that share an ``order_id`` are the lines of one order: their amounts (and returned
amounts) are summed, the order's category is the category of its largest line, and a
customer, time, status or channel that differs between the lines is an error naming
both lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from custmgmt.analytics import _convert as cv
from custmgmt.analytics._grouping import code_dtype, factorize
from custmgmt.domain._validate import _ID_REFUSED, ID_CHARACTERS
from custmgmt.domain.money import currency_digits
from custmgmt.domain.order import OrderStatus
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import ValidationError

__all__ = [
    "CSV_COLUMNS",
    "REQUIRED_COLUMNS",
    "cell_error",
    "read_orders_csv",
    "reference_minor",
    "reference_time",
    "time_bounds",
]

REQUIRED_COLUMNS = ("customer_id", "placed_at", "amount")
CSV_COLUMNS = (
    *REQUIRED_COLUMNS,
    "order_id",
    "currency",
    "category",
    "status",
    "returned_amount",
    "channel",
)
_STATUS = {s.value: i for i, s in enumerate(OrderStatus)}
_DELIVERED = list(OrderStatus).index(OrderStatus.DELIVERED)

I64 = npt.NDArray[np.int64]
Cells = npt.NDArray[Any]  # "S" bytes (NUL-padded) or an object array of bytes

_NL, _CR, _COMMA = 10, 13, 44
_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000
_EPOCH = datetime(1970, 1, 1)
#: Bytes one gathered column may take as a fixed-width matrix; a wider column (one
#: very long cell) is sliced cell by cell instead.
_MATRIX_BYTES = 64 << 20
_CHUNK = 1 << 14
#: A column with a cell wider than this is sliced cell by cell (one long cell would
#: make every row of a fixed-width matrix that wide).
_WIDE_CELL = 1 << 16
#: Bytes of the reused index buffer of :func:`_gather` (its rows shrink for wide cells).
_INDEX_BYTES = 16 << 20
#: Cells longer than this never match the vectorised time or amount patterns.
_FAST_TIME_WIDTH = 32
_FAST_AMOUNT_WIDTH = 24
_POW10 = np.array([10**k for k in range(19)], dtype=np.int64)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
# Bytes that can only belong to a blank cell: ASCII whitespace, padding, and any
# non-ASCII byte (a Unicode space such as U+3000 is checked in Python).
_MAYBE_BLANK = np.zeros(256, dtype=bool)
_MAYBE_BLANK[[0, 9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # str.isspace, ASCII
_MAYBE_BLANK[128:] = True
#: Bytes of id cells looked at per block by :func:`_refused_ids` (a small buffer, reused).
_ID_BLOCK = 1 << 18
_DEL, _C1_LEAD = 0x7F, 0xC2


def cell_error(line: int, column: str, value: Any, expected: str) -> ValidationError:
    """A ValidationError for one CSV cell, with ``.line`` and ``.column`` attributes."""
    error = ValidationError(f"line {line}, column {column}", value, expected)
    error.line = line  # type: ignore[attr-defined]
    error.column = column  # type: ignore[attr-defined]
    return error


# -- the reference rules for one cell ---------------------------------------------------
def time_bounds(zone: tzinfo) -> tuple[int, int]:
    """The µs range of instants that are dates both in UTC and in ``zone``.

    Every later step (the default ``--as-of``, printing a time in ``--tz``) can then
    turn a parsed time into a ``datetime`` without leaving years 1..9999.
    """
    low = to_epoch_micros(datetime(1, 1, 1, tzinfo=UTC))
    high = to_epoch_micros(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    first = zone.utcoffset(datetime(1, 1, 2)) or timedelta(0)
    last = zone.utcoffset(datetime(9999, 12, 30)) or timedelta(0)
    low = max(low, low - first // timedelta(microseconds=1))
    high = min(high, high - last // timedelta(microseconds=1))
    return low, high


def reference_time(text: str, zone: tzinfo) -> int:
    """µs UTC of one ``placed_at`` cell: an ISO date (midnight) or datetime; naive
    values are in ``zone``.

    Raises:
        ValueError: not an ISO date or datetime. OverflowError: beyond year 1..9999.
    """
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        moment = datetime(day.year, day.month, day.day)
    else:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return to_epoch_micros(moment)


def reference_minor(text: str, digits: int) -> int:
    """Exact minor units of one amount cell in major units (``"12.30"`` -> 1230).

    Raises:
        ValidationError: not a finite, non-negative decimal with at most ``digits``
            decimals that fits in int64 (``field`` is ``"amount"``).
    """
    return cv._one_minor(text.strip(), digits, "major", "amount")


# -- reading the bytes -------------------------------------------------------------------
def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    # Not an int: open() reads an int as a file descriptor, and closes it after.
    if not isinstance(path, str | bytes | os.PathLike):
        raise ValidationError("path", path, "a path to a CSV file (str or os.PathLike)")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as e:
        raise ValidationError(
            "path", os.fspath(path), f"a readable CSV file ({e.strerror or e})"
        ) from None


def _decode_error(data: bytes, error: UnicodeError, encoding: str) -> ValidationError:
    """Name the line, column and bytes of the first undecodable cell."""
    start = getattr(error, "start", 0)
    prefix = data[:start].decode(encoding, errors="replace")
    line = prefix.count("\n") + 1
    line_text = prefix[prefix.rfind("\n") + 1 :]
    rest = data[start:]
    stop = min(
        [i for i in (rest.find(b","), rest.find(b"\n"), rest.find(b"\r"), 64) if i >= 0]
        or [64]
    )
    column = "header"
    if line > 1:
        header = next(csv.reader([prefix.split("\n", 1)[0]]), [])
        names = [_normalise(h) for h in header]
        index = len(next(csv.reader([line_text]), [""])) - 1 if line_text else 0
        column = names[index] if index < len(names) else "row"
    cell_start = line_text.rfind(",") + 1
    value = line_text[cell_start:].encode(encoding, errors="replace") + rest[: max(stop, 1)]
    return cell_error(
        line, column, value, f"text in {encoding} (give the file's encoding with --encoding)"
    )


def _utf8(data: bytes, encoding: str) -> bytes:
    """The file as UTF-8 without a byte order mark, checked to decode."""
    expected = "a text encoding such as utf-8, gb18030 or latin-1"
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, ValueError, TypeError):
        raise ValidationError("encoding", encoding, expected) from None
    if name in ("utf-8", "utf-8-sig"):
        if not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _decode_error(data, e, "utf-8") from None
    else:
        try:
            text = data.decode(name)
        except LookupError:  # a codec that is not for text (rot13, zlib, ...)
            raise ValidationError("encoding", encoding, expected) from None
        except UnicodeError as e:
            raise _decode_error(data, e, name) from None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as e:
            line = text.count("\n", 0, e.start) + 1
            raise cell_error(
                line, "row", text[e.start : e.end], "text without lone surrogates"
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    return data


def _normalise(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().lower()


def _columns(header: list[str]) -> dict[str, int]:
    names = [_normalise(h) for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise cell_error(
            1, "header", names, f"the columns {list(REQUIRED_COLUMNS)} (missing {missing})"
        )
    twice = sorted({n for n in names if n in CSV_COLUMNS and names.count(n) > 1})
    if twice:
        raise cell_error(1, "header", names, f"each column once ({twice} repeat)")
    return {name: names.index(name) for name in CSV_COLUMNS if name in names}


# -- splitting into cells ----------------------------------------------------------------
class _Rows:
    """The data rows split into cells: the wanted columns and each row's line."""

    def __init__(self, lines: I64, cells: dict[str, Cells], lengths: dict[str, I64]) -> None:
        self.lines = lines
        self.cells = cells
        self.lengths = lengths

    def __len__(self) -> int:
        return len(self.lines)


def _gather(body: bytes, buf: npt.NDArray[np.uint8], start: I64, end: I64) -> Cells:
    """The bytes ``body[start[i]:end[i]]`` of every row as a NUL-padded "S" array."""
    n = len(start)
    length = end - start
    width = int(length.max()) if n else 0
    if width == 0:
        return np.zeros(n, dtype="S1")
    if n * width > _MATRIX_BYTES or width > _WIDE_CELL:
        sliced = np.empty(n, dtype=object)
        sliced[:] = [body[s:e] for s, e in zip(start.tolist(), end.tolist(), strict=True)]
        return sliced
    matrix = np.empty((n, width), dtype=np.uint8)
    steps = np.arange(width, dtype=np.int64)
    uniform = int(length.min()) == width
    # Small index and mask buffers, reused block after block (fresh full-size
    # temporaries cost more in page faults than the gathering itself).
    # Rows per block: at most _CHUNK, fewer for wide cells, so that the index buffer
    # (8 bytes per gathered byte) stays near _INDEX_BYTES whatever the width.
    rows = max(1, min(_CHUNK, n, _INDEX_BYTES // (8 * width)))
    index = np.empty((rows, width), dtype=np.int64)
    inside = np.empty((rows, width), dtype=bool)
    for first in range(0, n, rows):
        last = min(first + rows, n)
        size = last - first
        np.add(start[first:last, None], steps, out=index[:size])
        block = matrix[first:last]
        np.take(buf, index[:size], out=block, mode="clip")
        if not uniform:
            np.less(steps, length[first:last, None], out=inside[:size])
            np.multiply(block, inside[:size], out=block)
    return matrix.view(f"S{width}").reshape(n)


def _separators(buf: npt.NDArray[np.uint8], start: int) -> I64:
    """Positions of the commas and newlines from ``start`` on, found block by block
    (reusing two small masks is much faster than full-length temporaries)."""
    block = 1 << 20
    comma = np.empty(block, dtype=bool)
    newline = np.empty(block, dtype=bool)
    parts = []
    for first in range(start, len(buf), block):
        chunk = buf[first : first + block]
        size = len(chunk)
        np.equal(chunk, _COMMA, out=comma[:size])
        np.equal(chunk, _NL, out=newline[:size])
        np.logical_or(comma[:size], newline[:size], out=comma[:size])
        found = np.flatnonzero(comma[:size])
        found += first
        parts.append(found)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _split_fast(
    body: bytes, offset: int, first_line: int, n_cols: int, wanted: dict[str, int]
) -> _Rows:
    """Split ``body[offset:]`` (no quotes, no bare carriage returns, a final newline)."""
    buf = np.frombuffer(body, dtype=np.uint8)
    seps = _separators(buf, offset)
    newline_at = np.flatnonzero(buf[seps] == _NL)
    per_line = np.diff(newline_at, prepend=-1)
    line_end = seps[newline_at]
    line_start = np.full(len(line_end), offset, dtype=np.int64)
    line_start[1:] = line_end[:-1] + 1
    lines = first_line + np.arange(len(line_end), dtype=np.int64)

    def text(i: int) -> str:
        return body[line_start[i] : line_end[i]].rstrip(b"\r").decode("utf-8")

    irregular = per_line != n_cols
    if irregular.any():
        for i in np.flatnonzero(irregular).tolist():
            row = text(i)
            if row.replace(",", "").strip():
                raise cell_error(int(lines[i]), "row", row, f"{n_cols} cells like the header")
        regular = ~irregular
        seps = seps[np.repeat(regular, per_line)]
        line_start, line_end, lines = line_start[regular], line_end[regular], lines[regular]
    grid = seps.reshape(-1, n_cols)
    del seps

    def column(c: int) -> tuple[Cells, I64]:
        start = line_start if c == 0 else grid[:, c - 1] + 1
        end = grid[:, c]
        if c == n_cols - 1:
            end = end - ((buf[end - 1] == _CR) & (end > start))
        return _gather(body, buf, start, end), end - start

    # A row whose customer id is blank may be a blank line (",,,"): skipped, as the
    # csv module's reading skips it; anything else stays and is refused later.
    ids = column(wanted["customer_id"])
    blank = [
        i
        for i in _blank_candidates(ids[0]).tolist()
        if _is_blank(body[line_start[i] : line_end[i]])
    ]
    keep = None
    if blank:
        keep = np.ones(len(lines), dtype=bool)
        keep[blank] = False
    cells, lengths = {}, {}
    for name, c in wanted.items():
        values, length = ids if name == "customer_id" else column(c)
        cells[name] = values if keep is None else values[keep]
        lengths[name] = length if keep is None else length[keep]
    return _Rows(lines if keep is None else lines[keep], cells, lengths)


def _is_blank(line: bytes) -> bool:
    """Whether a line holds nothing but commas and whitespace."""
    return not line.decode("utf-8").replace(",", "").strip()


def _split_csv(data: bytes, wanted_names: Callable[[list[str]], dict[str, int]]) -> _Rows:
    """Split a file with quoted cells, bare carriage returns or NUL bytes (refused in a
    cell that is read) with the csv module."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as e:
        raise cell_error(1, "header", "", f"a readable header ({e})") from None
    wanted = wanted_names(header)
    n_cols = len(header)
    values: dict[str, list[bytes]] = {name: [] for name in wanted}
    lines: list[int] = []
    nul = b"\x00" in data
    while True:
        start = reader.line_num + 1  # a row's first physical line
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise cell_error(start, "row", "", f"a well-formed CSV row ({e})") from None
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != n_cols:
            raise cell_error(start, "row", ",".join(row), f"{n_cols} cells like the header")
        lines.append(start)
        for name, c in wanted.items():
            if nul and "\x00" in row[c]:
                raise cell_error(start, name, row[c], "text without NUL characters")
            values[name].append(row[c].encode("utf-8"))
    cells: dict[str, Cells] = {}
    lengths: dict[str, I64] = {}
    for name, items in values.items():
        lengths[name] = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        width = int(lengths[name].max(initial=0))
        if len(items) * width > _MATRIX_BYTES:
            column = np.empty(len(items), dtype=object)
            column[:] = items
            cells[name] = column
        else:
            cells[name] = np.array(items, dtype=f"S{max(width, 1)}")
    return _Rows(np.asarray(lines, dtype=np.int64), cells, lengths)


def _split(data: bytes, wanted_names: Callable[[list[str]], dict[str, int]]) -> _Rows:
    """Header and body: the numpy splitter when the file has no quotes and no bare
    carriage returns, else the csv module."""
    if (
        b'"' in data
        or b"\x00" in data
        or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))
    ):
        return _split_csv(data, wanted_names)
    if not data.endswith(b"\n"):
        data += b"\n"
    end = data.find(b"\n")
    header = next(csv.reader([data[:end].decode("utf-8").rstrip("\r")]), [])
    wanted = wanted_names(header)
    return _split_fast(data, end + 1, 2, len(header), wanted)


# -- factorising ids and labels ----------------------------------------------------------
def _hash(cells: Cells) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each cell of an "S" array (polynomial, then mixed)."""
    matrix = cells.view(np.uint8).reshape(len(cells), -1)
    hashed = np.zeros(len(cells), dtype=np.uint64)
    prime = np.uint64(1_099_511_628_211)
    for j in range(matrix.shape[1]):
        hashed *= prime
        hashed += matrix[:, j]
    # splitmix64's finaliser, so that the high bits depend on every byte too
    hashed ^= hashed >> np.uint64(30)
    hashed *= np.uint64(0xBF58476D1CE4E5B9)
    hashed ^= hashed >> np.uint64(27)
    hashed *= np.uint64(0x94D049BB133111EB)
    hashed ^= hashed >> np.uint64(31)
    return hashed


def _factorize(cells: Cells) -> tuple[Cells, I64]:
    """Distinct cell values (in no particular order) and each row's index into them."""
    n = len(cells)
    if n == 0:
        return cells[:0], np.empty(0, dtype=np.int64)
    if cells.dtype.kind != "S":
        table: dict[bytes, int] = {}
        codes = np.fromiter(
            (table.setdefault(x, len(table)) for x in cells.tolist()), dtype=np.int64, count=n
        )
        uniques = np.empty(len(table), dtype=object)
        uniques[:] = list(table)
        return uniques, codes
    hashed = _hash(cells)
    # Labels (categories, statuses) take few values: a sample usually finds them all,
    # and looking rows up among a few values is much cheaper than sorting them.
    sample = np.unique(hashed[:: max(1, n // 4096)])
    inverse = np.searchsorted(sample, hashed) if len(sample) <= 64 else None
    if inverse is not None and np.array_equal(sample[np.minimum(inverse, len(sample) - 1)], hashed):
        distinct = len(sample)
    else:
        # The hash's top bits, few enough that the grouping sorts a packed key of hash
        # and row number (a values-only sort) instead of an argsort; a collision is
        # caught below.
        hashed >>= np.uint64(min(63, max(1, n - 1).bit_length()))
        uniques_hashed, inverse = factorize(hashed.view(np.int64), "cells")
        distinct = len(uniques_hashed)
    first = np.empty(distinct, dtype=np.int64)
    first[inverse] = np.arange(n, dtype=np.int64)  # some row of each value
    if not np.array_equal(cells[first][inverse], cells):  # a hash collision: sort bytes
        _, first, inverse = np.unique(cells, return_index=True, return_inverse=True)
    return cells[first], inverse.astype(np.int64, copy=False).reshape(n)


def _decode(cells: Cells) -> list[str]:
    """The cells as text (numpy decodes pure ASCII at C speed)."""
    if cells.dtype.kind == "S" and (len(cells) == 0 or int(cells.view(np.uint8).max()) < 128):
        texts: list[str] = cells.astype(f"U{cells.dtype.itemsize}").tolist()
        return texts
    return [bytes(x).decode("utf-8") for x in cells.tolist()]


def _blank_candidates(cells: Cells) -> I64:
    """Rows whose cell may be blank (all others certainly are not)."""
    if cells.dtype.kind != "S" or len(cells) == 0:
        return np.arange(len(cells), dtype=np.int64)
    matrix = cells.view(np.uint8).reshape(len(cells), -1)
    rows = np.flatnonzero(_MAYBE_BLANK[matrix[:, 0]])  # the first byte rules out most
    return rows[_MAYBE_BLANK[matrix[rows]].all(axis=1)]


def _first_row(codes: I64, bad: list[int]) -> int:
    """The first row whose code is one of ``bad``."""
    return int(np.flatnonzero(np.isin(codes, np.asarray(bad, dtype=np.int64)))[0])


def _refused_ids(cells: Cells) -> I64:
    """The cells (ascending) holding a character an id may not hold: a control
    character (C0 with tab and line breaks, DEL, C1; see
    :func:`custmgmt.domain._validate.check_id`). NUL is the padding of an "S" array
    (and refused in a cell by the reader); lone surrogates never decode.

    Vectorised over the UTF-8 bytes, block by block with one small reused buffer:
    three reductions per block find nothing in a clean column (C0 ``01..1F`` and DEL
    ``7F`` are bytes of their own, a C1 character is ``C2 80..C2 9F``); only a block
    where one finds something is looked at byte by byte.
    """
    if cells.dtype.kind != "S":  # wide cells, sliced one by one
        texts = [bytes(x).decode("utf-8") for x in cells.tolist()]
        if not texts or not _ID_REFUSED.search(" ".join(texts)):
            return np.empty(0, dtype=np.int64)
        return np.asarray([k for k, t in enumerate(texts) if _ID_REFUSED.search(t)], np.int64)
    width = cells.dtype.itemsize
    flat = np.ascontiguousarray(cells).view(np.uint8).reshape(-1)
    step = max(1, _ID_BLOCK // width) * width  # whole cells per block
    buffer = np.empty(min(step, len(flat)), dtype=np.uint8)
    found = []
    for first in range(0, len(flat), step):
        block = flat[first : first + step]
        spare = buffer[: len(block)]
        np.subtract(block, 1, out=spare)  # 01..1F -> 00..1E; the padding 00 -> FF
        suspect = int(spare.min()) < 0x1F
        if not suspect:
            np.bitwise_xor(block, _DEL, out=spare)
            suspect = int(spare.min()) == 0
        if not suspect:
            np.bitwise_xor(block, _C1_LEAD, out=spare)
            suspect = int(spare.min()) == 0
        if not suspect:
            continue
        bad = ((block >= 0x01) & (block <= 0x1F)) | (block == _DEL)
        # A C2 lead byte is never a cell's last byte (the cells are valid UTF-8).
        bad[:-1] |= (block[:-1] == _C1_LEAD) & (block[1:] >= 0x80) & (block[1:] <= 0x9F)
        found.append(np.unique(np.flatnonzero(bad) // width) + first // width)
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _customers(rows: _Rows) -> tuple[npt.NDArray[Any], I64]:
    """Customer ids sorted ascending and the code of each row; ids are kept verbatim
    (surrounding whitespace included), blank ones and ones with a control character
    refused (as the domain refuses them), naming the first such line."""
    uniques, codes = _factorize(rows.cells["customer_id"])
    blank = [k for k in _blank_candidates(uniques).tolist() if not _text(uniques, k).strip()]
    refused = _refused_ids(uniques).tolist()
    if blank or refused:
        row = _first_row(codes, blank + refused)  # the first such line, whichever fault
        k = int(codes[row])
        expected = "a non-empty customer id" if k in blank else ID_CHARACTERS
        raise cell_error(int(rows.lines[row]), "customer_id", _text(uniques, k), expected)
    # UTF-8 bytes sort like the code points of their text, as Python sorts strings.
    order = np.argsort(uniques, kind="stable")
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = np.arange(len(order), dtype=np.int64)
    ids = np.empty(len(order), dtype=object)
    ids[:] = _decode(uniques[order])
    return ids, remap[codes].astype(code_dtype(len(ids)), copy=False)


def _labels(cells: Cells) -> tuple[npt.NDArray[np.int32], tuple[str, ...]]:
    """Codes into sorted label names (surrounding whitespace removed; -1 for blank)."""
    uniques, codes = _factorize(cells)
    texts = [t.strip() for t in _decode(uniques)]
    names = sorted({t for t in texts if t})
    position = {name: k for k, name in enumerate(names)}
    remap = np.asarray([position.get(t, -1) for t in texts], dtype=np.int32)
    return remap[codes] if len(codes) else np.empty(0, dtype=np.int32), tuple(names)


def _order_ids(cells: Cells, lines: I64) -> tuple[npt.NDArray[Any], I64]:
    """Order ids kept verbatim (None for a blank cell) and a group code per row:
    rows with the same id share it, a row without an id has its own. An id with a
    control character is refused (as the domain refuses it), naming its line."""
    n = len(cells)
    blank = [i for i in _blank_candidates(cells).tolist() if not _text(cells, i).strip()]
    refused = _refused_ids(cells)
    if len(refused):
        if blank:  # a blank cell (a lone tab) is a row without an order id
            refused = refused[~np.isin(refused, np.asarray(blank, dtype=np.int64))]
        if len(refused):
            row = int(refused[0])
            raise cell_error(int(lines[row]), "order_id", _text(cells, row), ID_CHARACTERS)
    if not blank and cells.dtype.kind == "S" and (n == 0 or int(cells.view(np.uint8).max()) < 128):
        ids: npt.NDArray[Any] = cells.astype(f"U{cells.dtype.itemsize}")  # decoded at C speed
    else:
        ids = np.empty(n, dtype=object)
        ids[:] = _decode(cells)
        ids[blank] = None
    if cells.dtype.kind == "S" and n:
        hashed = _hash(cells)
        if blank:
            hashed[blank] = np.arange(len(blank), dtype=np.uint64)  # never equal to each other
        ordered = np.sort(hashed)
        if not (ordered[1:] == ordered[:-1]).any():
            return ids, np.arange(n, dtype=np.int64)
    _, codes = _factorize(cells)
    if blank:
        codes = codes.copy()
        codes[blank] = int(codes.max(initial=-1)) + 1 + np.arange(len(blank), dtype=np.int64)
    return ids, codes


def _short(cells: Cells, length: I64, width: int) -> npt.NDArray[np.bool_] | None:
    """Which cells are at most ``width`` bytes long (None: no cell can be parsed fast)."""
    if cells.dtype.kind != "S" or len(cells) == 0:
        return None
    short: npt.NDArray[np.bool_] = length <= width
    return short if short.any() else None


# -- times -------------------------------------------------------------------------------
def _time_pattern(core: int) -> npt.NDArray[np.uint8]:
    """The character classes of an ISO time of ``core`` characters (see _TIME_CLASS)."""
    shape = "dddd-dd-dd" + "Tdd:dd" * (core >= 16) + ":dd" * (core >= 19)
    if core >= 21:
        shape += "." + "d" * (core - 20)
    codes = {"d": 1, "-": 2, ":": 3, "T": 4, ".": 5}
    return np.asarray([codes[c] for c in shape], dtype=np.uint8)


_TIME_CLASS = np.zeros(256, dtype=np.uint8)
_TIME_CLASS[48:58] = 1
_TIME_CLASS[[ord("-"), ord(":"), ord("T"), ord(" "), ord(".")]] = [2, 3, 4, 4, 5]
_TIME_CORES = {core: _time_pattern(core) for core in (10, 16, 19, 21, 22, 23, 24, 25, 26)}


def _fast_times(
    cells: Cells, length: I64
) -> tuple[npt.NDArray[np.bool_], I64, I64, npt.NDArray[np.bool_]]:
    """The cells in the common ISO shapes, parsed with numpy.

    ``YYYY-MM-DD``, then optionally ``[T ]HH:MM``, ``:SS``, ``.f`` to ``.ffffff`` and,
    after a time, ``Z`` or ``±HH:MM``. Returns (matched, wall-clock µs as if UTC,
    offset µs, has an offset); cells that do not match are left to the reference.
    """
    n = len(cells)
    matched = np.zeros(n, dtype=bool)
    wall = np.zeros(n, dtype=np.int64)
    offset = np.zeros(n, dtype=np.int64)
    aware = np.zeros(n, dtype=bool)
    short = _short(cells, length, _FAST_TIME_WIDTH)
    if short is None:
        return matched, wall, offset, aware
    if cells.dtype.itemsize > _FAST_TIME_WIDTH:
        found = _fast_times(cells[short].astype(f"S{_FAST_TIME_WIDTH}"), length[short])
        for whole, part in zip((matched, wall, offset, aware), found, strict=True):
            whole[short] = part
        return matched, wall, offset, aware
    width = cells.dtype.itemsize
    matrix = np.zeros((n, max(width, 26)), dtype=np.uint8)
    matrix[:, :width] = cells.view(np.uint8).reshape(n, width)
    # A suffix: "Z", or "+HH:MM" / "-HH:MM", after at least a time to the minute.
    zulu = np.zeros(n, dtype=bool)
    signed = np.zeros(n, dtype=bool)
    maybe = np.flatnonzero(length >= 17)
    zulu[maybe] = matrix[maybe, length[maybe] - 1] == ord("Z")
    maybe = np.flatnonzero(length >= 22)
    if len(maybe):
        tail = length[maybe]
        maybe = maybe[np.isin(matrix[maybe, tail - 6], (ord("+"), ord("-")))]
        tail = length[maybe]

        def at(back: int) -> npt.NDArray[np.uint8]:
            picked: npt.NDArray[np.uint8] = matrix[maybe, tail - back]
            return picked

        signed[maybe] = (at(3) == ord(":")) & np.logical_and.reduce(
            [(at(k) - np.uint8(48)) < 10 for k in (5, 4, 2, 1)]
        )
    core = length - zulu - 6 * signed
    ok = np.zeros(n, dtype=bool)
    counts = np.bincount(core, minlength=33)
    for size in np.flatnonzero(counts).tolist():
        pattern = _TIME_CORES.get(size)
        if pattern is None:
            continue
        rows = core == size
        block = matrix[:, :size] if counts[size] == n else matrix[rows, :size]
        fits = (_TIME_CLASS[block] == pattern).all(axis=1)
        if counts[size] == n:
            ok = fits
        else:
            ok[rows] = fits
    ok &= ~(zulu | signed) | (core >= 16)
    ok &= ~(matrix[:, :4] == ord("0")).all(axis=1)  # year 0 (numpy takes it, Python not)
    suffixed = np.flatnonzero(ok & (zulu | signed))
    if len(suffixed):
        aware[suffixed] = True
        plus = suffixed[signed[suffixed]]
        if len(plus):
            base = core[plus]
            part = matrix[plus].astype(np.int64) - 48
            rows = np.arange(len(plus))
            hours = part[rows, base + 1] * 10 + part[rows, base + 2]
            minutes = part[rows, base + 4] * 10 + part[rows, base + 5]
            sign = np.where(matrix[plus, base] == ord("-"), -1, 1)
            offset[plus] = sign * (hours * 60 + minutes) * 60_000_000
            ok[plus[(hours > 23) | (minutes > 59)]] = False
        # Cut the suffix off for numpy's parser (which would warn about it).
        matrix[suffixed] *= np.arange(matrix.shape[1]) < core[suffixed, None]
    chosen = np.flatnonzero(ok)
    if len(chosen) == 0:
        return matched, wall, offset, aware
    strings = matrix[:, :26] if len(chosen) == n else matrix[chosen, :26]
    texts = np.ascontiguousarray(strings).view("S26").reshape(-1)
    try:
        wall[chosen] = texts.astype("datetime64[us]").view(np.int64)
    except ValueError:  # an impossible date or time: blocks with one go to the reference
        for first in range(0, len(texts), 4096):
            window = slice(first, first + 4096)
            try:
                wall[chosen[window]] = texts[window].astype("datetime64[us]").view(np.int64)
            except ValueError:
                ok[chosen[window]] = False
    matched[ok] = True
    return matched, wall, offset, aware


def _exact_local(wall: int, zone: tzinfo) -> int:
    moment = (_EPOCH + timedelta(microseconds=wall)).replace(tzinfo=zone)
    return to_epoch_micros(moment)


def local_to_utc(wall: I64, zone: tzinfo) -> I64:
    """Naive wall-clock µs in ``zone`` to µs UTC, as ``datetime.replace(tzinfo=zone)``
    does (the earlier reading of a repeated hour, the offset before a skipped one).

    The offset is looked up once per distinct hour; rows in an hour whose offset
    changes before the next hour begins are converted one by one.
    """
    if len(wall) == 0:
        return wall.copy()
    hours = wall // _US_PER_HOUR
    first, last = int(hours.min()), int(hours.max())
    if last - first < 1 << 22:  # dense: count hours instead of sorting them
        present = np.flatnonzero(np.bincount(hours - first, minlength=last - first + 1))
        distinct = present + first
    else:
        distinct = np.unique(hours)
    points = np.union1d(distinct, distinct + 1)
    # numpy makes the naive datetimes at C speed; ZoneInfo reads their wall-clock
    # fields (a value past year 9999 comes back as an int: no offset known).
    moments = points.astype("datetime64[h]").astype(object).tolist()
    unit = timedelta(microseconds=1)
    found = [
        (zone.utcoffset(m) or timedelta(0)) // unit if isinstance(m, datetime) else None
        for m in moments
    ]
    offsets = np.asarray([0 if f is None else f for f in found], dtype=np.int64)
    known = np.asarray([f is not None for f in found], dtype=bool)
    start = np.searchsorted(points, distinct)
    following = np.searchsorted(points, distinct + 1)
    steady = known[start] & (~known[following] | (offsets[start] == offsets[following]))
    if last - first < 1 << 22:
        table = np.zeros(last - first + 1, dtype=np.int64)
        table[distinct - first] = offsets[start]
        calm = np.zeros(last - first + 1, dtype=bool)
        calm[distinct - first] = steady
        utc = wall - table[hours - first]
        unsteady = ~calm[hours - first]
    else:
        which = np.searchsorted(distinct, hours)
        utc = wall - offsets[start][which]
        unsteady = ~steady[which]
    for row in np.flatnonzero(unsteady).tolist():
        utc[row] = _exact_local(int(wall[row]), zone)
    return utc


def _times(rows: _Rows, zone: tzinfo) -> I64:
    cells = rows.cells["placed_at"]
    matched, wall, offset, aware = _fast_times(cells, rows.lengths["placed_at"])
    utc = np.empty(len(cells), dtype=np.int64)
    naive = matched & ~aware
    utc[naive] = local_to_utc(wall[naive], zone)
    utc[matched & aware] = (wall - offset)[matched & aware]
    expected = "an ISO date or datetime such as 2024-03-01 10:30"
    low, high = time_bounds(zone)
    for row in np.flatnonzero(~matched).tolist():
        text = _text(cells, row)
        try:
            utc[row] = reference_time(text, zone)
        except (ValueError, OverflowError):
            raise cell_error(int(rows.lines[row]), "placed_at", text, expected) from None
    outside = (utc < low) | (utc > high)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        bounds = (
            f"a time between {_show(low)} and {_show(high)} (UTC) that is also a date in "
            f"{zone}"
        )
        raise cell_error(int(rows.lines[row]), "placed_at", _text(cells, row), bounds)
    return utc


def _show(micros: int) -> str:
    return (datetime(1, 1, 1) + timedelta(microseconds=micros - _YEAR_ONE)).isoformat()


_YEAR_ONE = to_epoch_micros(datetime(1, 1, 1, tzinfo=UTC))


def _text(cells: Cells, row: int) -> str:
    value = cells[row]
    return bytes(value).decode("utf-8")


# -- money -------------------------------------------------------------------------------
def _fast_minor(cells: Cells, length: I64, digits: I64) -> tuple[npt.NDArray[np.bool_], I64]:
    """Plain decimals (``123``, ``12.30``, ``.5``) into minor units, exactly.

    Returns (matched, minor units); anything else (signs, exponents, spaces, too many
    digits or decimals) is left to the reference.
    """
    n = len(cells)
    matched = np.zeros(n, dtype=bool)
    minor = np.zeros(n, dtype=np.int64)
    short = _short(cells, length, _FAST_AMOUNT_WIDTH)
    if short is None:
        return matched, minor
    if cells.dtype.itemsize > _FAST_AMOUNT_WIDTH:
        found, values = _fast_minor(
            cells[short].astype(f"S{_FAST_AMOUNT_WIDTH}"), length[short], digits[short]
        )
        matched[short] = found
        minor[short] = values
        return matched, minor
    width = cells.dtype.itemsize
    matrix = cells.view(np.uint8).reshape(n, width)
    is_digit = (matrix - np.uint8(48)) < 10
    is_dot = matrix == ord(".")
    dots = np.count_nonzero(is_dot, axis=1)
    ok = (is_digit | is_dot | (matrix == 0)).all(axis=1) & (dots <= 1)
    ok &= is_digit.any(axis=1)
    point = np.where(dots == 1, np.argmax(is_dot, axis=1), length)
    decimals = np.where(dots == 1, length - point - 1, 0)
    # Exact while the digits fit in 18 (int64 holds 9.2e18); more decimals than the
    # currency has ("1.000") are left to the reference, which checks they are zeros.
    ok &= (point + digits <= 18) & (decimals <= digits)
    for column in range(width):  # all the digits as one integer, ignoring the point
        digit = is_digit[:, column]
        np.multiply(minor, np.where(digit, 10, 1), out=minor)
        minor += np.where(digit, matrix[:, column] - np.uint8(48), 0)
    minor *= _POW10[np.clip(digits - decimals, 0, 18)]
    matched[ok] = True
    minor[~ok] = 0
    return matched, minor


def _amounts(rows: _Rows, column: str, digits: I64, *, optional: bool) -> I64:
    cells = rows.cells[column]
    matched, minor = _fast_minor(cells, rows.lengths[column], digits)
    for row in np.flatnonzero(~matched).tolist():
        text = _text(cells, row)
        if optional and not text.strip():
            continue
        try:
            minor[row] = reference_minor(text, int(digits[row]))
        except ValidationError as e:
            raise cell_error(int(rows.lines[row]), column, text, e.expected) from None
    return minor


def _currencies(
    rows: _Rows, currency: str, rates: dict[str, Decimal]
) -> tuple[I64, list[str], npt.NDArray[np.int64]]:
    """Per row: an index into the currency names, the names, and their digits."""
    if "currency" not in rows.cells:
        places = np.array([currency_digits(currency)], dtype=np.int64)
        return np.zeros(len(rows), dtype=np.int64), [currency], places
    uniques, codes = _factorize(rows.cells["currency"])
    names = [u.decode("utf-8").strip() or currency for u in uniques]
    digits = []
    for k, name in enumerate(names):
        try:
            digits.append(currency_digits(name))
        except ValidationError:
            row = _first_row(codes, [k])
            raise cell_error(
                int(rows.lines[row]), "currency", name, "an ISO 4217 currency code"
            ) from None
        if name != currency and name not in rates:
            row = _first_row(codes, [k])
            raise cell_error(
                int(rows.lines[row]),
                "currency",
                name,
                f"{currency}, or a rate for {name} into {currency} (rates=...)",
            )
    return codes, names, np.asarray(digits, dtype=np.int64)


def _statuses(rows: _Rows) -> npt.NDArray[np.int8]:
    if "status" not in rows.cells:
        return np.full(len(rows), _DELIVERED, dtype=np.int8)
    uniques, codes = _factorize(rows.cells["status"])
    found = []
    for k, raw in enumerate(uniques):
        text = raw.decode("utf-8").strip()
        code = _STATUS.get(text.lower()) if text else _DELIVERED
        if code is None:
            row = _first_row(codes, [k])
            raise cell_error(int(rows.lines[row]), "status", text, f"one of {sorted(_STATUS)}")
        found.append(code)
    table = np.asarray(found, dtype=np.int8)
    return table[codes] if len(codes) else np.empty(0, dtype=np.int8)


# -- lines of one order ------------------------------------------------------------------
def merge_lines(
    data: dict[str, Any], group: I64, lines: I64, *, unit: str = "line"
) -> dict[str, Any]:
    """Collapse rows with the same order id into one row per order (see the module
    docstring); the order keeps the position of its first line.

    ``lines`` names each row in errors: CSV line numbers (``unit="line"``), or row
    positions of arrays (``unit="row"``). The one rule for every input path."""
    n = len(group)
    if n == 0:
        return data
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    if len(starts) == n:
        return data
    first = order[starts]  # the first row of each order (stable sort keeps file order)
    owner = np.repeat(first, np.diff(np.r_[starts, n]))  # per sorted row: its first row
    checks = (
        ("customer_code", "customer"),
        ("placed_at", "time"),
        ("status", "status"),
        ("channel", "channel"),
    )
    differs = [data[column][order] != data[column][owner] for column, _ in checks]
    conflicting = np.logical_or.reduce(differs)
    if conflicting.any():
        at = np.flatnonzero(conflicting)
        k = int(at[np.argmin(lines[order[at]])])  # the first such line in the file
        row, head = int(order[k]), int(owner[k])
        column, name = next(check for check, d in zip(checks, differs, strict=True) if d[k])
        raise _row_error(
            unit,
            int(lines[row]),
            "customer_id" if column == "customer_code" else column,
            _describe(data, column, row),
            f"the {name} of {unit} {int(lines[head])} ({_describe(data, column, head)!r}): rows "
            f"with order_id {str(data['order_id'][row])!r} are lines of one order",
        )
    approximate = np.add.reduceat(data["amount"][order].astype(np.float64), starts)
    if approximate.max() >= 9.2e18:  # the exact int64 sum below would wrap around
        head = int(first[int(np.argmax(approximate))])
        raise _row_error(
            unit,
            int(lines[head]),
            "amount",
            data["order_id"][head],
            "orders whose lines add up to an amount that fits in int64",
        )
    amounts = np.add.reduceat(data["amount"][order], starts)
    returned = np.add.reduceat(data["returned_amount"][order], starts)
    # The order's category: that of its largest line, the first such line on ties.
    category = data["category"]
    by_size = np.lexsort((np.arange(n), -data["amount"], group))
    size_starts = np.flatnonzero(np.r_[True, group[by_size][1:] != group[by_size][:-1]])
    main_category = category[by_size[size_starts]]
    # Orders are listed by the position of their first line.
    position = np.argsort(first, kind="stable")
    keep = first[position]
    # Multi-category orders also list every (order, category) pair, like a store's.
    new_row = np.empty(len(starts), dtype=np.int64)
    new_row[position] = np.arange(len(starts), dtype=np.int64)
    group_index = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    pairs = np.unique(
        np.stack([new_row[group_index], category[order].astype(np.int64)], axis=1), axis=0
    )
    pairs = pairs[pairs[:, 1] >= 0]
    counts = np.bincount(pairs[:, 0], minlength=len(starts)) if len(pairs) else np.zeros(0)
    multi = pairs[counts[pairs[:, 0]] > 1] if len(pairs) else pairs
    merged = dict(data)
    for column in ("customer_code", "placed_at", "status", "channel", "order_id"):
        merged[column] = data[column][keep]
    merged["amount"] = amounts[position]
    merged["returned_amount"] = returned[position]
    merged["category"] = main_category[position]
    if len(multi):
        # category codes sort like their names, so the pairs come out name-ordered
        merged["line_row"] = multi[:, 0].astype(np.int64)
        merged["line_category"] = multi[:, 1].astype(np.int32)
    return merged


def _row_error(unit: str, line: int, column: str, value: Any, expected: str) -> ValidationError:
    if unit == "line":
        return cell_error(line, column, value, expected)
    return ValidationError(f"{unit} {line}, column {column}", value, expected)


def _describe(data: dict[str, Any], column: str, row: int) -> Any:
    value = data[column][row]
    if column == "customer_code":
        return data["customer_ids"][value]
    if column == "placed_at":
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))).isoformat()
    if column == "status":
        return list(OrderStatus)[int(value)].value
    if column == "channel":
        return None if value < 0 else data["channel_names"][value]
    return value


# -- the whole file ----------------------------------------------------------------------
def read_orders_csv(
    path: str | os.PathLike[str],
    *,
    currency: str,
    zone: tzinfo,
    rates: dict[str, Decimal],
    encoding: str = "utf-8",
) -> dict[str, Any]:
    """Parse the file into columns (amounts already in minor units of ``currency``).

    Returns the keys ``customer_ids`` (sorted), ``customer_code``, ``placed_at``,
    ``amount``, ``returned_amount``, ``status``, ``category`` and ``category_names``,
    ``channel`` and ``channel_names``, ``order_id`` (None without the column),
    ``line_row`` and ``line_category`` (None unless an order has lines in several
    categories) and ``digits``, one entry per order.

    Raises:
        ValidationError: a missing or repeated column, a malformed cell (see
            :func:`cell_error`), a file that cannot be read (``field="path"``) or
            decoded (naming the line), an unknown ``encoding``.
    """
    digits = currency_digits(currency)
    data = _utf8(_read_bytes(path), encoding)
    if not data[:4096].strip() and not data.strip():
        raise ValidationError("path", os.fspath(path), "a CSV file with a header row")
    found: dict[str, int] = {}

    def wanted(header: list[str]) -> dict[str, int]:
        found.update(_columns(header))
        return found

    rows = _split(data, wanted)
    lines = rows.lines
    customer_ids, customer_code = _customers(rows)
    placed_at = _times(rows, zone)
    currency_code, currency_names, currency_places = _currencies(rows, currency, rates)
    row_digits = currency_places[currency_code] if len(rows) else np.empty(0, dtype=np.int64)
    amount = _amounts(rows, "amount", row_digits, optional=False)
    returned = (
        _amounts(rows, "returned_amount", row_digits, optional=True)
        if "returned_amount" in rows.cells
        else np.zeros(len(rows), dtype=np.int64)
    )
    for k, name in enumerate(currency_names):
        if name == currency:
            continue
        for row in np.flatnonzero(currency_code == k).tolist():
            try:
                amount[row] = cv.convert_minor(int(amount[row]), name, currency, rates[name])
                returned[row] = cv.convert_minor(int(returned[row]), name, currency, rates[name])
            except ValidationError as e:  # the converted amount leaves int64
                raise cell_error(
                    int(lines[row]), "amount", _text(rows.cells["amount"], row), e.expected
                ) from None
    over = returned > amount
    if over.any():
        row = int(np.flatnonzero(over)[0])
        raise cell_error(
            int(lines[row]),
            "returned_amount",
            _text(rows.cells["returned_amount"], row),
            "at most the amount",
        )
    status = _statuses(rows)
    empty = (np.full(len(rows), -1, dtype=np.int32), ())
    category, category_names = (
        _labels(rows.cells["category"]) if "category" in rows.cells else empty
    )
    channel, channel_names = _labels(rows.cells["channel"]) if "channel" in rows.cells else empty
    result: dict[str, Any] = {
        "customer_ids": customer_ids,
        "customer_code": customer_code,
        "placed_at": placed_at,
        "amount": amount,
        "returned_amount": returned,
        "status": status,
        "category": category,
        "category_names": category_names,
        "channel": channel,
        "channel_names": channel_names,
        "order_id": None,
        "line_row": None,
        "line_category": None,
        "digits": digits,
    }
    if "order_id" in rows.cells:
        result["order_id"], group = _order_ids(rows.cells["order_id"], lines)
        result = merge_lines(result, group, lines)
    return result
