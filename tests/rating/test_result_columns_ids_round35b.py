"""RatingResults refuses the customer ids CustomerRating refuses: a control character
(tab, line breaks, C1 too) in an id, and a trailing NUL that a numpy text array would
drop (the run would have stored "a\\x00" as the customer "a")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.domain._validate import ID_CHARACTERS
from custmgmt.errors import ValidationError
from custmgmt.rating import RatingResults
from custmgmt.rating.records import CustomerRating


def _results(ids: Any) -> RatingResults:
    n = len(ids)
    return RatingResults.from_arrays(
        run_id="r1", customer_ids=ids, score=np.linspace(0, 1, n), stars=np.ones(n, np.int64),
        computed_stars=np.ones(n, np.int64),
    )  # fmt: skip


def _record_accepts(customer_id: str) -> bool:
    try:
        CustomerRating(run_id="r1", customer_id=customer_id, score=0.5, stars=1,
                       computed_stars=1)  # fmt: skip
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("bad", ["b\tc", "b\nc", "b\rc", "c\x85", "c\x9f", "c\x7f", "\tb"])
@pytest.mark.parametrize("as_array", [False, True])
def test_an_id_with_a_control_character_is_refused_naming_its_row(bad: str, as_array: bool) -> None:
    ids: Any = ["a", bad, "z"]
    with pytest.raises(ValidationError) as info:
        _results(np.asarray(ids, dtype=object) if as_array else ids)
    assert (info.value.field, info.value.value) == ("customer_ids[1]", bad)
    assert info.value.expected == ID_CHARACTERS
    assert not _record_accepts(bad)


def test_a_trailing_nul_in_a_list_is_refused_not_merged_with_the_id_before_it() -> None:
    with pytest.raises(ValidationError) as info:
        _results(["a\x00", "b"])
    assert (info.value.field, info.value.value) == ("customer_ids[0]", "a\x00")
    # Without the NUL check, ["a", "a\x00"] was one customer "a" twice; now the NUL
    # is named (not "each customer once").
    with pytest.raises(ValidationError, match=r"customer_ids\[1\]"):
        _results(["a", "a\x00"])


def test_what_was_accepted_still_is() -> None:
    assert _results([3, 1, 2]).customer_ids.tolist() == ["1", "2", "3"]  # ints as text
    assert _results([1, "a"]).customer_ids.tolist() == ["1", "a"]
    assert _results(np.array(["b", "a\u2028x"])).customer_ids.tolist() == ["a\u2028x", "b"]
    with pytest.raises(ValidationError, match="at most 128"):
        _results(["a", "x" * 129])


@given(st.lists(st.text(st.characters(codec="utf-8"), min_size=1, max_size=4), min_size=1,
                max_size=5, unique=True))  # fmt: skip
def test_the_columns_accept_exactly_the_ids_records_accept(ids: list[str]) -> None:
    try:
        results = _results(ids)
    except ValidationError:
        assert not all(map(_record_accepts, ids))
    else:
        assert all(map(_record_accepts, ids))
        assert sorted(results.customer_ids.tolist()) == sorted(ids)
