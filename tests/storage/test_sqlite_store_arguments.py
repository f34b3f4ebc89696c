"""SQLiteStore names a bad path or timeout instead of failing inside sqlite3."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.errors import CustMgmtError, ValidationError


@pytest.mark.parametrize("path", ["a\x00b", Path("dir\x00/x.db")])
def test_a_path_with_a_nul_character_is_refused(path: Any) -> None:
    with pytest.raises(ValidationError, match=r"^database: .*without NUL characters"):
        SQLiteStore(path)


@pytest.mark.parametrize(
    "timeout", [float("nan"), float("inf"), -1, "abc", None, 10**400, True, 3_000_000]
)
def test_a_timeout_that_is_not_seconds_in_range_is_refused(timeout: Any) -> None:
    with pytest.raises(ValidationError, match=r"^timeout: got .*a number of seconds"):
        SQLiteStore(":memory:", timeout=timeout)


@pytest.mark.parametrize("timeout", [0, 0.5, 30, 2_000_000])
def test_timeouts_in_range_are_accepted(timeout: float, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "t.db", timeout=timeout) as store:
        assert store.customers.count() == 0


@given(
    database=st.one_of(
        st.just(":memory:"),
        st.text(max_size=10).map(lambda t: t + "\x00"),
        st.integers(),
        st.none(),
        st.binary(max_size=5).map(lambda b: b + b"\x00"),
    ),
    timeout=st.one_of(
        st.floats(), st.integers(), st.text(max_size=5), st.none(),
        st.sampled_from([10**400, -(2**63)]),
    ),
    verify_reads=st.booleans(),
)
def test_bad_arguments_raise_only_custmgmt_errors(
    database: Any, timeout: Any, verify_reads: bool
) -> None:
    with contextlib.suppress(CustMgmtError):
        SQLiteStore(database, timeout=timeout, verify_reads=verify_reads).close()
