"""Round 4: ids the hash cannot hold, holdout extremes, degenerate uplifts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custmgmt.adapters.memory import MemoryStore
from custmgmt.campaigns import (
    SendReason,
    analyse_uplift,
    create_campaign,
    decide_audience,
    holdout_hash,
    mean_uplift,
    preview_audience,
)
from custmgmt.campaigns.audience import holdout_hash_reference, match_ids
from custmgmt.errors import ValidationError
from custmgmt.segmentation import Columns
from custmgmt.testing import make_customer
from custmgmt.testing.campaign_contract import make_campaign

CST = timezone(timedelta(hours=8))
RUN_AT = datetime(2026, 6, 18, 14, 0, tzinfo=CST)
REGISTERED = datetime(2025, 1, 1, tzinfo=CST)


@pytest.mark.parametrize("ids", [
    np.array(["a\x00b"], dtype=object),  # hashed as "ab" against the specification's "a\0b"
    np.array(["a\x00b"]),
    np.array(["a\x00"], dtype=object),  # read back as "a": the same hash as "a"
    np.array(["c1", "顾客\x00b"], dtype=object),
])
def test_an_id_with_a_nul_is_refused_not_hashed_unlike_the_specification(ids: Any) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        holdout_hash(ids, "salt")
    with pytest.raises(ValidationError, match="NUL"):
        decide_audience(ids, consent=np.ones(len(ids), dtype=bool), now_us=0, salt="s",
                        holdout_share=0.5)


def test_matching_does_not_take_an_id_with_a_nul_for_another() -> None:
    # "a\0" was matched to (or refused as a repeat of) the candidate "a".
    with pytest.raises(ValidationError, match="NUL"):
        match_ids(np.array(["a", "b"], dtype=object), np.array(["a\x00"], dtype=object))
    with pytest.raises(ValidationError, match="NUL"):
        match_ids(np.array(["a", "a\x00"], dtype=object), np.array(["a"], dtype=object))


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=1),
                            min_size=1, max_size=8), min_size=1, max_size=20),
       salt=st.text(min_size=1, max_size=5))
def test_every_id_without_a_nul_hashes_as_the_specification(ids: list[str], salt: str) -> None:
    got = holdout_hash(np.array(ids, dtype=object), salt)
    assert got.tolist() == [holdout_hash_reference(i, salt) for i in ids]


def _store(ids: list[str]) -> MemoryStore:
    store = MemoryStore()
    for cid in ids:
        c = make_customer(id=cid, name="王芳", registered_at=REGISTERED)
        store.customers.add(c.with_consent("sms", True, at=REGISTERED + timedelta(days=1)))
    return store


def test_a_table_row_with_a_nul_is_not_read_as_another_customer() -> None:
    # The host's row "C1\0" became customer C1 (astype(str) drops a trailing NUL), who
    # was sent a message the rule never selected them for.
    store = _store(["C1", "C2"])
    create_campaign(store, make_campaign(quiet_hours=None, holdout_share=0.0))
    # Columns itself now refuses the id (an id holds no control character, NUL
    # included), before an audience can be chosen from the table.
    with pytest.raises(ValidationError, match="NUL"):
        preview_audience(
            store, "C-1", Columns(np.array(["C1\x00", "C2"], dtype=object), {"stars": [5, 5]}),
            at=RUN_AT,
        )  # fmt: skip


def test_repeated_customers_in_the_audience_table_are_refused() -> None:
    store = _store(["C1"])
    create_campaign(store, make_campaign(quiet_hours=None))
    with pytest.raises(ValidationError, match="one row per customer"):
        preview_audience(store, "C-1", Columns(["C1", "C1"], {"stars": [5, 5]}), at=RUN_AT)


@pytest.mark.parametrize("share", [0.0, 5e-324, 1e-12, 0.5])
def test_holdout_shares_at_the_extremes(share: float) -> None:
    ids = np.array([f"顾客{i}" for i in range(2000)])
    out = decide_audience(ids, consent=np.ones(ids.size, dtype=bool), now_us=0, salt="s",
                          holdout_share=share)
    expected = holdout_hash(ids, "s") < share
    assert np.array_equal(out.holdout, expected)
    assert np.array_equal(out.treated, ~expected)
    if share < 1e-9:
        assert not out.holdout.any()


def test_an_audience_of_everyone_dropped_sends_nothing() -> None:
    ids = np.array(["a", "b"])
    out = decide_audience(ids, consent=np.zeros(2, dtype=bool), now_us=0, salt="s",
                          holdout_share=0.5)
    assert out.counts()[SendReason.NO_CONSENT] == 2
    assert not out.treated.any()
    assert not out.holdout.any()
    assert np.isnan(out.hash).all()


def test_uplift_when_every_value_is_equal() -> None:
    u = mean_uplift(np.full(5, 7), np.full(3, 7), replicates=100)
    assert (u.estimate, u.low, u.high, u.p_value) == (0.0, 0.0, 0.0, 1.0)
    report = analyse_uplift([0, 0], [0, 0], [0], [0], cost_minor=0, digits=3, replicates=100)
    assert report.average_order_value is None
    assert report.roi.value is None
    assert "incremental revenue 0.000" in str(report.roi)


@pytest.mark.parametrize(("digits", "cost", "shown"), [(3, 1001, "1.001"), (0, 1001, "1,001"),
                                                        (2, 1001, "10.01")])
def test_the_roi_cost_keeps_the_currency_digits(digits: int, cost: int, shown: str) -> None:
    report = analyse_uplift([1, 1], [2002, 2002], [0, 0], [0, 0], cost_minor=cost,
                            digits=digits, replicates=100, seed=1)
    assert f"on cost {shown} " in str(report.roi)


def test_an_empty_arm_given_as_a_list_is_refused_naming_the_groups() -> None:
    # np.asarray([]) is float: the error named "a 1-d integer array", not the empty arm.
    with pytest.raises(ValidationError, match="groups"):
        analyse_uplift([1], [100], [], [], cost_minor=0, replicates=100)
    with pytest.raises(ValidationError, match="groups"):
        analyse_uplift([], [], [1], [100], cost_minor=0, replicates=100)


def test_the_uplift_is_the_same_for_the_same_seed_and_moves_with_another() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 10_000, 300), rng.integers(0, 9_000, 300)
    one = mean_uplift(a, b, replicates=200, seed=5)
    assert one == mean_uplift(a, b, replicates=200, seed=5)
    assert (one.low, one.high) != (lambda u: (u.low, u.high))(
        mean_uplift(a, b, replicates=200, seed=6))


@pytest.mark.parametrize(("template", "shown"), [("{name!a}您好", "{name!a}"),
                                                 ("{name!r}您好", "{name!r}"),
                                                 ("您好{city!s}", "{city!s}"),
                                                 ("{name:>5}", "{name:>5}")])
def test_a_placeholder_with_a_conversion_is_refused_when_planned(template: str, shown: str) -> None:
    # "{name!a}" was accepted and sent customers '\u738b\u82b3' for 王芳.
    with pytest.raises(ValidationError, match=r"Campaign\.template") as caught:
        make_campaign(template=template)
    assert caught.value.value == shown


def test_plain_placeholders_still_render() -> None:
    c = make_campaign(template="{name}您好，{offer}")
    assert c.render(0, {"name": "王芳"}) == "王芳您好，满199减20"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_run_with_the_longest_ids_stores_every_decision(kind: str) -> None:
    # campaign id and customer id of 128 characters each: "campaign:customer" was 257
    # characters, SendDecision.message_id refused it and the whole run failed.
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.campaigns import MemoryNotifier, run_campaign
    from custmgmt.domain._validate import MAX_ID_LENGTH

    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(":memory:")
    ids = ["顾" * MAX_ID_LENGTH, "顾" * (MAX_ID_LENGTH - 1) + "客", "C1"]
    for cid in ids:
        c = make_customer(id=cid, name="王芳", registered_at=REGISTERED)
        store.customers.add(c.with_consent("sms", True, at=REGISTERED + timedelta(days=1)))
    campaign_id = "活" * MAX_ID_LENGTH
    create_campaign(store, make_campaign(campaign_id, quiet_hours=None, holdout_share=0.0))
    notifier = MemoryNotifier()
    run = run_campaign(store, campaign_id, Columns(ids, {"stars": [5, 5, 5]}), notifier,
                       at=RUN_AT)
    assert run.messages == 3
    decisions = store.campaigns.decisions(campaign_id)
    message_ids = {d.customer_id: d.message_id for d in decisions}
    assert set(message_ids) == set(ids)
    assert len(set(message_ids.values())) == 3
    assert all(m is not None and len(m) <= MAX_ID_LENGTH for m in message_ids.values())
    assert {m.customer_id: m.message_id for m in notifier.outbox} == message_ids
    store.close()


def test_a_short_message_id_is_still_campaign_colon_customer() -> None:
    from custmgmt.campaigns import MemoryNotifier, run_campaign

    store = _store(["C1"])
    create_campaign(store, make_campaign(quiet_hours=None, holdout_share=0.0))
    notifier = MemoryNotifier()
    run_campaign(store, "C-1", Columns(["C1"], {"stars": [5]}), notifier, at=RUN_AT)
    assert [m.message_id for m in notifier.outbox] == ["C-1:C1"]


def test_the_report_groups_by_the_stars_customers_had_when_the_campaign_ran(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Stars were read at --as-of, after the campaign: a treated customer it made buy
    # moved up a level, so the per-star groups compared unlike customers (a level with
    # only control buyers showed 100% conversion against an empty treated side).
    import re
    from collections import Counter

    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.cli import main
    from custmgmt.datasets import load_into, make_dataset
    from custmgmt.rating import RatingPolicy, current_stars, rate_store

    db = str(tmp_path / "shop.sqlite3")
    before, after = datetime(2026, 4, 30, tzinfo=CST), datetime(2026, 6, 29, tzinfo=CST)
    with SQLiteStore(db) as store:
        load_into(store, make_dataset(n_customers=150, seed=3,
                                      as_of=datetime(2026, 6, 30, 23, 59, tzinfo=CST)))
        rate_store(store, RatingPolicy.default(), as_of=before, currency="CNY",
                   created_at=before)
    assert main(["campaign", "--db", db, "plan", "S", "--name", "星级", "--coupon", "5",
                 "--min-stars", "1", "--holdout", "0.5", "--starts", "2026-05-01T10:00",
                 "--quiet", "none", "--cap", "none"]) == 0
    assert main(["campaign", "--db", db, "run", "S", "--as-of", "2026-05-01T10:30"]) == 0
    with SQLiteStore(db) as store:
        rate_store(store, RatingPolicy.default(), as_of=after, currency="CNY", created_at=after)
        ran_at = store.campaigns.get_campaign("S").ran_at
        assert ran_at is not None
        decisions = store.campaigns.decisions("S")
        at_run, at_report = current_stars(store, ran_at), current_stars(store, after)
    compared = [d for d in decisions if d.reason.treated or d.reason is SendReason.HOLDOUT]
    want = Counter(str(at_run[d.customer_id]) for d in compared)
    assert want != Counter(str(at_report[d.customer_id]) for d in compared)  # stars moved
    capsys.readouterr()
    assert main(["campaign", "--db", db, "report", "S", "--as-of", "2026-06-30",
                 "--replicates", "100", "--by-segment", "none"]) == 0
    got: Counter[str] = Counter()
    for line in capsys.readouterr().out.splitlines():
        found = re.match(r"stars=(\d+): conversion .*?\(\d+ of (\d+)\) vs .*?\(\d+ of (\d+)\)",
                         line)
        if found:
            got[found[1]] = int(found[2]) + int(found[3])
    assert got == want


def test_a_second_run_on_the_same_sqlite_file_is_refused_and_reports_repeat(
    tmp_path: Any,
) -> None:
    from custmgmt.adapters.sqlite import SQLiteStore
    from custmgmt.campaigns import MemoryNotifier, campaign_report, run_campaign
    from custmgmt.errors import Conflict

    path = tmp_path / "c.sqlite3"
    ids = [f"顾客{i:03d}" for i in range(60)]
    with SQLiteStore(path) as store:
        for cid in ids:
            c = make_customer(id=cid, name="王芳", registered_at=REGISTERED)
            store.customers.add(c.with_consent("sms", True, at=REGISTERED + timedelta(days=1)))
        create_campaign(store, make_campaign(quiet_hours=None, holdout_share=0.5))
        run_campaign(store, "C-1", Columns(ids, {"stars": [5] * 60}), MemoryNotifier(),
                     at=RUN_AT)
    with SQLiteStore(path) as store:
        notifier = MemoryNotifier()
        with pytest.raises(Conflict):
            run_campaign(store, "C-1", Columns(ids, {"stars": [5] * 60}), notifier, at=RUN_AT)
        assert notifier.outbox == []
        assert store.campaigns.count_decisions("C-1") == 60
        later = RUN_AT + timedelta(days=20)
        first = campaign_report(store, "C-1", as_of=later, replicates=100, seed=9)
        second = campaign_report(store, "C-1", as_of=later, replicates=100, seed=9)
        assert first.lines() == second.lines()
        assert first.treated + first.holdout == 60
