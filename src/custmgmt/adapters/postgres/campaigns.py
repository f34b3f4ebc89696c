"""Campaigns in PostgreSQL (see :class:`custmgmt.campaigns.ports.CampaignRepository`).

Four tables owned by the component ``"campaigns"``: ``campaigns`` (the campaign as
``jsonb`` beside its id, version and start), ``campaign_sends`` (one row per campaign
and customer, keyed by both, with the send time indexed for frequency caps),
``campaign_suppressions`` (keyed by customer and reason) and ``campaign_draws`` (the
record as ``jsonb``). Instants in columns are ``timestamptz`` plus the original UTC
offset, so they come back exactly; text in any script round-trips.

Running a campaign from two processes at once stores its decisions once: the key
``(campaign_id, customer_id)`` makes the second writer wait for the first one's
uncommitted rows and then fail with a :class:`~custmgmt.errors.Conflict` (the
campaign's optimistic ``version`` catches the rest), so its whole transaction,
the campaign's ``ran_at`` included, is rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np
import psycopg.errors
from psycopg.types.json import Jsonb

from custmgmt.adapters._engagement_checks import (
    check_campaign,
    check_decisions,
    check_draw,
    check_suppression,
)
from custmgmt.adapters._engagement_codecs import (
    campaign_from_dict,
    campaign_to_dict,
    draw_from_dict,
    draw_to_dict,
)
from custmgmt.adapters._sql_engagement import (
    send_decision_from_row,
    send_decision_row,
    suppression_from_row,
)
from custmgmt.adapters.postgres._engagement import EngagementRepository, lookup_key
from custmgmt.adapters.postgres.codecs import when as _instant
from custmgmt.adapters.postgres.database import PostgresDatabase
from custmgmt.adapters.postgres.repository import copy_rows
from custmgmt.adapters.postgres.schema import Migration, micros, select_list
from custmgmt.campaigns.campaign import Campaign
from custmgmt.campaigns.draws import DrawRecord
from custmgmt.campaigns.ports import SendLog
from custmgmt.campaigns.records import SendDecision, Suppression, SuppressionReason
from custmgmt.domain._validate import check_aware, coerce_enum
from custmgmt.errors import Conflict, NotFound
from custmgmt.privacy.ports import ERASED_TEXT

__all__ = ["CAMPAIGN_MIGRATIONS", "PostgresCampaignRepository"]

_V1 = """
CREATE TABLE campaigns (
    id text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    starts_at timestamptz NOT NULL,
    data jsonb NOT NULL
);
CREATE TABLE campaign_sends (
    campaign_id text COLLATE "C" NOT NULL REFERENCES campaigns (id),
    customer_id text COLLATE "C" NOT NULL,
    reason text NOT NULL,
    channel text NOT NULL,
    decided_at timestamptz NOT NULL,
    decided_off integer NOT NULL,
    send_at timestamptz,
    send_off integer,
    offer_index integer,
    message_id text,
    PRIMARY KEY (campaign_id, customer_id)
);
CREATE INDEX campaign_sends_by_time ON campaign_sends (send_at) WHERE send_at IS NOT NULL;
CREATE TABLE campaign_suppressions (
    customer_id text COLLATE "C" NOT NULL,
    reason text COLLATE "C" NOT NULL,
    at timestamptz NOT NULL,
    at_off integer NOT NULL,
    note text NOT NULL,
    PRIMARY KEY (customer_id, reason)
);
CREATE TABLE campaign_draws (
    id text COLLATE "C" PRIMARY KEY,
    campaign_id text COLLATE "C" NOT NULL REFERENCES campaigns (id),
    at timestamptz NOT NULL,
    data jsonb NOT NULL
);
CREATE INDEX campaign_draws_by_campaign ON campaign_draws (campaign_id, at, id);
"""

#: The campaign schema's migrations, applied in order under the component ``"campaigns"``.
CAMPAIGN_MIGRATIONS: Final[tuple[Migration, ...]] = (_V1,)

_SEND: Final = (
    "campaign_id, customer_id, reason, channel, decided_at, decided_off, send_at, send_off, "
    "offer_index, message_id"
)
_SUPPRESSION: Final = "customer_id, reason, at, at_off, note"
#: Rows of the send log fetched per round trip: bounds the driver's buffers.
_LOG_PAGE: Final = 100_000


class PostgresCampaignRepository(EngagementRepository):
    """Campaigns in a PostgreSQL store, in its transactions.

    Args:
        store: the PostgreSQL store (``store.campaigns`` makes one when it opens).

    Raises:
        StorageError: the schema cannot be created.
    """

    def __init__(self, store: PostgresDatabase) -> None:
        super().__init__(store, "campaigns", CAMPAIGN_MIGRATIONS, "campaigns")

    # -- campaigns -------------------------------------------------------------------
    def add_campaign(self, campaign: Campaign) -> None:
        """Store a new campaign (see ``CampaignRepository.add_campaign``)."""
        check_campaign(campaign)
        try:
            with self._store.writing() as conn:
                conn.execute(
                    "INSERT INTO campaigns (id, version, starts_at, data) VALUES (%s, %s, %s, %s)",
                    (
                        campaign.id,
                        campaign.version,
                        campaign.starts_at,
                        Jsonb(campaign_to_dict(campaign)),
                    ),
                )
        except Conflict as exc:
            raise Conflict("campaign", campaign.id, "a campaign with this id exists") from exc

    def get_campaign(self, campaign_id: str) -> Campaign:
        """The stored campaign (see ``CampaignRepository.get_campaign``)."""
        key = lookup_key(campaign_id)
        rows = (
            [] if key is None else self._fetch("SELECT data FROM campaigns WHERE id = %s", (key,))
        )
        if not rows:
            raise NotFound("campaign", campaign_id)
        return self._decode("campaign", campaign_id, campaign_from_dict, rows[0][0])

    def update_campaign(self, campaign: Campaign) -> None:
        """Replace a campaign (see ``CampaignRepository.update_campaign``); the version is
        checked in the ``UPDATE``, so a concurrent writer of the same version updates
        nothing."""
        check_campaign(campaign)
        self._update_versioned(
            "campaign",
            "campaigns",
            campaign,
            campaign_from_dict,
            "starts_at = %s, data = %s",
            (campaign.starts_at, Jsonb(campaign_to_dict(campaign))),
        )

    def list_campaigns(self) -> list[Campaign]:
        """Every campaign by start then id."""
        rows = self._fetch("SELECT id, data FROM campaigns ORDER BY starts_at, id")
        return [self._decode("campaign", r[0], campaign_from_dict, r[1]) for r in rows]

    # -- decisions -------------------------------------------------------------------
    def add_decisions(self, decisions: Sequence[SendDecision]) -> int:
        """Store decisions, all or none, by one ``COPY`` (see
        ``CampaignRepository.add_decisions``)."""
        batch = check_decisions(decisions)
        if not batch:
            return 0
        seen: set[tuple[str, str]] = set()
        for d in batch:
            pair = (d.campaign_id, d.customer_id)
            if pair in seen:
                raise Conflict("send decision", pair, "the pair repeats within the batch")
            seen.add(pair)
        campaigns = sorted({d.campaign_id for d in batch})
        rows = [send_decision_row(d, _instant) for d in batch]
        with self._store.writing() as conn:
            for campaign_id in campaigns:
                self.get_campaign(campaign_id)
            try:
                copy_rows(conn, "campaign_sends", _SEND, rows)
            except psycopg.errors.UniqueViolation as exc:
                # Raised inside the block: the savepoint (or transaction) rolls back.
                raise Conflict(
                    "send decision",
                    campaigns[0] if len(campaigns) == 1 else campaigns,
                    "a customer already has a decision for this campaign (one per customer "
                    "and campaign)",
                ) from exc
        return len(batch)

    def decisions(self, campaign_id: str) -> list[SendDecision]:
        """The campaign's decisions by customer id."""
        key = lookup_key(campaign_id)
        if key is None:
            return []
        rows = self._fetch(
            f"SELECT {select_list(_SEND)} FROM campaign_sends WHERE campaign_id = %s "
            "ORDER BY customer_id",
            (key,),
        )
        return [self._decode("send decision", r[1], send_decision_from_row, r) for r in rows]

    def customer_decisions(self, customer_id: str) -> list[SendDecision]:
        """Every decision about ``customer_id``, by decision time then campaign id.

        Reads the whole table (no index on the customer: one made every campaign run's
        bulk insert 40-140% slower, measured, for a query only the rare access export
        makes; the scan took about 30 ms per 300,000 stored decisions in SQLite).
        """
        key = lookup_key(customer_id)
        if key is None:
            return []
        rows = self._fetch(
            f"SELECT {select_list(_SEND)} FROM campaign_sends WHERE customer_id = %s "
            "ORDER BY decided_at, campaign_id",
            (key,),
        )
        return [self._decode("send decision", r[1], send_decision_from_row, r) for r in rows]

    def count_decisions(self, campaign_id: str | None = None) -> int:
        """How many decisions are stored."""
        if campaign_id is None:
            rows = self._fetch("SELECT count(*) FROM campaign_sends")
        else:
            key = lookup_key(campaign_id)
            if key is None:
                return 0
            rows = self._fetch("SELECT count(*) FROM campaign_sends WHERE campaign_id = %s", (key,))
        return int(rows[0][0])

    def send_log(self, since: datetime) -> SendLog:
        """Sent and held messages from ``since`` on, as columns, read in pages."""
        check_aware("since", since)
        customers: list[Any] = []
        times: list[int] = []
        with self._store.reading() as conn, conn.cursor() as cursor:
            cursor.execute(
                f"SELECT customer_id, {micros('send_at')} FROM campaign_sends "
                "WHERE send_at >= %s ORDER BY send_at, campaign_id, customer_id",
                (since,),
            )
            while page := cursor.fetchmany(_LOG_PAGE):
                customers.extend(r[0] for r in page)
                times.extend(r[1] for r in page)
        return SendLog(
            customer_ids=np.array(customers, dtype=object),
            send_at_us=np.array(times, dtype=np.int64),
        )

    # -- suppressions ----------------------------------------------------------------
    def add_suppression(self, suppression: Suppression) -> None:
        """List a customer (see ``CampaignRepository.add_suppression``)."""
        check_suppression(suppression)
        s = suppression
        try:
            with self._store.writing() as conn:
                conn.execute(
                    f"INSERT INTO campaign_suppressions ({_SUPPRESSION}) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (s.customer_id, s.reason.value, *_instant(s.at), s.note),
                )
        except Conflict as exc:
            raise Conflict(
                "suppression", (s.customer_id, s.reason.value), "already listed"
            ) from exc

    def remove_suppression(self, customer_id: str, reason: SuppressionReason) -> None:
        """Unlist a customer for one reason."""
        why = coerce_enum(SuppressionReason, reason, "reason")
        key = lookup_key(customer_id)
        removed = 0
        if key is not None:
            with self._store.writing() as conn:
                removed = conn.execute(
                    "DELETE FROM campaign_suppressions WHERE customer_id = %s AND reason = %s",
                    (key, why.value),
                ).rowcount
        if removed == 0:
            raise NotFound("suppression", (customer_id, why.value))

    def suppressions(self) -> list[Suppression]:
        """The suppression list by customer then reason."""
        rows = self._fetch(
            f"SELECT {select_list(_SUPPRESSION)} FROM campaign_suppressions "
            "ORDER BY customer_id, reason"
        )
        return [self._decode("suppression", r[0], suppression_from_row, r) for r in rows]

    # -- erasure (custmgmt.privacy.SubjectRedaction) -----------------------------------
    def redact_subject(self, customer_id: str, pseudonym: str) -> int:
        """Erase the notes of the customer's suppressions (who asked, the ticket ...)
        in place; the rows are kept, so the customer stays suppressed. The number
        changed (0 when run again or for an unknown customer).

        Send decisions are kept as they are: they hold ids, reasons, channels and
        times, no personal text (the rendered message goes to the notifier only)."""
        key = lookup_key(customer_id)
        if key is None:
            return 0
        with self._store.writing() as conn:
            changed = conn.execute(
                "UPDATE campaign_suppressions SET note = %s WHERE customer_id = %s "
                "AND note NOT IN ('', %s)",
                (ERASED_TEXT, key, ERASED_TEXT),
            ).rowcount
        return int(changed)

    # -- draws -------------------------------------------------------------------------
    def add_draw(self, draw: DrawRecord) -> None:
        """Store a draw record (see ``CampaignRepository.add_draw``)."""
        check_draw(draw)
        try:
            with self._store.writing() as conn:
                self.get_campaign(draw.campaign_id)
                conn.execute(
                    "INSERT INTO campaign_draws (id, campaign_id, at, data) "
                    "VALUES (%s, %s, %s, %s)",
                    (draw.id, draw.campaign_id, draw.at, Jsonb(draw_to_dict(draw))),
                )
        except Conflict as exc:
            raise Conflict("draw", draw.id, "a draw with this id exists") from exc

    def get_draw(self, draw_id: str) -> DrawRecord:
        """The stored draw."""
        key = lookup_key(draw_id)
        rows = (
            []
            if key is None
            else self._fetch("SELECT data FROM campaign_draws WHERE id = %s", (key,))
        )
        if not rows:
            raise NotFound("draw", draw_id)
        return self._decode("draw", draw_id, draw_from_dict, rows[0][0])

    def draws(self, campaign_id: str) -> list[DrawRecord]:
        """The campaign's draws by time then id."""
        key = lookup_key(campaign_id)
        if key is None:
            return []
        rows = self._fetch(
            "SELECT id, data FROM campaign_draws WHERE campaign_id = %s ORDER BY at, id",
            (key,),
        )
        return [self._decode("draw", r[0], draw_from_dict, r[1]) for r in rows]
