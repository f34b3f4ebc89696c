"""Campaigns in memory (see :class:`custmgmt.campaigns.ports.CampaignRepository`).

Values are immutable, so the repository keeps references. Writes hold the store's lock
and record an undo action, so they join :meth:`MemoryStore.transaction
<custmgmt.adapters.memory.MemoryStore.transaction>`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import numpy as np

from custmgmt.adapters._checks import stale_copy
from custmgmt.adapters._engagement_checks import (
    check_campaign,
    check_decisions,
    check_draw,
    check_suppression,
)
from custmgmt.adapters.memory.transaction import TransactionLog
from custmgmt.campaigns.campaign import Campaign
from custmgmt.campaigns.draws import DrawRecord
from custmgmt.campaigns.ports import SendLog
from custmgmt.campaigns.records import SendDecision, Suppression, SuppressionReason
from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.domain.time import to_epoch_micros
from custmgmt.errors import Conflict, NotFound
from custmgmt.privacy.ports import ERASED_TEXT

__all__ = ["MemoryCampaignRepository"]


class MemoryCampaignRepository:
    """Campaigns, decisions, suppressions and draws in memory.

    >>> from custmgmt.adapters.memory import MemoryStore
    >>> MemoryStore().campaigns.list_campaigns()
    []

    Args:
        tx: the store's transaction log (``MemoryStore.tx``).
    """

    def __init__(self, tx: TransactionLog) -> None:
        self._tx = tx
        self._campaigns: dict[str, Campaign] = {}
        self._decisions: dict[str, dict[str, SendDecision]] = {}
        self._suppressions: dict[tuple[str, SuppressionReason], Suppression] = {}
        self._draws: dict[str, DrawRecord] = {}

    # -- campaigns -------------------------------------------------------------------
    def add_campaign(self, campaign: Campaign) -> None:
        """Store a new campaign (see ``CampaignRepository.add_campaign``)."""
        check_campaign(campaign)
        with self._tx.lock:
            if campaign.id in self._campaigns:
                raise Conflict("campaign", campaign.id, "a campaign with this id exists")
            self._campaigns[campaign.id] = campaign
            self._tx.record(lambda: self._campaigns.pop(campaign.id, None))

    def get_campaign(self, campaign_id: str) -> Campaign:
        """The stored campaign (see ``CampaignRepository.get_campaign``)."""
        with self._tx.lock:
            try:
                return self._campaigns[campaign_id]
            except (KeyError, TypeError):
                raise NotFound("campaign", campaign_id) from None

    def update_campaign(self, campaign: Campaign) -> None:
        """Replace a campaign (see ``CampaignRepository.update_campaign``)."""
        check_campaign(campaign)
        with self._tx.lock:
            stored = self.get_campaign(campaign.id)
            if stored.version != campaign.version - 1:
                raise stale_copy("campaign", campaign.id, stored.version, campaign.version,
                                 unchanged=campaign == stored)
            self._campaigns[campaign.id] = campaign
            self._tx.record(lambda: self._campaigns.__setitem__(stored.id, stored))

    def list_campaigns(self) -> list[Campaign]:
        """Every campaign by start then id."""
        with self._tx.lock:
            return sorted(self._campaigns.values(), key=lambda c: (c.starts_at, c.id))

    # -- decisions -------------------------------------------------------------------
    def add_decisions(self, decisions: Sequence[SendDecision]) -> int:
        """Store decisions, all or none (see ``CampaignRepository.add_decisions``)."""
        batch = check_decisions(decisions)
        with self._tx.lock:
            seen: set[tuple[str, str]] = set()
            for d in batch:
                if d.campaign_id not in self._campaigns:
                    raise NotFound("campaign", d.campaign_id)
                key = (d.campaign_id, d.customer_id)
                if key in seen or d.customer_id in self._decisions.get(d.campaign_id, {}):
                    raise Conflict("send decision", key, "one decision per customer and campaign")
                seen.add(key)
            for d in batch:
                self._decisions.setdefault(d.campaign_id, {})[d.customer_id] = d
            self._tx.record(lambda: self._forget(batch))
        return len(batch)

    def _forget(self, batch: list[SendDecision]) -> None:
        for d in batch:
            self._decisions.get(d.campaign_id, {}).pop(d.customer_id, None)

    def decisions(self, campaign_id: str) -> list[SendDecision]:
        """The campaign's decisions by customer id."""
        with self._tx.lock:
            found = self._decisions.get(campaign_id, {})
            return [found[k] for k in sorted(found)]

    def count_decisions(self, campaign_id: str | None = None) -> int:
        """How many decisions are stored."""
        with self._tx.lock:
            if campaign_id is not None:
                return len(self._decisions.get(campaign_id, {}))
            return sum(len(d) for d in self._decisions.values())

    def customer_decisions(self, customer_id: str) -> list[SendDecision]:
        """Every decision about ``customer_id``, by decision time then campaign id."""
        with self._tx.lock:
            found = []
            for per_campaign in self._decisions.values():
                try:
                    decision = per_campaign.get(customer_id)
                except TypeError:  # an unhashable id: no customer has it
                    return []
                if decision is not None:
                    found.append(decision)
        return sorted(found, key=lambda d: (d.decided_at, d.campaign_id))

    def send_log(self, since: datetime) -> SendLog:
        """Sent and held messages from ``since`` on, as columns."""
        check_aware("since", since)
        lo = to_epoch_micros(since)
        ids: list[str] = []
        times: list[int] = []
        with self._tx.lock:
            for per_campaign in self._decisions.values():
                for d in per_campaign.values():
                    if d.send_at is not None:
                        t = to_epoch_micros(d.send_at)
                        if t >= lo:
                            ids.append(d.customer_id)
                            times.append(t)
        return SendLog(customer_ids=np.array(ids, dtype=object),
                       send_at_us=np.array(times, dtype=np.int64))

    # -- suppressions ----------------------------------------------------------------
    def add_suppression(self, suppression: Suppression) -> None:
        """List a customer (see ``CampaignRepository.add_suppression``)."""
        check_suppression(suppression)
        key = (suppression.customer_id, suppression.reason)
        with self._tx.lock:
            if key in self._suppressions:
                raise Conflict("suppression", (key[0], key[1].value), "already listed")
            self._suppressions[key] = suppression
            self._tx.record(lambda: self._suppressions.pop(key, None))

    def remove_suppression(self, customer_id: str, reason: SuppressionReason) -> None:
        """Unlist a customer for one reason."""
        key = (customer_id, coerce_enum(SuppressionReason, reason, "reason"))
        with self._tx.lock:
            stored = self._suppressions.pop(key, None)
            if stored is None:
                raise NotFound("suppression", (customer_id, key[1].value))
            self._tx.record(lambda: self._suppressions.__setitem__(key, stored))

    def suppressions(self) -> list[Suppression]:
        """The suppression list by customer then reason."""
        with self._tx.lock:
            return [self._suppressions[k] for k in sorted(self._suppressions, key=_supp_key)]

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the notes of the customer's suppressions (who asked, the ticket ...);
        the rows are kept, so the customer stays suppressed. The number changed.

        Send decisions are kept as they are: they hold ids, reasons, channels and
        times, no personal text (the rendered message goes to the notifier only)."""
        changed = 0
        with self._tx.lock:
            for key, stored in list(self._suppressions.items()):
                if key[0] != customer_id or stored.note in ("", ERASED_TEXT):
                    continue
                self._suppressions[key] = attrs.evolve(stored, note=ERASED_TEXT)
                self._tx.record(functools.partial(self._suppressions.__setitem__, key, stored))
                changed += 1
        return changed

    # -- draws -------------------------------------------------------------------------
    def add_draw(self, draw: DrawRecord) -> None:
        """Store a draw record (see ``CampaignRepository.add_draw``)."""
        check_draw(draw)
        with self._tx.lock:
            if draw.campaign_id not in self._campaigns:
                raise NotFound("campaign", draw.campaign_id)
            if draw.id in self._draws:
                raise Conflict("draw", draw.id, "a draw with this id exists")
            self._draws[draw.id] = draw
            self._tx.record(lambda: self._draws.pop(draw.id, None))

    def get_draw(self, draw_id: str) -> DrawRecord:
        """The stored draw."""
        with self._tx.lock:
            try:
                return self._draws[draw_id]
            except (KeyError, TypeError):
                raise NotFound("draw", draw_id) from None

    def draws(self, campaign_id: str) -> list[DrawRecord]:
        """The campaign's draws by time then id."""
        with self._tx.lock:
            found = [d for d in self._draws.values() if d.campaign_id == campaign_id]
        return sorted(found, key=lambda d: (d.at, d.id))


def _supp_key(key: tuple[str, SuppressionReason]) -> Any:
    return (key[0], key[1].value)
