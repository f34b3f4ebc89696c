"""What other capabilities ask of ratings: the SLA factor each customer's stars earn.

The stars that apply now are :func:`custmgmt.rating.current_stars` (the latest run
with approved overrides); :func:`response_time_factors` turns them into the
response-time factor of each customer's service level, which the open-ticket report
and the SLA engine multiply the targets by.
"""

from __future__ import annotations

from collections.abc import Mapping

from custmgmt.rating.service_levels import ServiceLevels

__all__ = ["response_time_factors"]


def response_time_factors(
    stars: Mapping[str, int], levels: ServiceLevels | None = None
) -> dict[str, float]:
    """Each customer's SLA response-time factor from their stars (default
    :meth:`ServiceLevels.default`: a 5★ customer's targets are halved). Stars above
    the map's top (a policy with more levels) get the top's service.

    >>> response_time_factors({"c-vip": 5, "c-new": 1})
    {'c-vip': 0.5, 'c-new': 1.0}
    """
    chosen = ServiceLevels.default() if levels is None else levels
    return {
        customer: chosen.response_time_factor_for(min(star, chosen.top))
        for customer, star in stars.items()
    }
