"""The stars a customer has now: read from the latest stored run.

What other capabilities (the open-ticket report, SLA priorities, the demo) ask of
ratings: each customer's stars as of a moment, from the latest run at or before it.
"""

from __future__ import annotations

from datetime import datetime

from custmgmt.domain._validate import check_aware
from custmgmt.rating.ports import RatingRepository, RatingStore

__all__ = ["latest_stars"]


def latest_stars(store: RatingStore, at: datetime) -> dict[str, int]:
    """Stars per customer from the latest stored run with ``as_of`` at or before ``at``
    (empty when there is no such run).

    Raises:
        ValidationError: a naive ``at``.
    """
    check_aware("at", at)
    repository: RatingRepository = store.ratings
    run = repository.latest_run(at)
    if run is None:
        return {}
    results = repository.results_arrays(run.id)
    return {
        str(c): int(s)
        for c, s in zip(results.customer_ids.tolist(), results.stars.tolist(), strict=True)
    }
