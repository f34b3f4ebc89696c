"""Manual overrides of a customer's stars, effective only after a second person approves.

An override is a small state machine (python-statemachine's vocabulary, without the
dependency)::

    PENDING --approve--> APPROVED --revoke--> REVOKED
       |  \\--reject---> REJECTED
       \\----withdraw--> WITHDRAWN

Each step is recorded in :attr:`Override.history` with who, when and why. An approved
override applies until its ``expires_at``; after that the computed stars apply again.
This module uses only the standard library and attrs (no numpy), so repositories and
ports can import it freely.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from custmgmt.domain._validate import check_aware, check_count, check_id
from custmgmt.errors import PermissionDenied, TransitionNotAllowed, ValidationError

__all__ = [
    "Override",
    "OverrideAction",
    "OverrideEvent",
    "OverrideStatus",
    "effective_override",
]


class OverrideStatus(enum.Enum):
    """Where an override is in its review."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"


class OverrideAction(enum.Enum):
    """The events of an override's review."""

    REQUEST = "request"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    REVOKE = "revoke"


#: (state, event) -> next state; anything else is refused.
TRANSITIONS = MappingProxyType(
    {
        (OverrideStatus.PENDING, OverrideAction.APPROVE): OverrideStatus.APPROVED,
        (OverrideStatus.PENDING, OverrideAction.REJECT): OverrideStatus.REJECTED,
        (OverrideStatus.PENDING, OverrideAction.WITHDRAW): OverrideStatus.WITHDRAWN,
        (OverrideStatus.APPROVED, OverrideAction.REVOKE): OverrideStatus.REVOKED,
    }
)


def _check_table() -> None:
    # Validated once at import, like a state machine definition: every state is
    # reachable from PENDING and final states have no exits.
    reachable = {OverrideStatus.PENDING}
    frontier = [OverrideStatus.PENDING]
    while frontier:
        state = frontier.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src is state and dst not in reachable:
                reachable.add(dst)
                frontier.append(dst)
    assert reachable == set(OverrideStatus), "unreachable override states"
    finals = {OverrideStatus.REJECTED, OverrideStatus.WITHDRAWN, OverrideStatus.REVOKED}
    assert not any(src in finals for src, _ in TRANSITIONS), "final states have exits"


_check_table()


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, value, "a non-blank text")
    if len(value) > 2000:
        raise ValidationError(field, value, "at most 2000 characters")
    return value


