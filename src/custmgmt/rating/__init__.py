"""Star ratings: policies, rating runs, overrides, real-time updates, service levels.

* :class:`RatingPolicy`: weighted criteria, star bands, hysteresis and schedule, as
  data (``to_dict`` / ``from_json``); :func:`rate` (the engine) gives a
  :class:`Rating` (scores, stars, contributions, change since the previous run).
* :class:`Override`: staff-set stars, effective after a reviewer named by an
  :class:`OverridePolicy` (a staff id or role, never the requester) approves; every
  consumer (``rate_store``, :func:`star_history`, :func:`current_stars`, ticket
  priorities and SLAs) sees the effective stars, with the override in the explanation.
* :class:`IncrementalRater`: keeps stars current as orders, returns and complaints
  arrive between scheduled runs.
* :class:`ServiceLevels`: what each number of stars earns.
* :func:`rate_frames`: rate the customers of order (and interaction) frames: only
  customers with a counted order are rated; features the input cannot support are
  dropped or refused as the policy says.
* :mod:`custmgmt.rating.services`: run a scheduled rating over a store and keep it.
"""

from custmgmt.rating.incremental import IncrementalRater
from custmgmt.rating.inputs import rate_frames
from custmgmt.rating.lookup import response_time_factors
from custmgmt.rating.overrides import (
    Override,
    OverrideAction,
    OverrideEvent,
    OverridePolicy,
    OverrideStatus,
    effective_override,
)
from custmgmt.rating.policy import (
    WEIGHT_TOLERANCE,
    BandKind,
    Hysteresis,
    RatingPolicy,
    Schedule,
    StarBands,
)
from custmgmt.rating.records import CustomerRating, RatingRun, StarHistoryEntry
from custmgmt.rating.report import format_rating
from custmgmt.rating.result import Explanation, PreviousStars, Rating, RatingScale, rate
from custmgmt.rating.result_columns import RatingResults
from custmgmt.rating.service_levels import ServiceLevel, ServiceLevels
from custmgmt.rating.services import (
    approve_override,
    current_stars,
    effective_stars,
    explain_stars,
    load_previous,
    rate_store,
    reject_override,
    request_override,
    reviewed_overrides,
    revoke_override,
    run_scheduled,
    same_run,
    save_rating,
    star_history,
)

__all__ = [
    "WEIGHT_TOLERANCE",
    "BandKind",
    "CustomerRating",
    "Explanation",
    "Hysteresis",
    "IncrementalRater",
    "Override",
    "OverrideAction",
    "OverrideEvent",
    "OverridePolicy",
    "OverrideStatus",
    "PreviousStars",
    "Rating",
    "RatingPolicy",
    "RatingResults",
    "RatingRun",
    "RatingScale",
    "Schedule",
    "ServiceLevel",
    "ServiceLevels",
    "StarBands",
    "StarHistoryEntry",
    "approve_override",
    "current_stars",
    "effective_override",
    "effective_stars",
    "explain_stars",
    "format_rating",
    "load_previous",
    "rate",
    "rate_frames",
    "rate_store",
    "reject_override",
    "request_override",
    "response_time_factors",
    "reviewed_overrides",
    "revoke_override",
    "run_scheduled",
    "same_run",
    "save_rating",
    "star_history",
]
