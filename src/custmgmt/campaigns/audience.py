"""Audience building, vectorised: who is sent to, who is held back, who is dropped and why.

:func:`decide_audience` takes the candidates a campaign's audience rule selected, as
columns, and applies the filters **in this order**, recording exactly one
:class:`SendReason` per customer:

1. **consent** for the campaign's channel (no consent: ``NO_CONSENT``, dropped);
2. the **suppression list** (restricted, blacklisted, erased, unsubscribed: that
   reason, dropped);
3. the **frequency cap**: at most ``cap`` messages per customer over the last
   ``window_days`` calendar days *of the customer's own calendar* (today included),
   counted across campaigns (``FREQUENCY_CAP``, dropped);
4. the **holdout**: of those still eligible, a share ``holdout_share`` is held out by
   a salted hash of the customer id (``HOLDOUT``: no message, the control group);
5. **quiet hours**: a treated customer whose local time is in the quiet window is
   *held* until it ends, not dropped (``QUIET_HOURS``, with the time the message may
   go); everyone else is ``SENT`` now.

The holdout is :func:`holdout_hash` of the id below the share: it depends only on the
salt and the id, so a customer's assignment is the same in every run and whatever
the audience's order or size. The hash folds the id's Unicode code points into a
64-bit FNV-1a state seeded by the salt's BLAKE2b digest, then applies the
SplitMix64 finaliser; the top 53 bits over ``2**53`` give a uniform number in
``[0, 1)``. :func:`sample_ratio_check` tests the realised split against the design
with a chi-square test and warns on a mismatch (a sign that assignment or logging is
broken, so the comparison cannot be trusted).

>>> import numpy as np
>>> ids = np.array(["c1", "c2", "c3", "c4"])
>>> out = decide_audience(ids, consent=np.array([True, False, True, True]),
...     suppression=np.array([0, 0, SUPPRESSION_CODES["blacklisted"], 0], dtype=np.int8),
...     now_us=0, holdout_share=0.0, salt="s")
>>> [SendReason.from_code(c).value for c in out.reason]
['sent', 'no_consent', 'blacklisted', 'sent']
"""

from __future__ import annotations

import enum
import hashlib
import math
from typing import Any, Final

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt.errors import ValidationError

__all__ = [
    "DROP_REASONS",
    "SUPPRESSION_CODES",
    "AudienceDecisions",
    "SampleRatioCheck",
    "SendReason",
    "decide_audience",
    "holdout_hash",
    "holdout_hash_reference",
    "match_ids",
    "sample_ratio_check",
]

_DAY_US: Final = 86_400_000_000
_MINUTE_US: Final = 60_000_000
_FNV_PRIME: Final = 0x100000001B3
_MASK64: Final = (1 << 64) - 1


class SendReason(enum.Enum):
    """What happened to one customer of a campaign's audience, and why."""

    SENT = "sent"
    QUIET_HOURS = "quiet_hours"
    HOLDOUT = "holdout"
    NO_CONSENT = "no_consent"
    RESTRICTED = "restricted"
    BLACKLISTED = "blacklisted"
    ERASED = "erased"
    UNSUBSCRIBED = "unsubscribed"
    FREQUENCY_CAP = "frequency_cap"

    @property
    def code(self) -> int:
        """The reason's int8 code in :attr:`AudienceDecisions.reason`."""
        return _CODES[self]

    @classmethod
    def from_code(cls, code: int) -> SendReason:
        """The reason with this code."""
        return _REASONS[int(code)]

    @property
    def dropped(self) -> bool:
        """Whether the customer was dropped from the audience (gets nothing, not a control)."""
        return self in DROP_REASONS

    @property
    def treated(self) -> bool:
        """Whether the customer is in the treated group (a message now or after quiet hours)."""
        return self in (SendReason.SENT, SendReason.QUIET_HOURS)


_REASONS: Final = tuple(SendReason)
_CODES: Final = {reason: i for i, reason in enumerate(_REASONS)}

#: The reasons that drop a customer from the audience.
DROP_REASONS: Final = frozenset(
    {
        SendReason.NO_CONSENT, SendReason.RESTRICTED, SendReason.BLACKLISTED,
        SendReason.ERASED, SendReason.UNSUBSCRIBED, SendReason.FREQUENCY_CAP,
    }
)

#: Suppression-list reasons and their codes in ``decide_audience(suppression=...)``
#: (0: not suppressed). When a customer is listed for several reasons, the lowest
#: code is recorded.
SUPPRESSION_CODES: Final = {
    "restricted": 1,
    "blacklisted": 2,
    "erased": 3,
    "unsubscribed": 4,
}
_SUPPRESSION_REASONS: Final = (
    None, SendReason.RESTRICTED, SendReason.BLACKLISTED, SendReason.ERASED,
    SendReason.UNSUBSCRIBED,
)


