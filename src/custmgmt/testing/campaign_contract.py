"""The contract every :class:`~custmgmt.campaigns.ports.CampaignRepository` keeps, as a suite.

A host checks its own implementation by subclassing with one method::

    from custmgmt.testing import CampaignRepositoryContract

    class TestMyCampaigns(CampaignRepositoryContract):
        def make_repository(self):
            return MyCampaignRepository(...)

``close_repository(repository)`` and ``transaction(repository)`` are optional hooks,
as in the other repository contracts. The base class is not collected by pytest and
needs no pytest import.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs

from custmgmt.campaigns.audience import SendReason
from custmgmt.campaigns.campaign import Campaign, FrequencyCap, Offer, QuietHours
from custmgmt.campaigns.draws import draw_winners
from custmgmt.campaigns.ports import CampaignRepository
from custmgmt.campaigns.records import SendDecision, Suppression, SuppressionReason
from custmgmt.domain import Money
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.segmentation.rules import feature
from custmgmt.testing._contract import Boom, RepositoryContract, raises

__all__ = ["CampaignRepositoryContract", "make_campaign", "make_offer"]

_CST = timezone(timedelta(hours=8))
_T0 = datetime(2026, 6, 18, 10, 0, tzinfo=_CST)


def make_offer(**fields: Any) -> Offer:
    """A valid 20 CNY coupon valid through July 2026 (override any field)."""
    base: dict[str, Any] = {
        "kind": "amount_coupon", "amount": Money(Decimal("20.00"), "CNY"),
        "valid_from": datetime(2026, 6, 1, tzinfo=_CST),
        "valid_until": datetime(2026, 8, 1, tzinfo=_CST),
        "unit_cost": Money(Decimal("20.00"), "CNY"), "description": "满199减20",
    }
    base.update(fields)
    return Offer(**base)


def make_campaign(id: str = "C-1", **fields: Any) -> Campaign:
    """A valid SMS campaign for customers with at least 4 stars (override any field).

    >>> make_campaign().channel.value
    'sms'
    """
    base: dict[str, Any] = {
        "id": id, "name": "618 会员专享", "channel": "sms", "audience": feature("stars") >= 4,
        "offers": (make_offer(),),
        "template": "{name}您好：{campaign}送您{offer}，{valid_until}前有效",
        "starts_at": _T0, "ends_at": _T0 + timedelta(days=3),
        "created_at": _T0 - timedelta(days=2), "holdout_share": 0.2,
        "frequency_cap": FrequencyCap(messages=3, window_days=7),
        "quiet_hours": QuietHours(start=time(21), end=time(9)),
    }
    base.update(fields)
    return Campaign(**base)


def _decision(customer_id: str, reason: SendReason, campaign_id: str = "C-1",
              at: datetime = _T0) -> SendDecision:
    treated = reason.treated
    return SendDecision(
        campaign_id=campaign_id, customer_id=customer_id, reason=reason, channel="sms",
        decided_at=at, send_at=at if treated else None, offer_index=0 if treated else None,
        message_id=f"{campaign_id}:{customer_id}" if treated else None,
    )


class CampaignRepositoryContract(RepositoryContract[CampaignRepository]):
    """Tests every campaign repository must pass; subclass as ``TestSomething``."""

    def test_a_campaign_round_trips_with_rule_offers_and_rules(self) -> None:
        repo = self.repository()
        referral = make_offer(kind="referral", amount=Money(Decimal("30"), "CNY"),
                              friend_amount=Money(Decimal("15.50"), "CNY"),
                              description="推荐有礼", for_customers="returning")
        first = make_offer(kind="percent_coupon", amount=None, percent=Decimal("12.5"),
                           for_customers="new", description="新人八八折")
        campaign = make_campaign(offers=(first, referral),
                                 audience=(feature("stars") >= 4) & feature("churn").eq(0))
        repo.add_campaign(campaign)
        back = repo.get_campaign("C-1")
        assert back == campaign
        assert back.offers[1].friend_amount == Money(Decimal("15.50"), "CNY")
        assert back.starts_at.utcoffset() == timedelta(hours=8)
        assert repo.list_campaigns() == [campaign]

    def test_an_unknown_campaign_is_not_found_and_a_duplicate_is_a_conflict(self) -> None:
        repo = self.repository()
        with raises(NotFound):
            repo.get_campaign("nope")
        repo.add_campaign(make_campaign())
        with raises(Conflict):
            repo.add_campaign(make_campaign(name="另一个"))
        assert repo.get_campaign("C-1").name == "618 会员专享"
        with raises(ValidationError):
            repo.add_campaign("C-2")  # type: ignore[arg-type]

    def test_updates_are_optimistic(self) -> None:
        repo = self.repository()
        campaign = make_campaign()
        repo.add_campaign(campaign)
        ran = campaign.marked_run(_T0)
        repo.update_campaign(ran)
        assert repo.get_campaign("C-1").ran_at == _T0
        with raises(Conflict):
            repo.update_campaign(campaign.marked_run(_T0 + timedelta(hours=1)))
        with raises(NotFound):
            repo.update_campaign(make_campaign("C-9").marked_run(_T0))

    def test_a_stale_campaigns_conflict_says_only_what_is_true_of_it(self) -> None:
        repo = self.repository()
        campaign = make_campaign()
        repo.add_campaign(campaign)
        theirs = campaign.marked_run(_T0)
        mine = campaign.marked_run(_T0 + timedelta(hours=1))
        # (copy, stored version, the library's wording); ``theirs`` is stored before
        # the third case.
        cases: list[tuple[Campaign, int, str]] = [
            (make_campaign(name="另一个"), 1,
             ("stored version is 1, but this copy is version 1, never changed: update takes "
              "the stored version changed once (get it, change it, then update)")),
            (campaign, 1,
             ("stored version is 1 and this copy is that version, unchanged: there is "
              "nothing to update (change it, then update)")),
            (mine, 2,
             ("stored version is 2 and this copy is version 2 too, but differs from it: "
              "another version 2 was stored first (reload, change once, then update)")),
            (theirs, 2,
             ("stored version is 2 and this copy is that version, unchanged: there is "
              "nothing to update (change it, then update)")),
        ]  # fmt: skip
        for n, (copy, stored_version, said) in enumerate(cases):
            if n == 2:
                repo.update_campaign(theirs)
            with raises(Conflict) as raised:
                repo.update_campaign(copy)
            error = raised.value
            assert (error.key, error.actual_version) == ("C-1", stored_version)
            assert error.expected_version == copy.version - 1
            if type(repo).__module__.startswith("custmgmt.adapters."):
                assert str(error) == f"campaign 'C-1': {said}"
            assert repo.get_campaign("C-1").version == stored_version

    def test_campaigns_list_by_start_then_id(self) -> None:
        repo = self.repository()
        for cid, shift in (("B", 2), ("A", 2), ("C", 0)):
            repo.add_campaign(make_campaign(cid, starts_at=_T0 + timedelta(hours=shift)))
        assert [c.id for c in repo.list_campaigns()] == ["C", "A", "B"]

    def test_decisions_round_trip_one_per_customer_and_campaign(self) -> None:
        repo = self.repository()
        repo.add_campaign(make_campaign())
        batch = [_decision("张三", SendReason.SENT), _decision("b", SendReason.HOLDOUT),
                 _decision("a", SendReason.NO_CONSENT)]
        assert repo.add_decisions(batch) == 3
        assert repo.decisions("C-1") == sorted(batch, key=lambda d: d.customer_id)
        assert repo.count_decisions("C-1") == 3
        assert repo.count_decisions() == 3
        assert repo.decisions("nope") == []
        with raises(Conflict):
            repo.add_decisions([_decision("c", SendReason.SENT), _decision("a", SendReason.SENT)])
        assert repo.count_decisions() == 3  # all or nothing

    def test_a_batch_repeating_a_customer_or_naming_an_unknown_campaign_writes_nothing(
        self,
    ) -> None:
        repo = self.repository()
        repo.add_campaign(make_campaign())
        with raises(Conflict):
            repo.add_decisions([_decision("x", SendReason.SENT), _decision("x", SendReason.SENT)])
        with raises(NotFound):
            repo.add_decisions([_decision("y", SendReason.SENT, campaign_id="C-404")])
        with raises(ValidationError):
            repo.add_decisions(["not a decision"])  # type: ignore[list-item]
        assert repo.count_decisions() == 0

    def test_a_customers_decisions_come_from_every_campaign_by_instant_then_campaign(
        self,
    ) -> None:
        repo = self.repository()
        assert isinstance(repo, CampaignRepository)
        for cid in ("K-1", "K-2", "K-3", "K-4"):
            repo.add_campaign(make_campaign(cid))
        # The instant orders, whatever the offset: K-4's wall clock (the day before,
        # UTC-5) is the earliest, its instant is not; K-1 and K-2 are one instant
        # written with two offsets, so the campaign id decides.
        wanted = [
            _decision("王芳", SendReason.FREQUENCY_CAP, "K-1", _T0.astimezone(UTC)),
            _decision("王芳", SendReason.HOLDOUT, "K-2", _T0),
            _decision("王芳", SendReason.QUIET_HOURS, "K-4",
                      (_T0 + timedelta(hours=2)).astimezone(timezone(timedelta(hours=-5)))),
            _decision("王芳", SendReason.SENT, "K-3", _T0 + timedelta(days=1)),
        ]
        others = [
            _decision("C-2", SendReason.SENT, "K-1"),
            _decision("王芳x", SendReason.SENT, "K-4"),
            _decision("王", SendReason.SENT, "K-3"),
        ]
        repo.add_decisions([wanted[3], wanted[1], others[0]])
        repo.add_decisions([others[1], wanted[2], wanted[0], others[2]])
        found = repo.customer_decisions("王芳")
        assert found == wanted
        assert [d.decided_at.utcoffset() for d in found] == [
            timedelta(0), timedelta(hours=8), timedelta(hours=-5), timedelta(hours=8)]
        assert found == sorted(
            (d for c in ("K-1", "K-2", "K-3", "K-4") for d in repo.decisions(c)
             if d.customer_id == "王芳"),
            key=lambda d: (d.decided_at, d.campaign_id),
        )
        assert repo.customer_decisions("C-2") == others[:1]

    def test_an_unknown_or_impossible_customer_has_no_decisions(self) -> None:
        repo = self.repository()
        assert repo.customer_decisions("C-2") == []
        repo.add_campaign(make_campaign())
        repo.add_decisions([_decision("C-2", SendReason.SENT), _decision("C_2", SendReason.SENT)])
        # Near misses (case, prefix, SQL wildcards) and ids no customer can have.
        odd: tuple[Any, ...] = ("nobody", "", "c-2", "C-", "C-2%", "C%", "_", "C-2 ",
                                "\udc80", 7, None)
        for customer_id in odd:
            assert repo.customer_decisions(customer_id) == [], customer_id
        assert [d.customer_id for d in repo.customer_decisions("C-2")] == ["C-2"]

    def test_the_send_log_has_sent_and_held_messages_since_a_time(self) -> None:
        repo = self.repository()
        repo.add_campaign(make_campaign())
        repo.add_campaign(make_campaign("C-2"))
        held = attrs.evolve(_decision("q", SendReason.QUIET_HOURS),
                            send_at=_T0 + timedelta(hours=12))
        repo.add_decisions([_decision("a", SendReason.SENT), held,
                            _decision("h", SendReason.HOLDOUT)])
        repo.add_decisions([_decision("a", SendReason.SENT, "C-2", _T0 - timedelta(days=9))])
        log = repo.send_log(_T0 - timedelta(days=1))
        assert sorted(zip(log.customer_ids.tolist(), log.send_at_us.tolist(), strict=True)) == [
            ("a", int(_T0.timestamp() * 1e6)),
            ("q", int((_T0 + timedelta(hours=12)).timestamp() * 1e6)),
        ]
        assert len(repo.send_log(_T0 - timedelta(days=30))) == 3
        with raises(ValidationError):
            repo.send_log(datetime(2026, 1, 1))

    def test_the_suppression_list_keeps_one_entry_per_customer_and_reason(self) -> None:
        repo = self.repository()
        entry = Suppression(customer_id="客户-1", reason="blacklisted", at=_T0, note="多次恶意退货")
        repo.add_suppression(entry)
        repo.add_suppression(attrs.evolve(entry, reason=SuppressionReason.UNSUBSCRIBED))
        with raises(Conflict):
            repo.add_suppression(entry)
        assert [s.reason.value for s in repo.suppressions()] == ["blacklisted", "unsubscribed"]
        assert repo.suppressions()[0] == entry
        repo.remove_suppression("客户-1", SuppressionReason.BLACKLISTED)
        with raises(NotFound):
            repo.remove_suppression("客户-1", SuppressionReason.BLACKLISTED)
        assert len(repo.suppressions()) == 1

    def test_draws_round_trip_and_need_their_campaign(self) -> None:
        repo = self.repository()
        draw = draw_winners("D-1", campaign_id="C-1", entrants=["a", "b", "王五"], winners=2,
                            seed="公开种子", prize="100 积分", at=_T0)
        with raises(NotFound):
            repo.add_draw(draw)
        repo.add_campaign(make_campaign())
        repo.add_draw(draw)
        assert repo.get_draw("D-1") == draw
        assert repo.draws("C-1") == [draw]
        with raises(Conflict):
            repo.add_draw(draw)
        with raises(NotFound):
            repo.get_draw("D-2")

    def test_campaign_writes_roll_back_with_the_store_transaction(self) -> None:
        repo = self.repository()
        scope = self.transaction(repo)
        if scope is None:
            return
        repo.add_campaign(make_campaign())
        with raises(Boom), scope:
            repo.add_decisions([_decision("a", SendReason.SENT)])
            seen = repo.customer_decisions("a")
            repo.update_campaign(make_campaign().marked_run(_T0))
            repo.add_suppression(Suppression(customer_id="a", reason="erased", at=_T0))
            raise Boom("roll back")
        assert seen == [_decision("a", SendReason.SENT)]  # read inside the transaction
        assert repo.count_decisions() == 0
        assert repo.customer_decisions("a") == []
        assert repo.get_campaign("C-1").ran_at is None
        assert repo.suppressions() == []
