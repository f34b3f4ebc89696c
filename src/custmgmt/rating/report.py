"""A rating as text: what ``custmgmt rate`` and the demo print, for any host.

>>> import numpy as np
>>> from datetime import UTC, datetime
>>> from custmgmt.analytics.frames import OrderFrame
>>> from custmgmt.rating import RatingPolicy, rate_frames
>>> orders = OrderFrame.from_arrays(customer_id=np.array(["a", "b", "c"]),
...     placed_at=np.array([1, 2, 3]), amount=np.array([900, 500, 100]),
...     category=["书", "书", "茶"], currency="CNY")
>>> rating = rate_frames(RatingPolicy.default(), orders,
...                      as_of=datetime(2026, 1, 1, tzinfo=UTC))
>>> print(format_rating(rating, top=1).splitlines()[0])
3 customers rated as of 2026-01-01T00:00:00+00:00
"""

from __future__ import annotations

from custmgmt._text import one_line
from custmgmt.rating.result import Rating

__all__ = ["format_rating"]


def format_rating(rating: Rating, *, top: int = 10) -> str:
    """The star distribution, who was left unrated and which features the input could
    not support, the moves since the previous run (when there was one) and the
    ``top`` customers with the contributions that explain their stars."""
    total = max(len(rating), 1)
    out = [f"{len(rating)} customers rated as of {rating.as_of.isoformat()}"]
    if rating.unrated:
        out.append(f"  {rating.unrated} unrated: no counted order at or before as_of")
    for name, why in rating.unsupported.items():
        out.append(f"  {one_line(name)} left out ({one_line(why)}); the other criteria rescaled")
    for stars, count in sorted(rating.distribution().items(), reverse=True):
        bar = "★" * stars + "☆" * (rating.policy.levels - stars)
        out.append(f"  {bar}  {count:>8}  {100 * count / total:5.1f}%")
    known = rating.previous_stars > 0
    if known.any():
        change = rating.change[known]
        out.append(
            f"since the previous run: {int((change > 0).sum())} gained stars, "
            f"{int((change < 0).sum())} lost stars, {int((change == 0).sum())} unchanged, "
            f"{int((~known).sum())} newly rated"
        )
    if top:
        out.append(f"top {min(top, len(rating))} customers:")
        out.extend(f"  {explanation}" for explanation in rating.top(top))
    return "\n".join(out)
