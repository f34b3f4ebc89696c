"""``Columns`` keeps two customers two customers (round 35).

``Columns(customer_ids=[...])`` made a numpy text array of the ids, which drops a
trailing NUL: ``"a\\x00"`` and ``"a"`` became one id, and a segment assignment or a
migration table merged two customers. Text ids with a control character are now refused,
as a domain id is, naming the row; numeric ids (row numbers) are still taken.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain._validate import check_id
from custmgmt.errors import ValidationError
from custmgmt.segmentation.table import Columns


def test_a_trailing_nul_no_longer_merges_two_customers() -> None:
    with pytest.raises(ValidationError) as caught:
        Columns(["a\x00", "a"], {"spend": [1.0, 2.0]})
    assert caught.value.field == "Columns.customer_ids[0]"
    assert caught.value.value == "a\x00"
    assert str(caught.value).isprintable()


@pytest.mark.parametrize(
    "ids",
    [
        ["ok", "b\t"],
        ("ok", "b\n"),
        np.array(["ok", "b\x85"], dtype=object),
        np.array(["ok", "b\x00c"]),  # a NUL inside the id survives in a numpy text array
        np.array(["ok", "b\x9b"]),
    ],
    ids=["list-tab", "tuple-newline", "object-c1", "str-array-inner-nul", "str-array-c1"],
)
def test_a_control_character_in_any_form_of_ids_is_refused_naming_the_row(ids: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Columns(ids, {"spend": [1.0, 2.0]})  # type: ignore[arg-type]
    assert caught.value.field == "Columns.customer_ids[1]"


def test_printable_and_numeric_ids_are_kept_as_before() -> None:
    table = Columns(["客户-1", "a b", " pad "], {"x": [1, 2, 3]})
    assert table.customer_ids.tolist() == ["客户-1", "a b", " pad "]
    assert Columns(np.arange(3), {"x": [1, 2, 3]}).customer_ids.tolist() == [0, 1, 2]
    assert Columns([7, 8], {"x": [1, 2]}).customer_ids.dtype.kind == "i"


def test_with_columns_keeps_the_checked_ids_and_checks_the_new_lengths() -> None:
    table = Columns(["a", "b"], {"x": [1, 2]}).with_columns({"y": [3, 4]})
    assert table.names == ("x", "y")
    assert table.customer_ids.tolist() == ["a", "b"]
    with pytest.raises(ValidationError):
        table.with_columns({"z": [1]})


@given(st.lists(st.text(max_size=4), min_size=1, max_size=6, unique=True))
def test_every_accepted_list_of_distinct_ids_stays_distinct(ids: list[str]) -> None:
    # The invariant the NUL broke: n distinct ids in, n distinct ids out, exactly.
    try:
        table = Columns(ids, {"x": list(range(len(ids)))})
    except ValidationError as exc:
        row = int(exc.field.rsplit("[", 1)[1].rstrip("]"))
        with pytest.raises(ValidationError):
            check_id("id", ids[row] if ids[row].strip() else "x" + ids[row])
        return
    assert table.customer_ids.tolist() == ids
