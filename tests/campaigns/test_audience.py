"""Audience building: the vectorised decisions equal a slow reference; holdout and SRM."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.campaigns.audience import (
    SUPPRESSION_CODES,
    SendReason,
    decide_audience,
    holdout_hash,
    holdout_hash_reference,
    sample_ratio_check,
)
from custmgmt.errors import ValidationError

DAY_US = 86_400_000_000
MIN_US = 60_000_000
SUPP = {1: SendReason.RESTRICTED, 2: SendReason.BLACKLISTED, 3: SendReason.ERASED,
        4: SendReason.UNSUBSCRIBED}


def reference(
    ids: list[str], consent: list[bool], supp: list[int], offsets: list[int],
    sends: list[tuple[int, int]], now: int, cap: int | None, window: int, share: float,
    salt: str, quiet: tuple[int, int] | None,
) -> list[tuple[SendReason, int]]:
    """One customer at a time, in the documented order."""
    out = []
    for i, cid in enumerate(ids):
        off = offsets[i] * 1_000_000
        if not consent[i]:
            out.append((SendReason.NO_CONSENT, -1))
            continue
        if supp[i]:
            out.append((SUPP[supp[i]], -1))
            continue
        today = (now + off) // DAY_US
        recent = sum(1 for c, t in sends if c == i and (t + off) // DAY_US > today - window)
        if cap is not None and recent >= cap:
            out.append((SendReason.FREQUENCY_CAP, -1))
            continue
        if holdout_hash_reference(cid, salt) < share:
            out.append((SendReason.HOLDOUT, -1))
            continue
        if quiet is not None:
            local = now + off
            minute = (local % DAY_US) // MIN_US
            start, end = quiet
            inside = start <= minute < end if start < end else (minute >= start or minute < end)
            if inside:
                wait = (end - minute) if (start < end or minute < end) else (1440 - minute + end)
                out.append((SendReason.QUIET_HOURS, local - local % MIN_US + wait * MIN_US - off))
                continue
        out.append((SendReason.SENT, now))
    return out


ids_strategy = st.lists(
    st.text(alphabet="abc王芳0123-", min_size=1, max_size=6), min_size=1, max_size=40, unique=True
)


@settings(max_examples=150)
@given(
    ids=ids_strategy,
    data=st.data(),
    cap=st.one_of(st.none(), st.integers(1, 4)),
    window=st.integers(1, 10),
    share=st.sampled_from([0.0, 0.1, 0.3, 0.5]),
    quiet=st.one_of(st.none(), st.tuples(st.integers(0, 1439), st.integers(0, 1439)).filter(
        lambda q: q[0] != q[1])),
    now=st.integers(1_700_000_000, 1_800_000_000).map(lambda s: s * 1_000_000),
)
def test_the_vectorised_audience_equals_the_reference(
    ids: list[str], data: Any, cap: int | None, window: int, share: float,
    quiet: tuple[int, int] | None, now: int,
) -> None:
    n = len(ids)
    consent = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    supp = data.draw(st.lists(st.sampled_from([0, 0, 0, 1, 2, 3, 4]), min_size=n, max_size=n))
    offsets = data.draw(st.lists(st.sampled_from([-18000, 0, 19800, 28800, 50400]),
                                 min_size=n, max_size=n))
    sends = data.draw(st.lists(
        st.tuples(st.integers(-1, n - 1), st.integers(-12 * DAY_US, DAY_US).map(lambda d: now + d)),
        max_size=80,
    ))
    got = decide_audience(
        np.array(ids), consent=np.array(consent, dtype=bool), suppression=np.array(supp),
        utc_offset_s=np.array(offsets), past_send_codes=np.array([c for c, _ in sends], np.int64),
        past_send_us=np.array([t for _, t in sends], np.int64), now_us=now, cap=cap,
        window_days=window, holdout_share=share, salt="盐-7",
        quiet_start_min=None if quiet is None else quiet[0],
        quiet_end_min=None if quiet is None else quiet[1],
    )
    want = reference(ids, consent, supp, offsets, sends, now, cap, window, share, "盐-7", quiet)
    assert [SendReason.from_code(c) for c in got.reason] == [r for r, _ in want]
    assert got.send_at_us.tolist() == [t for _, t in want]
    # The invariants, directly: nobody without consent, listed or over the cap is treated.
    treated = got.treated
    assert not (treated & ~np.array(consent, dtype=bool)).any()
    assert not (treated & (np.array(supp) > 0)).any()
    if cap is not None:
        assert not (treated & (got.recent_sends >= cap)).any()
    assert sum(got.counts().values()) == n


@given(st.lists(st.text(min_size=1, max_size=12).filter(lambda s: "\x00" not in s),
                min_size=1, max_size=30), st.text(min_size=1, max_size=10))
def test_the_vectorised_hash_equals_the_python_specification(ids: list[str], salt: str) -> None:
    got = holdout_hash(np.array(ids, dtype=object), salt)
    assert got.tolist() == [holdout_hash_reference(i, salt) for i in ids]
    assert ((got >= 0) & (got < 1)).all()


def test_holdout_assignment_is_the_same_across_runs_and_under_any_permutation() -> None:
    ids = np.array([f"C{i:05d}" for i in range(5000)])
    kw: dict[str, Any] = {"now_us": 1_750_000_000_000_000, "salt": "campaign-618",
                          "holdout_share": 0.3}
    first = decide_audience(ids, consent=np.ones(ids.size, bool), **kw)
    again = decide_audience(ids, consent=np.ones(ids.size, bool), **kw)
    assert (first.reason == again.reason).all()
    held = set(ids[first.holdout].tolist())
    rng = np.random.default_rng(5)
    for _ in range(5):
        perm = rng.permutation(ids.size)
        shuffled = decide_audience(ids[perm], consent=np.ones(ids.size, bool), **kw)
        assert set(ids[perm][shuffled.holdout].tolist()) == held
    # A smaller audience keeps each customer's assignment too.
    part = decide_audience(ids[:700], consent=np.ones(700, bool), **kw)
    assert set(ids[:700][part.holdout].tolist()) == held & set(ids[:700].tolist())
    # Another salt gives another (independent) split of about the same size.
    other = decide_audience(ids, consent=np.ones(ids.size, bool), **{**kw, "salt": "other"})
    assert set(ids[other.holdout].tolist()) != held
    assert abs(other.holdout.mean() - 0.3) < 0.03


@pytest.mark.parametrize("seed", range(20))
def test_a_planted_70_30_split_on_a_50_50_design_raises_the_ratio_alarm(seed: int) -> None:
    rng = np.random.default_rng(seed)
    holdout = int(rng.binomial(2000, 0.3))
    assert sample_ratio_check(2000 - holdout, holdout, 0.5).mismatch


def test_a_true_50_50_split_does_not_raise_the_alarm() -> None:
    # Salted-hash assignments of distinct audiences, as a real design produces them.
    alarms = 0
    for seed in range(100):
        ids = np.array([f"S{seed}-{i}" for i in range(2000)])
        out = decide_audience(ids, consent=np.ones(ids.size, bool), now_us=0,
                              salt=f"salt-{seed}", holdout_share=0.5)
        alarms += sample_ratio_check(int(out.treated.sum()), int(out.holdout.sum()),
                                     0.5).mismatch
    assert alarms <= 1  # alpha 0.001: an alarm in 100 true splits would already be rare


def test_the_ratio_check_agrees_with_a_chi_square_by_hand() -> None:
    check = sample_ratio_check(530, 470, 0.5)
    assert check.chi_square == pytest.approx((30**2 / 500) * 2)
    assert check.p_value == pytest.approx(0.0578, abs=1e-4)
    assert "split as designed" in str(check)
    assert sample_ratio_check(10, 3, 0.0).mismatch


@pytest.mark.parametrize("share", [-0.1, 0.51, 1.0, True, "0.2", float("nan")])
def test_a_holdout_share_outside_0_to_half_is_refused(share: Any) -> None:
    with pytest.raises(ValidationError, match="holdout_share"):
        decide_audience(np.array(["a"]), consent=np.array([True]), now_us=0, salt="s",
                        holdout_share=share)
    with pytest.raises(ValidationError, match="holdout_share"):
        sample_ratio_check(1, 1, share)


def test_bad_arguments_are_refused_by_name() -> None:
    ids = np.array(["a", "b"])
    ok = np.array([True, True])
    with pytest.raises(ValidationError, match="consent"):
        decide_audience(ids, consent=np.array([True]), now_us=0, salt="s")
    with pytest.raises(ValidationError, match="cap"):
        decide_audience(ids, consent=ok, now_us=0, salt="s", cap=0)
    with pytest.raises(ValidationError, match="salt"):
        decide_audience(ids, consent=ok, now_us=0, salt="")
    with pytest.raises(ValidationError, match="quiet_end_min"):
        decide_audience(ids, consent=ok, now_us=0, salt="s", quiet_start_min=60,
                        quiet_end_min=60)
    with pytest.raises(ValidationError, match="suppression"):
        decide_audience(ids, consent=ok, now_us=0, salt="s", suppression=np.array([0, 9]))
    with pytest.raises(ValidationError, match="past_send_codes"):
        decide_audience(ids, consent=ok, now_us=0, salt="s", past_send_codes=np.array([5]),
                        past_send_us=np.array([0]))


def test_quiet_hours_hold_until_the_window_ends_in_the_customers_clock() -> None:
    # 22:30 in Shanghai (UTC+8) is 14:30 UTC; quiet 21:00-09:00 local.
    now = 1_750_000_000_000_000 - (1_750_000_000_000_000 % DAY_US) + (14 * 60 + 30) * MIN_US
    out = decide_audience(np.array(["cn", "uk"]), consent=np.array([True, True]), now_us=now,
                          salt="s", utc_offset_s=np.array([28800, 0]),
                          quiet_start_min=21 * 60, quiet_end_min=9 * 60)
    assert [SendReason.from_code(c) for c in out.reason] == [SendReason.QUIET_HOURS,
                                                             SendReason.SENT]
    assert out.send_at_us[0] == now + (10 * 60 + 30) * MIN_US  # 09:00 next day local
    assert out.send_at_us[1] == now


def test_suppression_codes_cover_every_list_reason() -> None:
    assert sorted(SUPPRESSION_CODES) == ["blacklisted", "erased", "restricted", "unsubscribed"]


@given(
    st.lists(st.text(alphabet="ab王0-", min_size=1, max_size=5), unique=True, max_size=30),
    st.lists(st.text(alphabet="ab王0-", min_size=1, max_size=5), max_size=60),
)
def test_matching_ids_equals_a_dict_lookup(candidates: list[str], ids: list[str]) -> None:
    from custmgmt.campaigns.audience import match_ids

    position = {c: i for i, c in enumerate(candidates)}
    got = match_ids(np.array(candidates, dtype=object), np.array(ids, dtype=object))
    assert got.tolist() == [position.get(i, -1) for i in ids]


def test_matching_refuses_repeated_candidates() -> None:
    from custmgmt.campaigns.audience import match_ids

    with pytest.raises(ValidationError, match="candidates"):
        match_ids(np.array(["a", "b", "a"]), np.array(["a"]))
