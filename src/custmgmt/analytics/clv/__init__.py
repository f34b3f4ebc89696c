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

The models follow scikit-learn's conventions (``fit`` returns ``self``, learnt
attributes end in ``_``, using an unfitted model raises
:class:`~custmgmt.errors.NotFittedError`) and need scipy, an optional extra
(``pip install 'custmgmt[scipy]'``), imported only when a model is used.
"""

from custmgmt.analytics.clv._bgnbd import BetaGeo
from custmgmt.analytics.clv._gamma import GammaGamma, PurchaseForecaster
from custmgmt.analytics.clv._pareto import ParetoNBD
from custmgmt.analytics.clv._simulate import (
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
)
from custmgmt.analytics.clv._summary import TransactionSummary, summarize_transactions
from custmgmt.errors import ConvergenceError

__all__ = [
    "BetaGeo",
    "ConvergenceError",
    "GammaGamma",
    "ParetoNBD",
    "PurchaseForecaster",
    "TransactionSummary",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_pareto_nbd",
    "summarize_transactions",
]