@attrs.frozen(kw_only=True)
class OverrideEvent:
    """One recorded step of an override's review.

    Attributes:
        action: what was done.
        actor: who did it (a staff id).
        at: when (aware).
        reason: why (free text; may be empty for approvals).
    """

    action: OverrideAction
    actor: str
    at: datetime
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (times in ISO 8601)."""
        return {
            "action": self.action.value,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OverrideEvent:
        """The inverse of :meth:`to_dict`."""
        return cls(
            action=OverrideAction(data["action"]),
            actor=data["actor"],
            at=datetime.fromisoformat(data["at"]),
            reason=data.get("reason", ""),
        )


@attrs.frozen(kw_only=True)
class Override:
    """A staff member's request to give a customer other stars than computed.

    Create with :meth:`request`; the override takes effect only when a different
    person :meth:`approve`\\ s it, and only until ``expires_at``.

    >>> from datetime import UTC
    >>> t = datetime(2026, 3, 1, tzinfo=UTC)
    >>> o = Override.request(id="ov-1", customer_id="c-42", stars=5, reason="VIP account",
    ...                      expires_at=datetime(2026, 6, 1, tzinfo=UTC),
    ...                      requested_by="alice", at=t)
    >>> o.approve(by="bob", at=t).is_effective(t)
    True

    Attributes:
        id: the override's id.
        customer_id: the customer whose stars are overridden.
        stars: the stars to give.
        reason: why (required).
        expires_at: when it stops applying (aware; after the request).
        requested_by: the staff id of the requester.
        requested_at: when it was requested.
        status: where it is in its review.
        history: every step, oldest first.
        version: bumped by every change (optimistic concurrency in repositories).
    """

    id: str
    customer_id: str
    stars: int
    reason: str
    expires_at: datetime
    requested_by: str
    requested_at: datetime
    status: OverrideStatus = OverrideStatus.PENDING
    history: tuple[OverrideEvent, ...] = ()
    version: int = 1

    def __attrs_post_init__(self) -> None:
        check_id("Override.id", self.id)
        check_id("Override.customer_id", self.customer_id)
        check_id("Override.requested_by", self.requested_by)
        check_count("Override.stars", self.stars, minimum=1, expected="a positive number of stars")
        check_count("Override.version", self.version, minimum=1, expected="an integer version >= 1")
        _text("Override.reason", self.reason)
        check_aware("Override.expires_at", self.expires_at)
        check_aware("Override.requested_at", self.requested_at)
        if not isinstance(self.status, OverrideStatus):
            raise ValidationError("Override.status", self.status, "an OverrideStatus")

    @classmethod
    def request(
        cls,
        *,
        id: str,
        customer_id: str,
        stars: int,
        reason: str,
        expires_at: datetime,
        requested_by: str,
        at: datetime,
        levels: int = 5,
    ) -> Override:
        """A new pending override.

        Raises:
            ValidationError: stars outside ``1..levels``, a blank reason, naive
                times, or ``expires_at`` not after ``at``.
        """
        check_aware("at", at)
        check_aware("expires_at", expires_at)
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= levels:
            raise ValidationError("stars", stars, f"an integer from 1 to {levels}")
        if expires_at <= at:
            raise ValidationError("expires_at", expires_at, f"a time after the request ({at})")
        event = OverrideEvent(
            action=OverrideAction.REQUEST, actor=check_id("requested_by", requested_by),
            at=at, reason=_text("reason", reason),
        )
        return cls(
            id=id,
            customer_id=customer_id,
            stars=stars,
            reason=reason,
            expires_at=expires_at,
            requested_by=requested_by,
            requested_at=at,
            history=(event,),
        )

    # -- review ------------------------------------------------------------------------
    def approve(self, *, by: str, at: datetime, reason: str = "") -> Override:
        """Approve: the override applies from now until it expires.

        Raises:
            PermissionDenied: ``by`` is the requester (a second person must approve).
            TransitionNotAllowed: it is not pending, or it has already expired.
        """
        check_id("by", by)
        check_aware("at", at)
        if by == self.requested_by:
            raise PermissionDenied(
                f"override {self.id!r}: {by!r} requested it and may not approve it "
                "(a second, different person must approve)"
            )
        if at >= self.expires_at:
            raise TransitionNotAllowed(
                self.status, OverrideAction.APPROVE, f"the override expired at {self.expires_at}"
            )
        return self._step(OverrideAction.APPROVE, by, at, reason)

    def reject(self, *, by: str, at: datetime, reason: str) -> Override:
        """Refuse the override (a reason is required).

        Raises:
            PermissionDenied: ``by`` is the requester (withdraw instead).
            TransitionNotAllowed: it is not pending.
        """
        check_id("by", by)
        if by == self.requested_by:
            raise PermissionDenied(
                f"override {self.id!r}: the requester {by!r} withdraws rather than rejects"
            )
        return self._step(OverrideAction.REJECT, by, at, _text("reason", reason))

    def withdraw(self, *, by: str, at: datetime, reason: str = "") -> Override:
        """The requester takes a pending override back.

        Raises:
            PermissionDenied: ``by`` is not the requester.
            TransitionNotAllowed: it is not pending.
        """
        check_id("by", by)
        if by != self.requested_by:
            raise PermissionDenied(
                f"override {self.id!r}: only the requester {self.requested_by!r} may withdraw it"
            )
        return self._step(OverrideAction.WITHDRAW, by, at, reason)

    def revoke(self, *, by: str, at: datetime, reason: str) -> Override:
        """End an approved override before it expires (a reason is required).

        Raises:
            TransitionNotAllowed: it is not approved.
        """
        check_id("by", by)
        return self._step(OverrideAction.REVOKE, by, at, _text("reason", reason))

    def _step(self, action: OverrideAction, by: str, at: datetime, reason: str) -> Override:
        check_aware("at", at)
        if not isinstance(reason, str):
            raise ValidationError("reason", reason, "text")
        new_status = TRANSITIONS.get((self.status, action))
        if new_status is None:
            raise TransitionNotAllowed(self.status, action, f"override {self.id!r}")
        if at < self.requested_at:
            raise ValidationError("at", at, f"not before the request ({self.requested_at})")
        event = OverrideEvent(action=action, actor=by, at=at, reason=reason)
        return attrs.evolve(
            self, status=new_status, history=(*self.history, event), version=self.version + 1
        )

    # -- queries -----------------------------------------------------------------------
    def is_effective(self, at: datetime) -> bool:
        """True when approved (not revoked) and ``at`` is before ``expires_at``."""
        check_aware("at", at)
        if self.status is not OverrideStatus.APPROVED:
            return False
        approved_at = self.approved_at
        return approved_at is not None and approved_at <= at < self.expires_at

    def is_expired(self, at: datetime) -> bool:
        """True once ``at`` has reached ``expires_at``."""
        check_aware("at", at)
        return at >= self.expires_at

    @property
    def approved_by(self) -> str | None:
        """Who approved it (None if nobody has)."""
        for event in self.history:
            if event.action is OverrideAction.APPROVE:
                return event.actor
        return None

    @property
    def approved_at(self) -> datetime | None:
        """When it was approved (None if it has not been)."""
        for event in self.history:
            if event.action is OverrideAction.APPROVE:
                return event.at
        return None


def effective_override(overrides: Iterable[Override], at: datetime) -> Override | None:
    """The override that applies at ``at`` among one customer's overrides.

    When several approved overrides overlap, the most recently approved wins.
    """
    best: Override | None = None
    for o in overrides:
        if o.is_effective(at):
            assert o.approved_at is not None
            if best is None or (o.approved_at, o.id) > (best.approved_at, best.id):
                best = o
    return best
