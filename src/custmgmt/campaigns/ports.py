"""The campaign capability's port: campaigns, send decisions, the suppression list, draws.

A store offers campaigns by exposing a :class:`CampaignRepository` as ``.campaigns``;
:class:`CampaignStore` is the store type the campaign services take. Check an
implementation with :class:`custmgmt.testing.CampaignRepositoryContract`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.campaigns.campaign import Campaign
from custmgmt.campaigns.draws import DrawRecord
from custmgmt.campaigns.records import SendDecision, Suppression, SuppressionReason
from custmgmt.ports import CapabilityKey, Store

__all__ = ["CAMPAIGNS", "CampaignRepository", "CampaignStore", "SendLog"]


@attrs.frozen(kw_only=True, eq=False)
class SendLog:
    """Past messages as columns, for frequency caps: one row per sent or held message.

    Attributes:
        customer_ids: the recipient of each message (str objects).
        send_at_us: when it went (or goes), µs since the epoch, UTC.
    """

    customer_ids: NDArray[Any]
    send_at_us: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.send_at_us.size)


@runtime_checkable
class CampaignRepository(Protocol):
    """Campaigns, one send decision per customer and campaign, suppressions and draws.

    Stores expose it as ``store.campaigns``, sharing the store's transaction. Every
    read returns exactly what was written (text in any script, time zones);
    :class:`~custmgmt.errors.Conflict` refuses duplicates and stale versions and
    :class:`~custmgmt.errors.StorageError` reports the backend's failures.
    """

    def add_campaign(self, campaign: Campaign) -> None:
        """Store a new campaign.

        Raises:
            Conflict: the id is taken; nothing is written.
            ValidationError: ``campaign`` is not a Campaign.
        """
        ...

    def get_campaign(self, campaign_id: str) -> Campaign:
        """The stored campaign.

        Raises:
            NotFound: no campaign has this id.
        """
        ...

    def update_campaign(self, campaign: Campaign) -> None:
        """Replace a campaign with a copy changed once (``version`` one more).

        Raises:
            NotFound: no campaign has its id.
            Conflict: the stored version is not ``campaign.version - 1``.
        """
        ...

    def list_campaigns(self) -> list[Campaign]:
        """Every campaign, by ``starts_at`` then id."""
        ...

    def add_decisions(self, decisions: Sequence[SendDecision]) -> int:
        """Store send decisions, all or none; returns how many.

        Raises:
            Conflict: a (campaign, customer) pair already has a decision, or repeats
                in the batch; nothing is written.
            NotFound: a decision names an unknown campaign; nothing is written.
            ValidationError: an item is not a SendDecision.
        """
        ...

    def decisions(self, campaign_id: str) -> list[SendDecision]:
        """The campaign's decisions, by customer id (empty for an unknown campaign)."""
        ...

    def count_decisions(self, campaign_id: str | None = None) -> int:
        """How many decisions are stored (for one campaign, or all)."""
        ...

    def customer_decisions(self, customer_id: str) -> list[SendDecision]:
        """Every decision about one customer, in every campaign: what a data subject's
        access export (:func:`custmgmt.privacy.export_subject`) lists.

        Ordered by ``decided_at`` (the instant), then campaign id; empty for a
        customer with no decision or an id no customer can have.
        """
        ...

    def send_log(self, since: datetime) -> SendLog:
        """Sent and held messages of every campaign with ``send_at >= since``.

        Raises:
            ValidationError: ``since`` is not an aware datetime.
        """
        ...

    def add_suppression(self, suppression: Suppression) -> None:
        """Put a customer on the suppression list for a reason.

        Raises:
            Conflict: the customer is already listed for that reason.
        """
        ...

    def remove_suppression(self, customer_id: str, reason: SuppressionReason) -> None:
        """Take a customer off the list for one reason.

        Raises:
            NotFound: the customer is not listed for that reason.
        """
        ...

    def suppressions(self) -> list[Suppression]:
        """The whole suppression list, by customer id then reason."""
        ...

    def add_draw(self, draw: DrawRecord) -> None:
        """Store a draw record as it is.

        Raises:
            Conflict: the draw id is taken.
            NotFound: the draw names an unknown campaign.
        """
        ...

    def get_draw(self, draw_id: str) -> DrawRecord:
        """The stored draw record.

        Raises:
            NotFound: no draw has this id.
        """
        ...

    def draws(self, campaign_id: str) -> list[DrawRecord]:
        """The campaign's draws, by time then id."""
        ...


#: The key bundled stores register their campaign repository under (``store.campaigns``).
CAMPAIGNS: CapabilityKey[CampaignRepository] = CapabilityKey("campaigns", CampaignRepository)


@runtime_checkable
class CampaignStore(Store, Protocol):
    """A :class:`~custmgmt.ports.Store` that also keeps campaigns."""

    @property
    def campaigns(self) -> CampaignRepository:
        """The campaign repository, sharing the store's transaction."""
        ...
