"""The orders CSV reader refuses the ids the domain refuses: an id cell (``customer_id``,
``order_id``) holding a control character (tab, line breaks, DEL, C1) is a cell error
naming its line, as ``Order`` would refuse the id; the vectorised check agrees with the
domain's own pattern on every text."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.analytics import _csv
from custmgmt.analytics.frames import OrderFrame
from custmgmt.domain._validate import _ID_REFUSED, ID_CHARACTERS
from custmgmt.errors import ValidationError
from custmgmt.testing import make_order


def _write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _refusal(path: Path) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        OrderFrame.from_csv(path)
    return info.value


# Each refused in an id by the domain; quoted when the csv module must split the file.
REFUSED = ["a\tb", "\tx", "x\t", "a\x01b", "a\x1fb", "a\x7fb", "c\x80", "c\x85", "c\x9f",
           '"a\nb"', '"a\rb"', '"a\r\nb"']  # fmt: skip


@pytest.mark.parametrize("cell", REFUSED)
def test_a_customer_id_with_a_control_character_is_refused_naming_its_line(
    tmp_path: Path, cell: str
) -> None:
    path = _write(tmp_path, f"customer_id,placed_at,amount\nok,2026-01-01,1\n{cell},2026-01-02,2\n")
    error = _refusal(path)
    assert (error.line, error.column) == (3, "customer_id")  # type: ignore[attr-defined]
    assert error.value == cell.strip('"')
    assert error.expected == ID_CHARACTERS
    with pytest.raises(ValidationError):  # what the domain says of the same id
        make_order(customer_id=cell.strip('"'))


@pytest.mark.parametrize("cell", REFUSED)
def test_an_order_id_with_a_control_character_is_refused_naming_its_line(
    tmp_path: Path, cell: str
) -> None:
    path = _write(
        tmp_path,
        f"customer_id,order_id,placed_at,amount\nc1,o1,2026-01-01,1\nc2,{cell},2026-01-02,2\n",
    )
    error = _refusal(path)
    assert (error.line, error.column) == (3, "order_id")  # type: ignore[attr-defined]
    assert error.value == cell.strip('"')
    assert error.expected == ID_CHARACTERS


@pytest.mark.parametrize(
    "cell", ["£5", "\u00a0x", "\u00bf", "\u0100", "\u2028x", "王芳", " pad ", "=1+1", "a b"]
)
def test_ids_the_domain_accepts_are_read_as_they_are(tmp_path: Path, cell: str) -> None:
    # C2 A0..C2 BF (NBSP, £, ¿) share the C1 characters' lead byte and stay ids.
    path = _write(tmp_path, f"customer_id,order_id,placed_at,amount\n{cell},{cell},2026-01-01,1\n")
    frame = OrderFrame.from_csv(path)
    assert frame.customer_ids.tolist() == [cell]
    assert frame.order_id is not None
    assert frame.order_id.tolist() == [cell]
    make_order(id=cell, customer_id=cell)  # the domain accepts them too


def test_a_blank_order_id_of_a_tab_is_still_a_row_without_an_order_id(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "customer_id,order_id,placed_at,amount\nc1,\t,2026-01-01,1\nc1, ,2026-01-02,2\n"
    )
    frame = OrderFrame.from_csv(path)
    assert frame.order_id is not None
    assert frame.order_id.tolist() == [None, None]
    assert len(frame) == 2


@pytest.mark.parametrize(
    ("rows", "line", "expected"),
    [
        pytest.param(["a\tb", "ok", " "], 2, ID_CHARACTERS, id="refused-before-blank"),
        pytest.param([" ", "ok", "a\tb"], 2, "a non-empty customer id", id="blank-before"),
        pytest.param(["ok", "z\x01", "ok", "y\x02", "z\x01"], 3, ID_CHARACTERS, id="repeated"),
        pytest.param(["z\x01", "ok", "a\x02"], 2, ID_CHARACTERS, id="first-of-two"),
    ],
)
def test_the_first_faulty_customer_id_in_the_file_is_named(
    tmp_path: Path, rows: list[str], line: int, expected: str
) -> None:
    body = "".join(f"{cell},2026-01-01,1\n" for cell in rows)
    error = _refusal(_write(tmp_path, "customer_id,placed_at,amount\n" + body))
    assert (error.line, error.column) == (line, "customer_id")  # type: ignore[attr-defined]
    assert error.expected == expected


def test_a_very_wide_id_cell_is_checked_too(tmp_path: Path) -> None:
    # A cell wider than _WIDE_CELL is sliced on its own (an object column).
    wide = "w" * (_csv._WIDE_CELL + 10)
    text = f"customer_id,order_id,placed_at,amount\n{wide},{wide}\t,2026-01-01,1\n"
    error = _refusal(_write(tmp_path, text))
    assert (error.line, error.column) == (2, "order_id")  # type: ignore[attr-defined]
    text = f"customer_id,placed_at,amount\nok,2026-01-01,1\n{wide}\x85,2026-01-01,1\n"
    error = _refusal(_write(tmp_path, text, "b.csv"))
    assert (error.line, error.column) == (3, "customer_id")  # type: ignore[attr-defined]


def test_a_tab_separated_file_is_refused_rather_than_read_as_one_column_of_ids(
    tmp_path: Path,
) -> None:
    # A spreadsheet's TSV export saved as .csv: every "id" used to carry the row's tabs.
    path = _write(tmp_path, "customer_id,placed_at,amount\nc1\t2026-01-01\t1,2026-01-01,1\n")
    assert _refusal(path).column == "customer_id"  # type: ignore[attr-defined]


# -- the vectorised check against the domain's pattern --------------------------------------
_ID_TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00")
    | st.sampled_from(["\t", "\n", "\r", "\x7f", "\x80", "\x85", "\x9f", "\xa0", "£", "\x1f"]),
    max_size=6,
)


def _cells(texts: list[str], as_objects: bool) -> Any:
    raw = [t.encode("utf-8") for t in texts]
    if as_objects:
        cells = np.empty(len(raw), dtype=object)
        cells[:] = raw
        return cells
    return np.array(raw, dtype=f"S{max([len(r) for r in raw] + [1])}")


@given(texts=st.lists(_ID_TEXT, max_size=40), as_objects=st.booleans(), block=st.integers(1, 64))
def test_the_vectorised_check_finds_exactly_the_ids_the_domain_refuses_for_characters(
    texts: list[str], as_objects: bool, block: int
) -> None:
    expected = [k for k, t in enumerate(texts) if _ID_REFUSED.search(t)]
    with mock.patch.object(_csv, "_ID_BLOCK", block):  # blocks of a few cells, or one
        found = _csv._refused_ids(_cells(texts, as_objects))
    assert found.tolist() == expected


def _domain_accepts(customer_id: str) -> bool:
    try:
        make_order(customer_id=customer_id)
    except ValidationError:
        return False
    return True


@given(
    cell=_ID_TEXT.filter(lambda t: t.strip() and not set(t) & set(',"\r\n')),
    quoted=st.booleans(),
)
def test_the_reader_refuses_an_id_exactly_when_order_does(cell: str, quoted: bool) -> None:
    shown = f'"{cell}"' if quoted else cell  # quoted: the csv module splits the file
    data = f"customer_id,placed_at,amount\n{shown},2026-01-01,1\n".encode()
    rows = _csv._split(data, _csv._columns)
    try:
        _csv._customers(rows)
    except ValidationError:
        read = False
    else:
        read = True
    assert read == _domain_accepts(cell)
