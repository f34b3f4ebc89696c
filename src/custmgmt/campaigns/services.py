"""Campaign use cases: plan, preview the audience, run it, suppress, draw, report.

Every function takes a :class:`~custmgmt.campaigns.ports.CampaignStore`; the command
line and host applications call the same ones.

The audience's candidates come from a feature table the host builds (any
:class:`~custmgmt.segmentation.table.FeatureTable`, e.g. ``Columns``) with the columns
the campaign's rule reads (segment codes, ``stars``, churn flags ...) and, optionally,
``is_new`` (1 for a new customer, to choose the new-customer offer). Customers in the
table but no longer in the store count as erased.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

import attrs
import numpy as np

from custmgmt.campaigns._zones import zone
from custmgmt.campaigns.audience import (
    SUPPRESSION_CODES,
    AudienceDecisions,
    SampleRatioCheck,
    SendReason,
    decide_audience,
    match_ids,
    sample_ratio_check,
)
from custmgmt.campaigns.campaign import Campaign, CampaignKind, OfferKind, QuietHours
from custmgmt.campaigns.draws import DrawRecord, draw_winners
from custmgmt.campaigns.effect import GroupUplift, UpliftReport, analyse_uplift, uplift_by_group
from custmgmt.campaigns.notify import Notifier, OutboundMessage
from custmgmt.campaigns.ports import CampaignStore
from custmgmt.campaigns.records import SendDecision, Suppression, SuppressionReason
from custmgmt.campaigns.stats import DEFAULT_REPLICATES, Rate, check_digits
from custmgmt.domain import InteractionKind, Money, Referral, currency_digits
from custmgmt.domain import _validate as v
from custmgmt.domain.time import from_epoch_micros, to_epoch_micros
from custmgmt.errors import Conflict, NotFound, ValidationError
from custmgmt.notebook.dataframes import Coded, FrameExport, Times
from custmgmt.notebook.display import Displayed, Report, Table, counts_table, short_repr
from custmgmt.segmentation.table import column

__all__ = [
    "ActivitySummary",
    "AudiencePreview",
    "CampaignReport",
    "CampaignRun",
    "ReferralReward",
    "campaign_report",
    "create_campaign",
    "preview_audience",
    "record_draw",
    "referral_rewards",
    "run_campaign",
    "suppress",
]


def create_campaign(store: CampaignStore, campaign: Campaign) -> Campaign:
    """Plan a campaign (stored, not run).

    Raises:
        ValidationError: ``campaign`` is not a Campaign, or it is marked as run.
        Conflict: its id is taken.
    """
    if not isinstance(campaign, Campaign):
        raise ValidationError("campaign", campaign, "a Campaign")
    if campaign.ran_at is not None:
        raise ValidationError("Campaign.ran_at", campaign.ran_at, "None for a new campaign")
    with store.transaction():
        store.campaigns.add_campaign(campaign)
    return campaign


def suppress(
    store: CampaignStore,
    customer_id: str,
    reason: SuppressionReason | str,
    *,
    at: datetime,
    note: str = "",
) -> Suppression:
    """Put a customer on the suppression list (no campaign contacts them).

    Raises:
        ValidationError: a bad reason, time or note.
        Conflict: already listed for this reason.
    """
    entry = Suppression(customer_id=customer_id, reason=reason, at=at, note=note)
    with store.transaction():
        store.campaigns.add_suppression(entry)
    return entry


@attrs.frozen(kw_only=True, eq=False)
class AudiencePreview(FrameExport, Displayed):
    """What running the campaign now would do, stored nowhere.

    Attributes:
        campaign: the campaign.
        at: the moment previewed.
        customer_ids: the candidates the rule selected.
        decisions: the decision per candidate (aligned).
        offers: the offer index per candidate (-1: no message).
        ratio: the sample-ratio check of the split.
    """

    campaign: Campaign
    at: datetime
    customer_ids: Any
    decisions: AudienceDecisions
    offers: Any
    ratio: SampleRatioCheck

    def __repr__(self) -> str:
        treated = int(np.count_nonzero(self.decisions.treated))
        return short_repr("AudiencePreview", campaign=self.campaign.id,
                          candidates=len(self.customer_ids), treated=treated, at=self.at)

    def _display(self) -> Report:
        """Candidates per decision and the sample-ratio check."""
        report = Report(f"Audience preview: {self.campaign.name}", facts=[
            ("campaign", self.campaign.id), ("at", self.at),
            ("candidates", len(self.customer_ids)),
        ])
        report.add(counts_table("candidates per decision", "decision",
                                {r.value: n for r, n in self.counts().items()}))
        report.note(str(self.ratio))
        return report

    def _frame_columns(self) -> dict[str, Any]:
        """Exported columns (one row per candidate): ``customer_id``, ``decision``
        (categorical), ``offer`` (index into the campaign's offers, -1: no message),
        ``send_at`` (UTC), ``hash`` (NaN where dropped before the holdout) and
        ``recent_sends``."""
        d = self.decisions
        return {
            "customer_id": np.asarray(self.customer_ids),
            "decision": Coded(np.asarray(d.reason), tuple(r.value for r in SendReason)),
            "offer": np.asarray(self.offers),
            "send_at": Times(np.asarray(d.send_at_us, dtype=np.int64)),
            "hash": d.hash,
            "recent_sends": d.recent_sends,
        }

    def counts(self) -> dict[SendReason, int]:
        """Customers per reason."""
        return self.decisions.counts()

    def reason_of(self, customer_id: str) -> SendReason:
        """The decision for one candidate.

        Raises:
            NotFound: not a candidate.
        """
        rows = np.flatnonzero(self.customer_ids == customer_id)
        if rows.size == 0:
            raise NotFound("candidate", customer_id)
        return SendReason.from_code(int(self.decisions.reason[rows[0]]))

    def lines(self) -> list[str]:
        """A printable summary: every reason with its count over the candidates."""
        n = len(self.customer_ids)
        rule = self.campaign.audience.to_json()
        shown = rule if len(rule) <= 160 else rule[:157] + "..."
        out = [f"{n:,} candidates selected by {shown}"]
        for reason, count in self.counts().items():
            kind = "dropped" if reason.dropped else "kept"
            out.append(f"  {reason.value:<14} {kind:<8} {Rate(count, n)}")
        out.append(f"  {self.ratio}")
        return out


def _shifted(moment: datetime, days: int, *, microseconds: int = 0) -> datetime:
    """``moment`` moved by ``days`` (and ``microseconds``), held at the calendar's ends
    rather than overflowing (a window reaching past year 9999 ends there)."""
    try:
        return moment + timedelta(days=days, microseconds=microseconds)
    except OverflowError:
        edge = datetime.max if days + microseconds > 0 else datetime.min
        return edge.replace(tzinfo=UTC)


def _candidates(campaign: Campaign, table: Any) -> Any:
    try:
        mask = campaign.audience.evaluate(table)
        ids = np.asarray(table.customer_ids)
    except (KeyError, AttributeError, TypeError) as exc:
        raise ValidationError(
            "table", type(table).__name__, f"a feature table with the audience's columns ({exc})"
        ) from None
    picked = ids[np.asarray(mask, dtype=bool)]
    if picked.dtype.kind == "O" and any(
        isinstance(x, str) and "\x00" in x for x in picked.tolist()
    ):
        # ``astype(str)`` drops a trailing NUL: the row "C1\x00" became customer C1,
        # who was then messaged though the rule never selected them.
        raise ValidationError(
            "table.customer_ids", "ids with a NUL character", "ids without NUL characters"
        )
    chosen = picked.astype(str)
    if chosen.size == 0:
        raise ValidationError(
            "audience", campaign.id, "a rule that selects at least one customer (empty audience)"
        )
    if np.unique(chosen).size != chosen.size:
        raise ValidationError("table.customer_ids", "repeated ids", "one row per customer")
    return chosen, (np.asarray(mask, dtype=bool), table)


def _customers_of(store: CampaignStore, ids: list[str]) -> dict[str, Any]:
    """The stored customers among ``ids``: point reads for a small audience, one pass
    over the customer repository for a large one (fewer round trips to a database)."""
    if len(ids) * 4 < store.customers.count():
        found = {}
        for cid in ids:
            try:
                found[cid] = store.customers.get(cid)
            except NotFound:
                continue
        return found
    wanted = set(ids)
    return {c.id: c for chunk in store.customers.iter_chunks() for c in chunk if c.id in wanted}


def _is_new(table: Any, mask: Any) -> Any:
    if "is_new" in getattr(table, "names", ()):
        return np.asarray(column(table, "is_new"), dtype=np.float64)[mask] > 0
    return np.zeros(int(np.count_nonzero(mask)), dtype=bool)


def _decide(
    store: CampaignStore,
    campaign: Campaign,
    table: Any,
    at: datetime,
    timezones: Mapping[str, str] | None,
) -> tuple[Any, AudienceDecisions, Any, list[Any]]:
    v.check_aware("at", at)
    ids, (mask, tbl) = _candidates(campaign, table)
    is_new = _is_new(tbl, mask)
    n = ids.size
    customers: list[Any] = []
    consent = np.zeros(n, dtype=bool)
    supp = np.zeros(n, dtype=np.int8)
    known = _customers_of(store, ids.tolist())
    for i, cid in enumerate(ids.tolist()):
        customer = known.get(cid)
        if customer is None:
            customers.append(None)
            # Gone from the store: no consent to read, so the suppression step
            # records it as erased.
            consent[i] = True
            supp[i] = SUPPRESSION_CODES["erased"]
            continue
        customers.append(customer)
        consent[i] = customer.may_contact(campaign.channel)
    listed: dict[str, int] = {}
    for entry in store.campaigns.suppressions():
        code = SUPPRESSION_CODES[entry.reason.value]
        listed[entry.customer_id] = min(code, listed.get(entry.customer_id, code))
    for i, cid in enumerate(ids.tolist()):
        found = listed.get(cid)
        if found is not None and (supp[i] == 0 or found < supp[i]):
            supp[i] = found
    offsets = np.zeros(n, dtype=np.int64)
    zones = dict(timezones or {})
    cache: dict[str, int] = {}
    found_zones: dict[str, tzinfo] = {}
    zone_names: list[str] = []
    for i, cid in enumerate(ids.tolist()):
        name = zones.get(cid, campaign.timezone)
        if name not in cache:
            found_zones[name] = zone(name, f"timezones[{cid!r}]")
            offset = at.astimezone(found_zones[name]).utcoffset()
            cache[name] = int(offset.total_seconds()) if offset is not None else 0
        offsets[i] = cache[name]
        zone_names.append(name)
    cap = campaign.frequency_cap
    codes = times = then = None
    if cap is not None:
        log = store.campaigns.send_log(_shifted(at, -(cap.window_days + 1)))
        log_ids, times = np.asarray(log.customer_ids), np.asarray(log.send_at_us)
        if campaign.ran_at is not None and times.size:
            # Previewing a campaign that has run: its own messages are not "other"
            # messages counted against the cap (each removed once from the log).
            keep = _without_own_sends(store, campaign.id, log_ids, times)
            log_ids, times = log_ids[keep], times[keep]
        codes = match_ids(ids, log_ids)
        then = _offsets_then(codes, times, zone_names, found_zones, offsets)
    quiet = campaign.quiet_hours.minutes if campaign.quiet_hours is not None else (None, None)
    decisions = decide_audience(
        ids, consent=consent, suppression=supp, utc_offset_s=offsets,
        now_us=to_epoch_micros(at), salt=campaign.salt, past_send_codes=codes,
        past_send_us=times, past_send_offset_s=then, cap=None if cap is None else cap.messages,
        window_days=7 if cap is None else cap.window_days,
        holdout_share=float(campaign.holdout_share),
        quiet_start_min=quiet[0], quiet_end_min=quiet[1],
    )
    if campaign.quiet_hours is not None:
        decisions = _held_until_local_end(
            decisions, zone_names, found_zones, at, campaign.quiet_hours
        )
    offers = np.full(n, -1, dtype=np.int64)
    treated = decisions.treated
    for i in np.flatnonzero(treated).tolist():
        index = campaign.offer_for(bool(is_new[i]))
        assert index is not None  # a Campaign always has offers for new and returning
        offers[i] = index
    return ids, decisions, offers, customers


def _offsets_then(
    codes: Any, times: Any, zone_names: list[str], zones: Mapping[str, tzinfo], now: Any
) -> Any:
    """Each past send's UTC offset (seconds) in its candidate's zone when it went (0
    where no candidate sent it), so the frequency cap counts the calendar day it went
    on even when the clocks have changed since. Offsets are looked up once per zone
    and quarter of an hour (clocks change on quarter hours); a send past the
    calendar's ends keeps the candidate's offset ``now`` (seconds per candidate)."""
    codes, times = np.asarray(codes, dtype=np.int64), np.asarray(times, dtype=np.int64)
    out = np.zeros(codes.size, dtype=np.int64)
    quarter = 900 * 1_000_000
    names = sorted(set(zone_names))
    zone_of = np.searchsorted(names, zone_names) if zone_names else np.zeros(0, np.int64)
    sent = np.flatnonzero(codes >= 0)
    row_zone = zone_of[codes[sent]]
    for z, name in enumerate(names):
        picked = sent[row_zone == z]
        if not picked.size:
            continue
        buckets, back = np.unique(times[picked] // quarter, return_inverse=True)
        found = np.zeros(buckets.size, dtype=np.int64)
        known = np.ones(buckets.size, dtype=bool)
        for k, bucket in enumerate(buckets.tolist()):
            try:
                offset = from_epoch_micros(int(bucket) * quarter, zones[name]).utcoffset()
            except ValidationError:
                offset = None
            known[k] = offset is not None
            found[k] = 0 if offset is None else int(offset.total_seconds())
        out[picked] = np.where(known[back], found[back], np.asarray(now)[codes[picked]])
    return out


def _quiet_end(at: datetime, tz: tzinfo, quiet: QuietHours) -> datetime | None:
    """When the quiet window that ``at`` falls in ends, read on ``tz``'s own clock (so a
    daylight-saving change inside the window moves the instant), or None where ``at``
    is outside the window.

    An end that does not exist that night (in the hour skipped when clocks go forward)
    is read with the offset before the change, so it falls just after the skipped hour,
    never before the window's end; an end that happens twice is its first occurrence.

    Raises:
        OverflowError: the window ends past the calendar (year 9999).
    """
    local = at.astimezone(tz)
    minute = local.hour * 60 + local.minute
    start, end = quiet.minutes
    if start < end:
        inside, days = start <= minute < end, 0
    else:  # wraps past midnight
        inside, days = minute >= start or minute < end, int(minute >= start)
    if not inside:
        return None
    day = local.date() + timedelta(days=days)
    return datetime.combine(day, time(end // 60, end % 60), tzinfo=tz)


def _held_until_local_end(
    decisions: AudienceDecisions,
    zone_names: list[str],
    zones: Mapping[str, tzinfo],
    at: datetime,
    quiet: QuietHours,
) -> AudienceDecisions:
    """``decisions`` with each message held for quiet hours sent when the window ends
    on its customer's clock (:func:`decide_audience` counts with the UTC offset at
    ``at``, an hour off when the clocks change during the night).

    Raises:
        ValidationError: ``at`` is so near the calendar's end that the window ends
            past it (no instant to send at).
    """
    held = np.flatnonzero(decisions.reason == SendReason.QUIET_HOURS.code)
    if not held.size:
        return decisions
    ends: dict[str, int | None] = {}
    send_at = decisions.send_at_us.copy()
    for i in held.tolist():
        name = zone_names[i]
        if name not in ends:
            try:
                found = _quiet_end(at, zones[name], quiet)
                ends[name] = None if found is None else to_epoch_micros(found)
                if found is not None:  # the run shows it in ``at``'s zone
                    from_epoch_micros(to_epoch_micros(found), at.tzinfo or UTC)
            except (OverflowError, ValidationError):
                raise ValidationError(
                    "at", at, f"a moment whose quiet hours in {name} end within the years "
                    "1..9999 (the messages held until then could never go)",
                ) from None
        end_us = ends[name]
        if end_us is not None:
            send_at[i] = end_us
    return attrs.evolve(decisions, send_at_us=send_at)


def _without_own_sends(store: CampaignStore, campaign_id: str, ids: Any, times: Any) -> Any:
    own: dict[tuple[str, int], int] = {}
    for d in store.campaigns.decisions(campaign_id):
        if d.send_at is not None:
            key = (d.customer_id, to_epoch_micros(d.send_at))
            own[key] = own.get(key, 0) + 1
    keep = np.ones(times.size, dtype=bool)
    for i, (cid, t) in enumerate(zip(ids.tolist(), times.tolist(), strict=True)):
        key = (str(cid), int(t))
        if own.get(key):
            own[key] -= 1
            keep[i] = False
    return keep


def _ratio(campaign: Campaign, decisions: AudienceDecisions) -> SampleRatioCheck:
    return sample_ratio_check(
        int(decisions.treated.sum()), int(decisions.holdout.sum()), float(campaign.holdout_share)
    )


def preview_audience(
    store: CampaignStore,
    campaign_id: str,
    table: Any,
    *,
    at: datetime,
    timezones: Mapping[str, str] | None = None,
) -> AudiencePreview:
    """Who the campaign would reach now, and why each other candidate would not.

    Raises:
        NotFound: no such campaign.
        ValidationError: an empty audience, a table without the rule's columns, a
            naive ``at``.
    """
    campaign = store.campaigns.get_campaign(campaign_id)
    ids, decisions, offers, _ = _decide(store, campaign, table, at, timezones)
    return AudiencePreview(campaign=campaign, at=at, customer_ids=ids, decisions=decisions,
                           offers=offers, ratio=_ratio(campaign, decisions))


@attrs.frozen(kw_only=True, eq=False)
class CampaignRun:
    """The outcome of running a campaign.

    Attributes:
        campaign: the campaign, marked as run.
        counts: customers per reason.
        messages: how many messages went to the notifier.
        ratio: the sample-ratio check (``ratio.mismatch``: do not trust the split).
    """

    campaign: Campaign
    counts: dict[SendReason, int]
    messages: int
    ratio: SampleRatioCheck


def _fields(customer: Any) -> dict[str, str]:
    if customer is None:
        return {}
    city = customer.address.city if customer.address is not None else None
    return {"name": customer.name, "customer_id": customer.id, "city": city or "",
            "region": customer.region or ""}


def _message_id(campaign_id: str, customer_id: str) -> str:
    """``campaign:customer``, or where that is longer than an id may be (two ids of up to
    128 characters each), the campaign's first 63 characters and the SHA-256 of both:
    a long customer id made the whole run fail on ``SendDecision.message_id``."""
    plain = f"{campaign_id}:{customer_id}"
    if len(plain) <= v.MAX_ID_LENGTH:
        return plain
    digest = hashlib.sha256(f"{campaign_id}\x00{customer_id}".encode()).hexdigest()
    return f"{campaign_id[: v.MAX_ID_LENGTH - 65]}:{digest}"


def run_campaign(
    store: CampaignStore,
    campaign_id: str,
    table: Any,
    notifier: Notifier,
    *,
    at: datetime,
    timezones: Mapping[str, str] | None = None,
) -> CampaignRun:
    """Build the audience, store one decision per candidate and enqueue the messages.

    All or nothing: the decisions, the campaign's ``ran_at`` and the notifier's batch
    happen in one transaction; if anything fails (the notifier included) no decision
    is stored.

    Raises:
        NotFound: no such campaign.
        Conflict: the campaign has already run.
        ValidationError: an empty audience, an offer expired at ``at`` (or by the time
            a message held for quiet hours may go), a run outside
            the campaign's period, a naive ``at``.
    """
    if not isinstance(notifier, Notifier):
        raise ValidationError("notifier", notifier, "a Notifier (an enqueue method)")
    campaign = store.campaigns.get_campaign(campaign_id)
    v.check_aware("at", at)
    if campaign.ran_at is not None:
        raise Conflict("campaign", campaign.id, f"already run at {campaign.ran_at}")
    if not campaign.starts_at <= at < campaign.ends_at:
        raise ValidationError(
            "at", at, f"a moment in the campaign's period [{campaign.starts_at}, "
            f"{campaign.ends_at})",
        )
    ids, decisions, offers, customers = _decide(store, campaign, table, at, timezones)
    used = sorted(set(offers[offers >= 0].tolist()))
    for index in used:
        campaign.offers[index].check_valid_at(at, field=f"Campaign.offers[{index}]")
        # A message held for quiet hours must not arrive with an expired coupon.
        latest = int(decisions.send_at_us[offers == index].max())
        campaign.offers[index].check_valid_at(
            from_epoch_micros(latest, UTC).astimezone(at.tzinfo),
            field=f"Campaign.offers[{index}]",
        )
    records: list[SendDecision] = []
    messages: list[OutboundMessage] = []
    for i, cid in enumerate(ids.tolist()):
        reason = SendReason.from_code(int(decisions.reason[i]))
        send_at = None
        offer_index = None
        message_id = None
        if reason.treated:
            send_at = from_epoch_micros(int(decisions.send_at_us[i]), UTC).astimezone(at.tzinfo)
            offer_index = int(offers[i])
            message_id = _message_id(campaign.id, cid)
            messages.append(OutboundMessage(
                message_id=message_id, campaign_id=campaign.id, customer_id=cid,
                channel=campaign.channel,
                text=campaign.render(offer_index, _fields(customers[i])), not_before=send_at,
            ))
        records.append(SendDecision(
            campaign_id=campaign.id, customer_id=cid, reason=reason, channel=campaign.channel,
            decided_at=at, send_at=send_at, offer_index=offer_index, message_id=message_id,
        ))
    ran = campaign.marked_run(at)
    with store.transaction():
        store.campaigns.add_decisions(records)
        store.campaigns.update_campaign(ran)
        notifier.enqueue(messages)
    return CampaignRun(campaign=ran, counts=decisions.counts(), messages=len(messages),
                       ratio=_ratio(campaign, decisions))


def record_draw(
    store: CampaignStore,
    campaign_id: str,
    *,
    draw_id: str,
    entrants: Sequence[str],
    winners: int,
    seed: str,
    prize: str,
    at: datetime,
) -> DrawRecord:
    """Draw the winners of a lottery or Q&A activity and store the record.

    For a Q&A activity ``entrants`` are those who answered correctly.

    Raises:
        NotFound: no such campaign.
        ValidationError: the campaign is not a lottery or Q&A, no entrants, too many
            winners.
        Conflict: the draw id is taken.
    """
    campaign = store.campaigns.get_campaign(campaign_id)
    if campaign.kind is CampaignKind.STANDARD:
        raise ValidationError("campaign.kind", campaign.kind.value, "a lottery or Q&A activity")
    record = draw_winners(draw_id, campaign_id=campaign_id, entrants=entrants,
                          winners=winners, seed=seed, prize=prize, at=at)
    with store.transaction():
        store.campaigns.add_draw(record)
    return record


@attrs.frozen(kw_only=True)
class ActivitySummary:
    """Participants, sales and feedback of a lottery or Q&A activity.

    Attributes:
        participants: how many took part (the draws' entrants).
        winners: how many won.
        sales: participants' net revenue in the attribution window (major units).
        buyers: participants who bought, over the participants.
        feedback: reviews and feedback left by participants in the window.
        mean_rating: their reviews' mean star rating (None without reviews).
        digits: the currency's minor-unit digits, which the sales are shown with.
    """

    participants: int
    winners: int
    sales: float
    buyers: Rate
    feedback: int
    mean_rating: float | None
    digits: int = attrs.field(default=2)

    @digits.validator
    def _check_digits(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_digits(value, "ActivitySummary.digits")

    def __str__(self) -> str:
        rating = "-" if self.mean_rating is None else f"{self.mean_rating:.2f}"
        return (
            f"activity: {self.participants:,} participants, {self.winners:,} winners, "
            f"buyers {self.buyers}, sales {self.sales:,.{self.digits}f}, "
            f"{self.feedback:,} reviews/feedback "
            f"(mean rating {rating})"
        )


@attrs.frozen(kw_only=True)
class CampaignReport(Displayed):
    """What the campaign changed, treated against holdout.

    Attributes:
        campaign: the campaign.
        as_of: the report's moment (orders after it are not seen).
        treated, holdout: the group sizes.
        uplift: conversion, revenue per customer, AOV and ROI uplift (None when
            the campaign had no holdout or no treated customer).
        groups: the uplift per segment and star level.
        ratio: the sample-ratio check.
        activity: for a lottery or Q&A, participants, sales and feedback.
        window_complete: whether the attribution window has closed by ``as_of``.
    """

    campaign: Campaign
    as_of: datetime
    treated: int
    holdout: int
    uplift: UpliftReport | None
    groups: tuple[GroupUplift, ...]
    ratio: SampleRatioCheck
    activity: ActivitySummary | None
    window_complete: bool

    def __repr__(self) -> str:
        return short_repr("CampaignReport", campaign=self.campaign.id, treated=self.treated,
                          holdout=self.holdout, as_of=self.as_of)

    def _display(self) -> Report:
        """Group sizes, the sample-ratio check, the uplift overall and per group."""
        c = self.campaign
        report = Report(f"Campaign report: {c.name}", facts=[
            ("campaign", c.id), ("as of", self.as_of), ("treated", self.treated),
            ("holdout", self.holdout), ("attribution (days)", c.attribution_days),
            ("window closed", self.window_complete),
        ])
        if self.uplift is not None:
            report.add(Table(caption="uplift", header=("figure",),
                             rows=tuple((line,) for line in self.uplift.lines())))
        if self.groups:
            report.add(Table(caption="uplift per group", header=("group",),
                             rows=tuple((str(g),) for g in self.groups)))
        report.note(str(self.ratio))
        if self.uplift is None:
            report.note("no uplift: the campaign has no holdout (or no treated customer)")
        if self.activity is not None:
            report.note(str(self.activity))
        return report

    def lines(self) -> list[str]:
        """The report as printable lines."""
        c = self.campaign
        out = [
            f"campaign {c.id} {c.name}: treated {self.treated:,}, holdout {self.holdout:,} "
            f"({c.holdout_share:.0%} designed); attribution {c.attribution_days} days"
            + ("" if self.window_complete else " (window still open: figures provisional)"),
            str(self.ratio),
        ]
        if self.uplift is None:
            out.append("no uplift: the campaign has no holdout (or no treated customer)")
        else:
            out += self.uplift.lines()
        out += [str(g) for g in self.groups]
        if self.activity is not None:
            out.append(str(self.activity))
        return out


def campaign_report(
    store: CampaignStore,
    campaign_id: str,
    *,
    as_of: datetime,
    groups: Mapping[str, Mapping[str, str]] | None = None,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
) -> CampaignReport:
    """Measure a run campaign against its holdout, overall and per group.

    Orders count when placed in ``[decided_at, decided_at + attribution window)``
    (the same start for both groups, so that quiet-hours delays do not favour the
    holdout), and not after ``as_of``.

    Args:
        groups: labels per customer by grouping, e.g. ``{"stars": {...},
            "segment": {...}}``.
        replicates, seed: the bootstrap's settings.

    Raises:
        NotFound: no such campaign.
        ValidationError: the campaign has not run.
    """
    from custmgmt.analytics.frames import InteractionFrame, OrderFrame

    v.check_aware("as_of", as_of)
    campaign = store.campaigns.get_campaign(campaign_id)
    if campaign.ran_at is None:
        raise ValidationError("campaign", campaign_id, "a campaign that has run")
    decisions = store.campaigns.decisions(campaign_id)
    treated = [d for d in decisions if d.reason.treated]
    held = [d for d in decisions if d.reason is SendReason.HOLDOUT]
    ratio = sample_ratio_check(len(treated), len(held), float(campaign.holdout_share))
    start = campaign.ran_at
    if as_of < start:
        raise ValidationError("as_of", as_of, f"a moment after the campaign ran ({start})")
    window_end = _shifted(start, campaign.attribution_days)
    end = min(window_end, _shifted(as_of, 0, microseconds=1))
    currency = campaign.offers[0].unit_cost.currency
    digits = currency_digits(currency)
    ids = np.array([d.customer_id for d in treated + held], dtype=object)
    frame = OrderFrame.from_store(
        store, currency=currency, since=start, as_of=end, customers=ids.tolist()
    ) if ids.size else None
    s_us = np.full(ids.size, to_epoch_micros(start), dtype=np.int64)
    e_us = np.full(ids.size, to_epoch_micros(end), dtype=np.int64)
    from custmgmt.campaigns.effect import window_outcomes

    if frame is not None:
        orders, revenue = window_outcomes(frame, ids, s_us, e_us)
    else:
        orders = revenue = np.zeros(0, dtype=np.int64)
    nt = len(treated)
    t_ids, c_ids = ids[:nt], ids[nt:]
    t_out = (orders[:nt], revenue[:nt])
    c_out = (orders[nt:], revenue[nt:])
    uplift = None
    group_rows: list[GroupUplift] = []
    if nt and len(held):
        cost = 0
        for d in treated:
            if d.offer_index is not None:
                cost += campaign.offers[d.offer_index].unit_cost.to_minor()
        uplift = analyse_uplift(*t_out, *c_out, cost_minor=cost, digits=digits,
                                replicates=replicates, seed=seed)
        for k, (by, labels) in enumerate(sorted((groups or {}).items())):
            group_rows += uplift_by_group(by, labels, t_ids, t_out, c_ids, c_out, digits=digits,
                                          replicates=max(100, replicates // 4),
                                          seed=seed + 100 * (k + 1))
    activity = None
    if campaign.kind is not CampaignKind.STANDARD:
        draws = store.campaigns.draws(campaign_id)
        entrants = sorted({e for d in draws for e in d.entrants})
        winners = sum(len(d.winners) for d in draws)
        p_ids = np.array(entrants, dtype=object)
        sales = 0.0
        buyers = Rate(0, len(entrants))
        feedback, mean_rating = 0, None
        if entrants:
            pf = OrderFrame.from_store(store, currency=currency, since=start, as_of=end,
                                       customers=entrants)
            p_orders, p_rev = window_outcomes(
                pf, p_ids, np.full(p_ids.size, to_epoch_micros(start), dtype=np.int64),
                np.full(p_ids.size, to_epoch_micros(end), dtype=np.int64),
            )
            sales = float(p_rev.sum()) / 10**digits
            buyers = Rate(int((p_orders > 0).sum()), len(entrants))
            inter = InteractionFrame.from_store(store, since=start, as_of=end, customers=entrants,
                                                kinds=[InteractionKind.REVIEW,
                                                       InteractionKind.FEEDBACK])
            feedback = len(inter)
            rated = np.asarray(inter.rating)[np.asarray(inter.rating) > 0]
            mean_rating = float(rated.mean()) if rated.size else None
        activity = ActivitySummary(participants=len(entrants), winners=winners, sales=sales,
                                   buyers=buyers, feedback=feedback, mean_rating=mean_rating,
                                   digits=digits)
    return CampaignReport(
        campaign=campaign, as_of=as_of, treated=nt, holdout=len(held), uplift=uplift,
        groups=tuple(group_rows), ratio=ratio, activity=activity,
        window_complete=as_of >= window_end,
    )


@attrs.frozen(kw_only=True)
class ReferralReward:
    """A referral that earned both sides their reward.

    Attributes:
        referrer_id: the treated customer who referred.
        referee_id: the new customer referred.
        referred_at: when the referral was recorded.
        order_id: the referee's first counted order in the window, which qualified it.
        referrer_reward: the referrer's reward (the offer's ``amount``).
        referee_reward: the new customer's reward (the offer's ``friend_amount``).
    """

    referrer_id: str
    referee_id: str
    referred_at: datetime
    order_id: str
    referrer_reward: Money
    referee_reward: Money


def referral_rewards(
    store: CampaignStore, campaign_id: str, *, as_of: datetime
) -> list[ReferralReward]:
    """The referral rewards a campaign owes, both sides, by referral time.

    A treated customer whose offer was a referral reward earns it for each customer
    they referred (a ``referral`` interaction naming them) within the attribution
    window, once that customer is in the store and has placed a counted order after
    the referral and within the window; the referred customer earns the friend's
    reward. A customer referred by several people is credited to the first.

    Raises:
        NotFound: no such campaign.
        ValidationError: the campaign has not run, or a naive ``as_of``.
    """
    v.check_aware("as_of", as_of)
    campaign = store.campaigns.get_campaign(campaign_id)
    if campaign.ran_at is None:
        raise ValidationError("campaign", campaign_id, "a campaign that has run")
    offers = {
        d.customer_id: campaign.offers[d.offer_index]
        for d in store.campaigns.decisions(campaign_id)
        if d.offer_index is not None
        and campaign.offers[d.offer_index].kind is OfferKind.REFERRAL
    }
    if not offers:
        return []
    start = campaign.ran_at
    end = min(_shifted(start, campaign.attribution_days), _shifted(as_of, 0, microseconds=1))
    if end <= start:
        return []
    rewards: list[ReferralReward] = []
    credited: set[str] = set()
    for event in store.interactions.between(start, end, kinds=[InteractionKind.REFERRAL]):
        offer = offers.get(event.customer_id)
        details = event.details
        if offer is None or not isinstance(details, Referral):
            continue
        referee = details.referred_customer_id
        if referee in credited or referee == event.customer_id:
            continue
        try:
            store.customers.get(referee)
        except NotFound:
            continue
        qualifying = [
            o for o in store.orders.for_customer(referee)
            if o.status.is_counted and event.at <= o.placed_at < end
        ]
        if not qualifying:
            continue
        mine, theirs = offer.amount, offer.friend_amount
        if mine is None or theirs is None:  # pragma: no cover - a referral offer has both
            continue
        credited.add(referee)
        rewards.append(ReferralReward(
            referrer_id=event.customer_id, referee_id=referee, referred_at=event.at,
            order_id=qualifying[0].id, referrer_reward=mine, referee_reward=theirs,
        ))
    return rewards