def _salt_state(salt: str) -> int:
    if not isinstance(salt, str) or not salt:
        raise ValidationError("salt", salt, "a non-empty string")
    return int.from_bytes(hashlib.blake2b(salt.encode("utf-8"), digest_size=8).digest(), "little")


def _finalise(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def holdout_hash(ids: Any, salt: str) -> NDArray[np.float64]:
    """A uniform number in ``[0, 1)`` per customer id, fixed by the salt and the id alone.

    Vectorised over the ids' code points (a numpy ``str`` array is viewed as UCS-4
    columns, one pass per character position).

    Raises:
        ValidationError: an empty salt, or ids that are not strings or hold a NUL.
    """
    state = _salt_state(salt)
    arr = _as_str_array("ids", ids)
    n = arr.size
    width = max(arr.dtype.itemsize // 4, 1)
    points = np.ascontiguousarray(arr).view(np.uint32).reshape(n, width) if n else None
    h = np.full(n, state, dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    with np.errstate(over="ignore"):
        for j in range(width if points is not None else 0):
            assert points is not None
            c = points[:, j].astype(np.uint64)
            live = c != 0
            if not live.any():
                break
            h = np.where(live, (h ^ c) * prime, h)
        z = _finalise(h)
    return np.asarray((z >> np.uint64(11)).astype(np.float64) / float(1 << 53))


def _as_str_array(name: str, values: Any) -> NDArray[np.str_]:
    """The ids as a numpy ``str`` array, refusing ids that hold a NUL character.

    A numpy ``str`` array cannot hold a trailing NUL (``"a\\x00"`` reads back as
    ``"a"``), and the vectorised hash skips NULs where the specification hashes them:
    such ids hashed unlike :func:`holdout_hash_reference` and matched other ids.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValidationError(name, arr.shape, "a 1-d array of customer ids")
    if arr.size == 0:
        return np.zeros(0, dtype="<U1")
    if arr.dtype.kind == "O":
        items = arr.tolist()
        if not all(isinstance(x, str) for x in items):
            raise ValidationError(name, "non-string ids", "customer id strings")
        if any("\x00" in x for x in items):
            raise ValidationError(name, "ids with a NUL character", "ids without NUL characters")
        return arr.astype(str)
    if arr.dtype.kind != "U":
        raise ValidationError(name, arr.dtype, "customer id strings")
    points = np.ascontiguousarray(arr).view(np.uint32).reshape(arr.size, -1)
    # A NUL followed by another character (trailing ones are already lost).
    if ((points[:, :-1] == 0) & (points[:, 1:] != 0)).any():
        raise ValidationError(name, "ids with a NUL character", "ids without NUL characters")
    return arr


def match_ids(candidates: Any, ids: Any) -> NDArray[np.int64]:
    """The position of each of ``ids`` among ``candidates`` (-1 where absent), vectorised.

    A hash join: both sides are hashed to 64 bits (:func:`holdout_hash`'s mixing with a
    fixed salt), matched by binary search on the sorted candidate hashes, and every
    match is confirmed by comparing the strings, so a collision never mismatches.

    Raises:
        ValidationError: ids that are not strings or hold a NUL, or repeated candidates.
    """
    cand = _as_str_array("candidates", candidates)
    wanted = _as_str_array("ids", ids)
    if cand.size == 0 or wanted.size == 0:
        return np.full(wanted.size, -1, dtype=np.int64)
    hc = _hash64(cand)
    order = np.argsort(hc, kind="stable")
    sorted_h = hc[order]
    twins = np.flatnonzero(np.diff(sorted_h) == 0)
    if twins.size and (cand[order[twins]] == cand[order[twins + 1]]).any():
        raise ValidationError("candidates", "repeated ids", "unique candidate ids")
    hw = _hash64(wanted)
    pos = np.searchsorted(sorted_h, hw)
    pos_c = np.minimum(pos, sorted_h.size - 1)
    found = sorted_h[pos_c] == hw
    result = np.where(found, order[pos_c], -1).astype(np.int64)
    hit = result >= 0
    same = cand[result[hit]] == wanted[hit]
    if not same.all() or twins.size:
        # A 64-bit collision (vanishingly rare): settle those ids exactly.
        position = {c: i for i, c in enumerate(cand.tolist())}
        rows = np.flatnonzero(hit)[~same] if not same.all() else np.flatnonzero(hit)
        for r in rows.tolist():
            result[r] = position.get(str(wanted[r]), -1)
    return result


def _hash64(arr: NDArray[np.str_]) -> NDArray[np.uint64]:
    n = arr.size
    width = max(arr.dtype.itemsize // 4, 1)
    points = np.ascontiguousarray(arr).view(np.uint32).reshape(n, width)
    h = np.full(n, _salt_state("custmgmt.match_ids"), dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    with np.errstate(over="ignore"):
        for j in range(width):
            c = points[:, j].astype(np.uint64)
            live = c != 0
            if not live.any():
                break
            h = np.where(live, (h ^ c) * prime, h)
        return _finalise(h)


def holdout_hash_reference(customer_id: str, salt: str) -> float:
    """:func:`holdout_hash` for one id, in plain Python (the specification)."""
    h = _salt_state(salt)
    for ch in customer_id:
        h = ((h ^ ord(ch)) * _FNV_PRIME) & _MASK64
    z = h
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


@attrs.frozen(kw_only=True, eq=False)
class AudienceDecisions:
    """One decision per candidate, aligned with the ids given to :func:`decide_audience`.

    Attributes:
        reason: int8 :attr:`SendReason.code` per customer.
        send_at_us: when the message may go (µs since the epoch, UTC): now for
            ``SENT``, the end of the quiet window for ``QUIET_HOURS``, -1 otherwise.
        hash: the holdout hash per customer (NaN where dropped before the holdout).
        recent_sends: messages counted against the cap per customer.
    """

    reason: NDArray[np.int8]
    send_at_us: NDArray[np.int64]
    hash: NDArray[np.float64]
    recent_sends: NDArray[np.int64]

    def counts(self) -> dict[SendReason, int]:
        """How many customers got each reason (every reason listed)."""
        found = np.bincount(self.reason.astype(np.int64), minlength=len(_REASONS))
        return {reason: int(found[reason.code]) for reason in _REASONS}

    @property
    def treated(self) -> NDArray[np.bool_]:
        """Customers in the treated group (sent now or after quiet hours)."""
        sent = self.reason == _CODES[SendReason.SENT]
        return np.asarray(sent | (self.reason == _CODES[SendReason.QUIET_HOURS]))

    @property
    def holdout(self) -> NDArray[np.bool_]:
        """Customers in the holdout (the control group)."""
        return np.asarray(self.reason == _CODES[SendReason.HOLDOUT])


def _int_array(name: str, value: Any, n: int, dtype: Any) -> NDArray[Any]:
    """Integers, one per customer (``n``; a scalar for everyone), or any 1-d run (-1)."""
    arr = np.asarray(value)
    if n < 0:
        if arr.ndim != 1:
            raise ValidationError(name, arr.shape, "a 1-d array of integers")
        if arr.size == 0:
            return np.zeros(0, dtype=dtype)
    else:
        if arr.ndim == 0:
            arr = np.full(n, arr)
        if arr.shape != (n,):
            raise ValidationError(name, arr.shape, f"one value per customer ({n})")
    if arr.dtype.kind not in "iub":
        raise ValidationError(name, arr.dtype, "integers")
    return arr.astype(dtype, copy=False)


def decide_audience(
    ids: Any,
    *,
    consent: Any,
    now_us: int,
    salt: str,
    suppression: Any = 0,
    utc_offset_s: Any = 0,
    past_send_codes: Any = None,
    past_send_us: Any = None,
    past_send_offset_s: Any = None,
    cap: int | None = None,
    window_days: int = 7,
    holdout_share: float = 0.0,
    quiet_start_min: int | None = None,
    quiet_end_min: int | None = None,
) -> AudienceDecisions:
    """Decide, for every candidate, sent / held / holdout / dropped with one reason.

    Args:
        ids: candidate customer ids (strings, unique).
        consent: bool per candidate: consent recorded for the campaign's channel.
        now_us: the run's time, µs since the epoch (UTC).
        salt: the holdout salt (the campaign's).
        suppression: int8 :data:`SUPPRESSION_CODES` per candidate (0: not listed).
        utc_offset_s: each candidate's UTC offset now, in seconds (their calendar
            and clock for the cap and quiet hours); a scalar for everyone.
        past_send_codes: for each past message (any campaign), the candidate's
            position in ``ids`` (-1: not a candidate).
        past_send_us: when each past message went (µs since the epoch).
        past_send_offset_s: each past message's customer's UTC offset when it went,
            in seconds, for its calendar day (None: their offset now, which is an
            hour off across a daylight-saving change).
        cap: at most this many messages per customer per window, this one included
            (None: no cap).
        window_days: the cap's window, in the customer's calendar days.
        holdout_share: the share held out, in ``[0, 0.5]``.
        quiet_start_min, quiet_end_min: the quiet window in local minutes after
            midnight (it may wrap past midnight: 22:00-08:00); None for none. Its
            end is reckoned with ``utc_offset_s``, the offset now: where the clocks
            change before it ends, the caller that knows the zone moves it
            (:func:`~custmgmt.campaigns.services.run_campaign` does).

    Raises:
        ValidationError: mismatched lengths, a holdout share outside ``[0, 0.5]``, a
            bad cap, window or quiet window.
    """
    id_array = np.asarray(ids)
    if id_array.ndim != 1:
        raise ValidationError("ids", id_array.shape, "a 1-d array of customer ids")
    n = id_array.size
    if (
        isinstance(holdout_share, bool)
        or not isinstance(holdout_share, int | float)
        or not 0 <= holdout_share <= 0.5
    ):
        raise ValidationError("holdout_share", holdout_share, "a share in [0, 0.5]")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise ValidationError("cap", cap, "a positive number of messages or None")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValidationError("window_days", window_days, "a positive number of days")
    consent_arr = np.asarray(consent)
    if consent_arr.shape != (n,) or consent_arr.dtype != np.bool_:
        raise ValidationError("consent", consent_arr.shape, f"{n} booleans")
    supp = _int_array("suppression", suppression, n, np.int8)
    if supp.size and (supp.min() < 0 or supp.max() > len(SUPPRESSION_CODES)):
        raise ValidationError("suppression", "codes out of range", "SUPPRESSION_CODES values or 0")
    offsets = _int_array("utc_offset_s", utc_offset_s, n, np.int64)
    if offsets.size and np.abs(offsets).max() >= 86_400:
        raise ValidationError(
            "utc_offset_s", int(offsets[np.abs(offsets).argmax()]),
            "UTC offsets within a day (-86399 to 86399 seconds)",
        )
    offset_us = offsets * 1_000_000
    if isinstance(now_us, bool) or not isinstance(now_us, int | np.integer) or not (
        -(2**62) <= now_us < 2**62
    ):
        raise ValidationError("now_us", now_us, "microseconds since the epoch (an integer)")
    now = int(now_us)

    reason = np.full(n, _CODES[SendReason.SENT], dtype=np.int8)
    pending = consent_arr.copy()
    reason[~consent_arr] = _CODES[SendReason.NO_CONSENT]
    for code in range(1, len(_SUPPRESSION_REASONS)):
        hit = pending & (supp == code)
        suppressed = _SUPPRESSION_REASONS[code]
        assert suppressed is not None
        reason[hit] = _CODES[suppressed]
        pending &= ~hit

    recent = np.zeros(n, dtype=np.int64)
    if past_send_codes is not None:
        codes = _int_array("past_send_codes", past_send_codes, -1, np.int64)
        times = _int_array("past_send_us", past_send_us, -1, np.int64)
        if codes.shape != times.shape or codes.ndim != 1:
            raise ValidationError(
                "past_send_us", times.shape, "one time per past send code"
            )
        if codes.size and codes.max() >= n:
            raise ValidationError("past_send_codes", int(codes.max()), f"positions below {n}")
        then_us = None
        if past_send_offset_s is not None:
            then = _int_array("past_send_offset_s", past_send_offset_s, -1, np.int64)
            if then.shape != codes.shape:
                raise ValidationError(
                    "past_send_offset_s", then.shape, "one UTC offset per past send code"
                )
            if then.size and np.abs(then).max() >= 86_400:
                raise ValidationError(
                    "past_send_offset_s", int(then[np.abs(then).argmax()]),
                    "UTC offsets within a day (-86399 to 86399 seconds)",
                )
            then_us = then * 1_000_000
        known = codes >= 0
        if not known.all():
            codes, times = codes[known], times[known]
            then_us = None if then_us is None else then_us[known]
        # The customer's calendar day of each send, against their today.
        today = (now + offset_us) // _DAY_US
        send_day = (times + (offset_us[codes] if then_us is None else then_us)) // _DAY_US
        in_window = send_day > (today[codes] - window_days)
        recent = np.bincount(codes[in_window], minlength=n).astype(np.int64)
    if cap is not None:
        over = pending & (recent >= cap)
        reason[over] = _CODES[SendReason.FREQUENCY_CAP]
        pending &= ~over

    hashes = np.full(n, np.nan)
    if pending.any():
        hashes[pending] = holdout_hash(id_array[pending], salt)
    held_out = pending & (hashes < holdout_share)
    reason[held_out] = _CODES[SendReason.HOLDOUT]
    treated = pending & ~held_out

    send_at = np.full(n, -1, dtype=np.int64)
    send_at[treated] = now
    if quiet_start_min is not None or quiet_end_min is not None:
        start, end = _quiet_window(quiet_start_min, quiet_end_min)
        local = now + offset_us
        minute = (local % _DAY_US) // _MINUTE_US
        if start < end:
            quiet = (minute >= start) & (minute < end)
            wait_min = end - minute
        else:  # wraps past midnight
            quiet = (minute >= start) | (minute < end)
            wait_min = np.where(minute >= start, 1440 - minute + end, end - minute)
        quiet &= treated
        # Held until the window's end, on the minute (seconds into the minute dropped).
        end_at = local - (local % _MINUTE_US) + wait_min * _MINUTE_US - offset_us
        send_at[quiet] = end_at[quiet]
        reason[quiet] = _CODES[SendReason.QUIET_HOURS]
    return AudienceDecisions(reason=reason, send_at_us=send_at, hash=hashes, recent_sends=recent)


def _quiet_window(start: Any, end: Any) -> tuple[int, int]:
    for name, value in (("quiet_start_min", start), ("quiet_end_min", end)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1440:
            raise ValidationError(name, value, "minutes after midnight in [0, 1440)")
    if start == end:
        raise ValidationError("quiet_end_min", end, "a time other than the start")
    return int(start), int(end)


@attrs.frozen(kw_only=True)
class SampleRatioCheck:
    """Whether the realised treated/holdout split matches the design.

    Attributes:
        treated, holdout: the realised group sizes.
        expected_holdout_share: the design's holdout share.
        chi_square: Pearson's statistic (1 degree of freedom).
        p_value: its p-value.
        alpha: the threshold below which the split is called a mismatch.
        mismatch: whether ``p_value < alpha``.
    """

    treated: int
    holdout: int
    expected_holdout_share: float
    chi_square: float
    p_value: float
    alpha: float
    mismatch: bool

    def __str__(self) -> str:
        n = self.treated + self.holdout
        realised = self.holdout / n if n else math.nan
        verdict = "SAMPLE RATIO MISMATCH" if self.mismatch else "split as designed"
        return (
            f"{verdict}: holdout {self.holdout:,} of {n:,} ({realised:.1%}) against a "
            f"designed {self.expected_holdout_share:.1%}; chi-square {self.chi_square:.2f}, "
            f"p={self.p_value:.3g} (alarm below {self.alpha:g})"
        )


def sample_ratio_check(
    treated: int, holdout: int, holdout_share: float, *, alpha: float = 0.001
) -> SampleRatioCheck:
    """Pearson's chi-square test of the realised split against the designed share.

    The default ``alpha`` of 0.001 is the usual alarm level for sample-ratio
    mismatch: with it a correct design raises a false alarm once in a thousand runs.

    >>> sample_ratio_check(700, 300, 0.5).mismatch
    True
    >>> sample_ratio_check(507, 493, 0.5).mismatch
    False

    Raises:
        ValidationError: negative counts, a share outside ``[0, 0.5]`` or a bad alpha.
    """
    for name, value in (("treated", treated), ("holdout", holdout)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValidationError(name, value, "a non-negative integer")
    if (
        isinstance(holdout_share, bool)
        or not isinstance(holdout_share, int | float)
        or not 0 <= holdout_share <= 0.5
    ):
        raise ValidationError("holdout_share", holdout_share, "a share in [0, 0.5]")
    if isinstance(alpha, bool) or not isinstance(alpha, float) or not 0 < alpha < 1:
        raise ValidationError("alpha", alpha, "a probability in (0, 1)")
    n = int(treated) + int(holdout)
    if n == 0 or holdout_share == 0:
        # Nothing to test: no one assigned, or a design with no holdout (any holdout
        # customer there is itself the mismatch).
        bad = holdout_share == 0 and holdout > 0
        return SampleRatioCheck(
            treated=int(treated), holdout=int(holdout),
            expected_holdout_share=float(holdout_share), chi_square=math.inf if bad else 0.0,
            p_value=0.0 if bad else 1.0, alpha=alpha, mismatch=bad,
        )
    expected_h = n * holdout_share
    expected_t = n - expected_h
    chi = (holdout - expected_h) ** 2 / expected_h + (treated - expected_t) ** 2 / expected_t
    p_value = math.erfc(math.sqrt(chi / 2))
    return SampleRatioCheck(
        treated=int(treated), holdout=int(holdout), expected_holdout_share=float(holdout_share),
        chi_square=float(chi), p_value=float(p_value), alpha=alpha, mismatch=p_value < alpha,
    )
