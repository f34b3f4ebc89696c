"""Churn: rules that flag customers leaving, with reasons and win-back actions.

* :mod:`~custmgmt.churn.rules` -- the rules (the default: silent for more than 1.5x
  the customer's own purchase cycle), each reporting the values that made it fire.
* :mod:`~custmgmt.churn.reasons` -- the likely reason (quality, service, price,
  unknown) and the win-back playbook that maps reasons to actions.
* :mod:`~custmgmt.churn.engine` -- :class:`ChurnEngine` ties them together and
  returns a :class:`ChurnReport` with risk levels.

See ``docs/segmentation-and-churn.md``.
"""

from custmgmt.churn.engine import (
    ChurnEngine,
    ChurnExplanation,
    ChurnReport,
    FiredRule,
    RiskLevel,
    default_rules,
)
from custmgmt.churn.reasons import Reason, WinBackAction, WinBackPlaybook, infer_reasons
from custmgmt.churn.rules import (
    CYCLE_SOURCES,
    ChurnContext,
    ChurnRule,
    FallingReviews,
    ModelAliveBelow,
    NoPurchaseWithin,
    PurchaseCycleRule,
    RuleOutcome,
    SpendDrop,
    UnresolvedComplaint,
    category_cycles,
    churn_rule_from_dict,
)

__all__ = [
    "CYCLE_SOURCES",
    "ChurnContext",
    "ChurnEngine",
    "ChurnExplanation",
    "ChurnReport",
    "ChurnRule",
    "FallingReviews",
    "FiredRule",
    "ModelAliveBelow",
    "NoPurchaseWithin",
    "PurchaseCycleRule",
    "Reason",
    "RiskLevel",
    "RuleOutcome",
    "SpendDrop",
    "UnresolvedComplaint",
    "WinBackAction",
    "WinBackPlaybook",
    "category_cycles",
    "churn_rule_from_dict",
    "default_rules",
    "infer_reasons",
]
