"""Rows of PostgreSQL's binary COPY format built column by column with numpy.

A binary COPY tuple is a 16-bit field count, then per field a 32-bit length (-1 for
NULL) and that many bytes, every number big-endian. The server then reads each value
with its type's ``recv`` function, which costs far less than parsing text: no number
or date parsing, no escapes. Building the tuples row by row in Python would cost more
than the server saves, so :class:`BinaryRows` lays the block out as a byte matrix, one
row per tuple and one slot per field, each slot as wide as that field's widest value;
a mask keeps each value's own bytes, and ``matrix[mask]`` (row-major) is the block's
tuples back to back. Every step is a numpy operation over a whole column, except
encoding strings to UTF-8.

Layouts (PostgreSQL 15, ``src/backend/utils/adt``): ``int4``/``int8`` big-endian;
``timestamptz`` int8 microseconds since 2000-01-01 UTC; ``text`` its bytes in the
client encoding (UTF-8 here); ``numeric`` ``ndigits, weight, sign, dscale`` (int16
each) then ``ndigits`` base-10000 digits (int16), most significant first, ``weight``
the power of 10000 of the first. ``numeric_recv`` strips leading and trailing zero
digits (``make_result``), so a fixed number of digits per value stores the same
numeric as its shortest form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["COPY_HEADER", "COPY_TRAILER", "PG_EPOCH_US", "BinaryRows", "text_field"]

#: The binary COPY signature, flags (0: no OIDs) and header extension length (0).
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
#: The field count -1 that ends the data.
COPY_TRAILER = b"\xff\xff"
#: 2000-01-01 UTC in µs since the Unix epoch: PostgreSQL's timestamp origin.
PG_EPOCH_US = 946_684_800_000_000

_NBASE_DIGITS = 4  # decimal digits per numeric digit (base 10000)
_NUMERIC_POS, _NUMERIC_NEG = 0x0000, 0x4000
#: Base-10000 digits before the point in every numeric written: 10^20 > 2^63.
_INTEGER_GROUPS = 5

Int64Array = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


#: One column (or run of columns) of a block: a slot matrix, one row per tuple, and
#: how many leading bytes of its slot each row uses (None: all of them).
Field = tuple[npt.NDArray[np.uint8], Int64Array | None]


def text_field(values: npt.NDArray[np.object_]) -> Field:
    """A ``text`` column from an object array of ``str`` or None, encoded as UTF-8 (the
    client encoding of the store's connections); reusable in several :class:`BinaryRows`.

    Raises:
        ValueError: a value holds a NUL character (which ``text`` cannot store).
    """
    n = len(values)
    missing: Mask = values == None  # noqa: E711 (elementwise on an object array)
    given = np.where(missing, "", values) if missing.any() else values
    # One encode of the whole column, the values NUL-separated: no value holds a NUL
    # (the server refuses them, and so does OrderBatch), so the NULs are the bounds.
    data = np.frombuffer("\0".join(given.tolist()).encode(), dtype=np.uint8)
    ends = np.flatnonzero(data == 0)
    if len(ends) != max(n - 1, 0):
        raise ValueError("a text value holds a NUL character")
    lengths = np.diff(np.concatenate(([-1], ends, [len(data)]))) - 1
    width = int(lengths.max(initial=0))
    matrix = np.empty((n, 4 + width), dtype=np.uint8)
    prefix = np.where(missing, -1, lengths).astype(">i4")
    matrix[:, :4] = prefix.view(np.uint8).reshape(n, 4)
    if width:
        # Each row's bytes at the start of its slot, row after row: the mask's order.
        payload = matrix[:, 4:]
        payload[np.arange(width) < lengths[:, None]] = data[data != 0]
    used: Int64Array = np.where(missing, 0, lengths) + 4
    return matrix, used


class BinaryRows:
    """The binary COPY tuples of ``n`` rows, given column by column.

    Add the fields in the COPY statement's column order, then take :meth:`tobytes`.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._slots: list[Field] = []
        self._fields = 0

    def add(self, field: Field, columns: int = 1) -> None:
        """Append ``field``, which holds ``columns`` columns."""
        self._slots.append(field)
        self._fields += columns

    def _add(self, matrix: npt.NDArray[np.uint8], used: Int64Array | None) -> None:
        self.add((matrix, used))

    def _fixed(
        self, values: npt.NDArray[np.int64], kind: str, present: Mask | None
    ) -> None:
        size = np.dtype(kind).itemsize
        layout = np.dtype([("length", ">i4"), ("value", kind)])
        field = np.empty(self.n, dtype=layout)
        field["value"] = values
        if present is None:
            field["length"] = size
            used = None
        else:
            field["length"] = np.where(present, size, -1)
            used = np.where(present, 4 + size, 4).astype(np.int64)
        self._add(field.view(np.uint8).reshape(self.n, 4 + size), used)

    def int4(self, values: npt.ArrayLike, present: Mask | None = None) -> None:
        """An ``integer`` column (NULL where ``present`` is False)."""
        self._fixed(np.broadcast_to(np.asarray(values, dtype=np.int64), self.n), ">i4", present)

    def int8(self, values: npt.ArrayLike, present: Mask | None = None) -> None:
        """A ``bigint`` column (NULL where ``present`` is False)."""
        self._fixed(np.broadcast_to(np.asarray(values, dtype=np.int64), self.n), ">i8", present)

    def timestamptz(self, micros: Int64Array, present: Mask | None = None) -> None:
        """A ``timestamptz`` column from µs since the Unix epoch, UTC."""
        self._fixed(np.asarray(micros, dtype=np.int64) - PG_EPOCH_US, ">i8", present)

    def null(self) -> None:
        """A column that is NULL in every row."""
        self._add(np.broadcast_to(np.frombuffer(b"\xff" * 4, dtype=np.uint8), (self.n, 4)), None)

    def text(self, values: npt.NDArray[np.object_]) -> None:
        """A ``text`` column from an object array of ``str`` or None (see
        :func:`text_field`)."""
        self.add(text_field(values))

    def coded(
        self,
        codes: npt.ArrayLike,
        templates: Sequence[bytes],
        columns: int,
        values: Int64Array,
        value_at: Sequence[int],
    ) -> None:
        """``columns`` consecutive columns whose encoding is ``templates[codes[i]]`` in
        row ``i`` (each template holds its length prefixes), with the big-endian int8
        ``values[i]`` written over that template's bytes at ``value_at[code]`` (-1:
        none). Columns fixed by a code, such as an order's status and its step
        columns, cost one gather instead of a slot each."""
        index = np.asarray(codes, dtype=np.intp)
        lengths = np.array([len(t) for t in templates], dtype=np.int64)
        width = int(lengths.max(initial=0))
        table = np.zeros((len(templates), width), dtype=np.uint8)
        for row, template in enumerate(templates):
            table[row, : len(template)] = np.frombuffer(template, dtype=np.uint8)
        matrix = table[index]
        big = np.asarray(values, dtype=">i8").view(np.uint8).reshape(self.n, 8)
        for code, at in enumerate(value_at):
            if at >= 0:
                rows = np.flatnonzero(index == code)
                matrix[rows, at : at + 8] = big[rows]
        self.add((matrix, lengths[index]), columns)

    def constant_text(self, value: str) -> None:
        """A ``text`` column holding ``value`` in every row."""
        data = value.encode()
        field = np.frombuffer(len(data).to_bytes(4, "big") + data, dtype=np.uint8)
        self._add(np.broadcast_to(field, (self.n, len(field))), None)

    def numeric(self, minor: Int64Array, digits: int, present: Mask | None = None) -> None:
        """A ``numeric`` column of ``minor / 10**digits`` at scale ``digits`` (the same
        value and scale the text ``{minor}e-{digits}`` reads as)."""
        minor = np.asarray(minor, dtype=np.int64)
        magnitude = np.abs(minor).astype(np.uint64)  # |int64 min| fits in uint64
        scale = 10**digits
        whole, fraction = magnitude // np.uint64(scale), magnitude % np.uint64(scale)
        fraction_groups = -(-digits // _NBASE_DIGITS)
        ndigits = _INTEGER_GROUPS + fraction_groups
        layout = np.dtype(
            [("length", ">i4"), ("head", ">i2", (4,)), ("digits", ">i2", (ndigits,))]
        )
        field = np.empty(self.n, dtype=layout)
        field["head"][:, 0] = ndigits
        field["head"][:, 1] = _INTEGER_GROUPS - 1  # weight of the first digit
        field["head"][:, 2] = np.where(minor < 0, _NUMERIC_NEG, _NUMERIC_POS)
        field["head"][:, 3] = digits
        base = np.uint64(10**_NBASE_DIGITS)
        for k in range(_INTEGER_GROUPS - 1, -1, -1):
            field["digits"][:, k] = whole % base
            whole //= base
        # The fraction, padded on the right to whole base-10000 digits.
        padded = fraction * np.uint64(10 ** (fraction_groups * _NBASE_DIGITS - digits))
        for k in range(ndigits - 1, _INTEGER_GROUPS - 1, -1):
            field["digits"][:, k] = padded % base
            padded //= base
        size = 8 + 2 * ndigits
        if present is None:
            field["length"] = size
            used = None
        else:
            field["length"] = np.where(present, size, -1)
            used = np.where(present, 4 + size, 4).astype(np.int64)
        self._add(field.view(np.uint8).reshape(self.n, 4 + size), used)

    def tobytes(self) -> bytes:
        """The tuples, in row order (no header or trailer)."""
        n = self.n
        count = np.full(n, self._fields, dtype=">i2").view(np.uint8).reshape(n, 2)
        slots: list[Field] = [(count, None), *self._slots]
        widths = [matrix.shape[1] for matrix, _ in slots]
        starts = np.cumsum([0, *widths[:-1]]).tolist()
        # The rows as records of one opaque (void) member per slot: numpy copies each
        # slot as one block per row, not byte by byte.
        layout = np.dtype(
            {
                "names": [f"s{k}" for k in range(len(slots))],
                "formats": [f"V{w}" for w in widths],
                "offsets": starts,
                "itemsize": sum(widths),
            }
        )
        out = np.empty(n, dtype=layout)
        keep: Mask | None = None
        for k, (matrix, used) in enumerate(slots):
            out[f"s{k}"] = np.ascontiguousarray(matrix).view(f"V{widths[k]}").reshape(n)
            if used is not None:
                if keep is None:
                    keep = np.ones((n, sum(widths)), dtype=bool)
                end = starts[k] + widths[k]
                keep[:, starts[k] : end] = np.arange(widths[k]) < used[:, None]
        raw = out.view(np.uint8).reshape(n, sum(widths))
        return raw.tobytes() if keep is None else raw[keep].tobytes()
