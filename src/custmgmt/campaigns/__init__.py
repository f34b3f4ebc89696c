"""Campaigns with consent, holdouts and measured uplift.

A campaign aims offers at an audience (any segmentation rule: segments, star levels,
churn flags, new or returning customers) over one channel. Running it applies, in
order and recording one reason per dropped customer, per-channel consent, the
suppression list and a frequency cap across campaigns; holds a salted-hash holdout
back; holds messages during quiet hours; renders the messages from a template and
hands them to the host's :class:`Notifier`. The report then compares treated with
holdout customers within the attribution window, with intervals and p-values; every
rate is shown with its denominator. Lotteries and Q&A activities draw winners with a
seeded, recorded draw anyone can re-run.

See ``docs/campaigns-and-followups.md``.
"""

from custmgmt.campaigns.audience import (
    DROP_REASONS,
    SUPPRESSION_CODES,
    AudienceDecisions,
    SampleRatioCheck,
    SendReason,
    decide_audience,
    holdout_hash,
    sample_ratio_check,
)
from custmgmt.campaigns.audience_table import audience_table
from custmgmt.campaigns.campaign import (
    MAX_DAYS,
    TEMPLATE_FIELDS,
    Campaign,
    CampaignKind,
    FrequencyCap,
    Offer,
    OfferAudience,
    OfferKind,
    QuietHours,
)
from custmgmt.campaigns.draws import DrawCheck, DrawRecord, draw_winners, verify_draw
from custmgmt.campaigns.effect import GroupUplift, RoiEstimate, UpliftReport, analyse_uplift
from custmgmt.campaigns.notify import MemoryNotifier, Notifier, OutboundMessage
from custmgmt.campaigns.ports import CAMPAIGNS, CampaignRepository, CampaignStore, SendLog
from custmgmt.campaigns.records import SendDecision, Suppression, SuppressionReason
from custmgmt.campaigns.services import (
    ActivitySummary,
    AudiencePreview,
    CampaignReport,
    CampaignRun,
    ReferralReward,
    campaign_report,
    create_campaign,
    preview_audience,
    record_draw,
    referral_rewards,
    run_campaign,
    suppress,
)
from custmgmt.campaigns.stats import Rate, Uplift, mean_uplift, rate_uplift

__all__ = [
    "CAMPAIGNS",
    "DROP_REASONS",
    "MAX_DAYS",
    "SUPPRESSION_CODES",
    "TEMPLATE_FIELDS",
    "ActivitySummary",
    "AudienceDecisions",
    "AudiencePreview",
    "Campaign",
    "CampaignKind",
    "CampaignReport",
    "CampaignRepository",
    "CampaignRun",
    "CampaignStore",
    "DrawCheck",
    "DrawRecord",
    "FrequencyCap",
    "GroupUplift",
    "MemoryNotifier",
    "Notifier",
    "Offer",
    "OfferAudience",
    "OfferKind",
    "OutboundMessage",
    "QuietHours",
    "Rate",
    "ReferralReward",
    "RoiEstimate",
    "SampleRatioCheck",
    "SendDecision",
    "SendLog",
    "SendReason",
    "Suppression",
    "SuppressionReason",
    "Uplift",
    "UpliftReport",
    "analyse_uplift",
    "audience_table",
    "campaign_report",
    "create_campaign",
    "decide_audience",
    "draw_winners",
    "holdout_hash",
    "mean_uplift",
    "preview_audience",
    "rate_uplift",
    "record_draw",
    "referral_rewards",
    "run_campaign",
    "sample_ratio_check",
    "suppress",
    "verify_draw",
]
