"""Lottery and Q&A draws anyone can re-run from the record.

A draw ranks the entrants by ``SHA-256(seed ":" entrant)`` (hex, then the entrant
id to break a tie) and takes the first ``winners``; the record keeps the seed, the
sorted entrants, the winners and a SHA-256 digest of all of them. Re-running the
draw from the record gives the same winners; :func:`verify_draw` re-runs it and
recomputes the digest, so a record whose winners, entrants, seed or prize were
changed afterwards is detected.

The seed should be fixed before the entrants are known (published in advance, or
drawn from a public source such as a later lottery result), so that nobody can
choose it to favour an entrant.

>>> from datetime import datetime, timezone
>>> at = datetime(2026, 6, 30, 20, tzinfo=timezone.utc)
>>> record = draw_winners("D-1", campaign_id="C-1", entrants=["c3", "c1", "c2", "c4"],
...     winners=2, seed="2026-06-30 双色球 07 12 19 23 28 31", prize="100 积分", at=at)
>>> verify_draw(record).ok
True
>>> import attrs
>>> verify_draw(attrs.evolve(record, winners=("c1", "c2"))).ok
False
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from custmgmt.domain import _validate as v
from custmgmt.errors import ValidationError

__all__ = ["DrawCheck", "DrawRecord", "draw_winners", "rank_entrants", "verify_draw"]

_ALGORITHM = "sha256-rank-v1"


def _ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError("DrawRecord.entrants", value, "a collection of customer ids")
    try:
        items = tuple(value)
    except TypeError:
        raise ValidationError("DrawRecord", value, "a collection of customer ids") from None
    for item in items:
        v.check_id("DrawRecord.entrant", item)
    return items


@attrs.frozen(kw_only=True)
class DrawRecord:
    """A recorded draw: everything needed to re-run and check it.

    Attributes:
        id: the draw id.
        campaign_id: the activity (a lottery or Q&A campaign).
        seed: the public seed.
        entrants: the qualified entrants, sorted.
        winners: the winners, in rank order.
        prize: what each winner gets (coupon, points ...).
        at: when the draw was made.
        algorithm: the ranking rule's name.
        digest: SHA-256 over the fields above.
    """

    id: str = attrs.field(validator=v.an_id)
    campaign_id: str = attrs.field(validator=v.an_id)
    seed: str = attrs.field(validator=v.text(max_length=500))
    entrants: tuple[str, ...] = attrs.field(converter=_ids)
    winners: tuple[str, ...] = attrs.field(converter=_ids)
    prize: str = attrs.field(validator=v.text(max_length=200))
    at: datetime = attrs.field(validator=v.aware_datetime())
    algorithm: str = attrs.field(default=_ALGORITHM, validator=v.text(max_length=50))
    digest: str = attrs.field(default="", validator=v.text(max_length=64, blank_ok=True))


def _digest(record: DrawRecord) -> str:
    payload = json.dumps(
        {
            "id": record.id, "campaign_id": record.campaign_id, "seed": record.seed,
            "entrants": list(record.entrants), "winners": list(record.winners),
            "prize": record.prize, "at": record.at.isoformat(), "algorithm": record.algorithm,
        },
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def rank_entrants(entrants: Iterable[str], seed: str) -> list[str]:
    """The entrants in draw order for ``seed`` (first: first winner)."""
    def key(entrant: str) -> tuple[str, str]:
        return (hashlib.sha256(f"{seed}:{entrant}".encode()).hexdigest(), entrant)

    return sorted(entrants, key=key)


def draw_winners(
    draw_id: str,
    *,
    campaign_id: str,
    entrants: Iterable[str],
    winners: int,
    seed: str,
    prize: str,
    at: datetime,
) -> DrawRecord:
    """Draw ``winners`` of the entrants and return the signed record.

    Raises:
        ValidationError: no entrants, repeated entrants, or not ``1 <= winners <=
            len(entrants)``.
    """
    people = sorted(_ids(entrants))
    if not people:
        raise ValidationError("entrants", [], "at least one qualified entrant")
    if len(set(people)) != len(people):
        raise ValidationError("entrants", "repeated ids", "each entrant once")
    v.check_count("winners", winners, minimum=1, expected="a positive number of winners")
    if winners > len(people):
        raise ValidationError("winners", winners, f"at most the {len(people)} entrants")
    # The record is built (and its seed, prize and time checked) before the seed is
    # hashed: a seed no encoding can hold is a ValidationError, not a UnicodeError.
    record = DrawRecord(
        id=draw_id, campaign_id=campaign_id, seed=seed, entrants=tuple(people), winners=(),
        prize=prize, at=at,
    )
    chosen = tuple(rank_entrants(people, record.seed)[:winners])
    record = attrs.evolve(record, winners=chosen)
    return attrs.evolve(record, digest=_digest(record))


@attrs.frozen(kw_only=True)
class DrawCheck:
    """The outcome of re-running a draw from its record.

    Attributes:
        ok: the winners and the digest both match.
        winners_match: re-running gives the recorded winners.
        digest_match: the record's digest matches its content.
        rerun_winners: what re-running the draw gives.
    """

    ok: bool
    winners_match: bool
    digest_match: bool
    rerun_winners: tuple[str, ...]


def verify_draw(record: DrawRecord) -> DrawCheck:
    """Re-run a recorded draw and check its digest.

    Raises:
        ValidationError: ``record`` is not a DrawRecord or names an unknown algorithm.
    """
    if not isinstance(record, DrawRecord):
        raise ValidationError("record", record, "a DrawRecord")
    if record.algorithm != _ALGORITHM:
        raise ValidationError("DrawRecord.algorithm", record.algorithm, repr(_ALGORITHM))
    rerun = tuple(rank_entrants(sorted(record.entrants), record.seed)[: len(record.winners)])
    winners_match = rerun == record.winners and list(record.entrants) == sorted(record.entrants)
    digest_match = _digest(record) == record.digest
    return DrawCheck(
        ok=winners_match and digest_match, winners_match=winners_match,
        digest_match=digest_match, rerun_winners=rerun,
    )
