"""Customer-lifetime models: who is still a customer, what they will buy, what they are worth.

* :func:`summarize_transactions` turns a transaction log into each customer's
  frequency, recency, age (T) and mean spend, with an optional calibration / holdout
  split, following the conventions of the literature (and of lifetimes).
* :class:`BetaGeo` (BG/NBD; Fader, Hardie & Lee 2005) and :class:`ParetoNBD`
  (Schmittlein, Morrison & Colombo 1987) model repeat purchases and dropout:
  ``probability_alive`` and ``predict_purchases``.
* :class:`GammaGamma` (Fader, Hardie & Lee 2005; Fader & Hardie's note 025) models
  spend per transaction and combines with either of them into
  ``customer_lifetime_value``.
* ``simulate_*`` draw synthetic customers from each model, seeded.
* :func:`analyse_clv` is the whole use case behind ``custmgmt clv``: orders (a frame
  or a store) in, a :class:`ClvReport` with every model's estimates, what the data
  cannot identify, and each customer's lifetime value out.

The models follow scikit-learn's conventions (``fit`` returns ``self``, learnt
attributes end in ``_``, using an unfitted model raises
:class:`~custmgmt.errors.NotFittedError`) and need scipy, an optional extra
(``pip install 'custmgmt[scipy]'``), imported only when a model is used.
"""

from custmgmt.analytics.clv._base import FitProgress, ProgressCallback
from custmgmt.analytics.clv._bgnbd import BetaGeo
from custmgmt.analytics.clv._gamma import MAX_MONTHS, GammaGamma, PurchaseForecaster
from custmgmt.analytics.clv._pareto import ParetoNBD
from custmgmt.analytics.clv._report import (
    MODELS,
    ClvEvent,
    ClvReport,
    ModelFit,
    SpendExclusion,
    SummaryReady,
    analyse_clv,
)
from custmgmt.analytics.clv._simulate import (
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
)
from custmgmt.analytics.clv._summary import TransactionSummary, summarize_transactions
from custmgmt.errors import ConvergenceError

__all__ = [
    "MAX_MONTHS",
    "MODELS",
    "BetaGeo",
    "ClvEvent",
    "ClvReport",
    "ConvergenceError",
    "FitProgress",
    "GammaGamma",
    "ModelFit",
    "ParetoNBD",
    "ProgressCallback",
    "PurchaseForecaster",
    "SpendExclusion",
    "SummaryReady",
    "TransactionSummary",
    "analyse_clv",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_pareto_nbd",
    "summarize_transactions",
]
