"""Customer quality and credit risk: scorecards, early warnings, restrictions, appeals.

* :mod:`~custmgmt.risk.features`: risk features beside the feature catalogue.
* :mod:`~custmgmt.risk.scorecard`: scorecards as data, PDO and min-max scaling, grades.
* :mod:`~custmgmt.risk.learn`: the learnt card (binning, WoE/IV, logistic regression).
* :mod:`~custmgmt.risk.evaluation`: AUC, KS, Gini with bootstrap intervals,
  calibration, PSI.
* :mod:`~custmgmt.risk.alerts`: early-warning rules as data and stored alerts.
* :mod:`~custmgmt.risk.restrictions`: credit terms, restrictions, the appeal workflow.
* :mod:`~custmgmt.risk.ports` and :mod:`~custmgmt.risk.services`: storage and use cases.

See ``docs/risk.md``.
"""

from __future__ import annotations

from custmgmt.risk.alerts import (
    DEFAULT_RULES,
    Alert,
    AlertFinding,
    AlertStatus,
    BaselineRule,
    ReviewBurstRule,
    ThresholdRule,
    evaluate_rules,
)
from custmgmt.risk.evaluation import auc, card_stability, evaluate, ks, psi, psi_verdict
from custmgmt.risk.features import (
    RISK_FEATURES,
    describe_risk_feature,
    is_known_feature,
    risk_feature_names,
    risk_features,
)
from custmgmt.risk.history import ScoreRecord, ScoreRun, ScoreRunInfo
from custmgmt.risk.learn import ScorecardFitter, fit_logistic
from custmgmt.risk.ports import RISK, RiskRepository, RiskStore
from custmgmt.risk.restrictions import (
    APPEAL_WORKFLOW,
    DEFAULT_CREDIT_POLICY,
    Appeal,
    AppealEvent,
    AppealStatus,
    CreditPolicy,
    CreditTerms,
    Restriction,
    RestrictionKind,
    RestrictionStatus,
    effective_terms,
)
from custmgmt.risk.scorecard import (
    Bin,
    FeatureTable,
    GradeBand,
    PDOScaling,
    ScoreBatch,
    Scorecard,
    default_grades,
    scale_min_max,
)
from custmgmt.risk.services import (
    AlertRun,
    acknowledge_alert,
    current_grades,
    customer_terms,
    decide_appeal,
    escalate_overdue,
    impose_restriction,
    lift_restriction,
    raise_alerts,
    rescore_quarterly,
    resolve_alert,
    restricted_customers,
    run_stability,
    save_scorecard,
    score_customers,
    start_review,
    submit_appeal,
)

__all__ = [
    "APPEAL_WORKFLOW",
    "DEFAULT_CREDIT_POLICY",
    "DEFAULT_RULES",
    "RISK",
    "RISK_FEATURES",
    "Alert",
    "AlertFinding",
    "AlertRun",
    "AlertStatus",
    "Appeal",
    "AppealEvent",
    "AppealStatus",
    "BaselineRule",
    "Bin",
    "CreditPolicy",
    "CreditTerms",
    "FeatureTable",
    "GradeBand",
    "PDOScaling",
    "Restriction",
    "RestrictionKind",
    "RestrictionStatus",
    "ReviewBurstRule",
    "RiskRepository",
    "RiskStore",
    "ScoreBatch",
    "ScoreRecord",
    "ScoreRun",
    "ScoreRunInfo",
    "Scorecard",
    "ScorecardFitter",
    "ThresholdRule",
    "acknowledge_alert",
    "auc",
    "card_stability",
    "current_grades",
    "customer_terms",
    "decide_appeal",
    "default_grades",
    "describe_risk_feature",
    "effective_terms",
    "escalate_overdue",
    "evaluate",
    "evaluate_rules",
    "fit_logistic",
    "impose_restriction",
    "is_known_feature",
    "ks",
    "lift_restriction",
    "psi",
    "psi_verdict",
    "raise_alerts",
    "rescore_quarterly",
    "resolve_alert",
    "restricted_customers",
    "risk_feature_names",
    "risk_features",
    "run_stability",
    "save_scorecard",
    "scale_min_max",
    "score_customers",
    "start_review",
    "submit_appeal",
]
