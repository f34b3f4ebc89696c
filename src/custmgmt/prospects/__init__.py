"""Prospects and customer development: leads through an approved pipeline to customers.

:mod:`~custmgmt.prospects.prospect` holds the prospect and its records,
:mod:`~custmgmt.prospects.pipeline` the validated stage table with approvals,
:mod:`~custmgmt.prospects.analysis` the funnel and development reports,
:mod:`~custmgmt.prospects.services` the use cases on a
:class:`~custmgmt.prospects.ports.ProspectStore`.
"""

from custmgmt.prospects.analysis import (
    Funnel,
    FunnelStep,
    OutreachEffect,
    StageTime,
    WeeklyRow,
    as_of_view,
    funnel,
    loss_reasons,
    outreach_effect,
    time_in_stage,
    weekly_report,
    win_rate,
)
from custmgmt.prospects.pipeline import (
    DEFAULT_APPROVAL_ROLES,
    DEFAULT_PIPELINE,
    ApprovalPolicy,
    Move,
    Pipeline,
    Stage,
)
from custmgmt.prospects.ports import PROSPECTS, ProspectRepository, ProspectStore
from custmgmt.prospects.prospect import (
    ContactKind,
    ContactRecord,
    CreditGrade,
    InvestigationReport,
    Prospect,
    ProspectKind,
    Recommendation,
    StageChange,
)

__all__ = [
    "DEFAULT_APPROVAL_ROLES",
    "DEFAULT_PIPELINE",
    "PROSPECTS",
    "ApprovalPolicy",
    "ContactKind",
    "ContactRecord",
    "CreditGrade",
    "Funnel",
    "FunnelStep",
    "InvestigationReport",
    "Move",
    "OutreachEffect",
    "Pipeline",
    "Prospect",
    "ProspectKind",
    "ProspectRepository",
    "ProspectStore",
    "Recommendation",
    "Stage",
    "StageChange",
    "StageTime",
    "WeeklyRow",
    "as_of_view",
    "funnel",
    "loss_reasons",
    "outreach_effect",
    "time_in_stage",
    "weekly_report",
    "win_rate",
]
