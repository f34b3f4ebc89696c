"""Manual overrides of a customer's stars, effective only after a second person approves.

An override is a small state machine (python-statemachine's vocabulary, without the
dependency)::

    PENDING --approve--> APPROVED --revoke--> REVOKED
       |  \\--reject---> REJECTED
       \\----withdraw--> WITHDRAWN

Each step is recorded in :attr:`Override.history` with who, when, why and under which
role. An approved override applies until its ``expires_at``; after that the computed
stars apply again. Who may approve, reject and revoke is named by an
:class:`OverridePolicy` (staff ids or roles); the requester never approves their own.
This module uses only the standard library and attrs (no numpy), so repositories and
ports can import it freely.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
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
    "OverridePolicy",
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
        role: the role under which the policy allowed it ("" when the actor is named
            by id, or no policy was checked).
    """

    action: OverrideAction
    actor: str
    at: datetime
    reason: str = ""
    role: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (times in ISO 8601)."""
        data = {
            "action": self.action.value,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "reason": self.reason,
        }
        if self.role:
            data["role"] = self.role
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OverrideEvent:
        """The inverse of :meth:`to_dict`."""
        return cls(
            action=OverrideAction(data["action"]),
            actor=data["actor"],
            at=datetime.fromisoformat(data["at"]),
            reason=data.get("reason", ""),
            role=data.get("role", ""),
        )


def _names(value: Any) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ValidationError("names", value, "a collection of staff ids or role names")
    for name in value:
        check_id("names", name)
    return frozenset(value)


@attrs.frozen(kw_only=True)
class OverridePolicy:
    """Who may review overrides: staff ids and roles, for approval and for revocation.

    A reviewer qualifies by id (``approvers``) or by holding one of ``approver_roles``
    (the acting user's roles are passed with each step, as the host's authentication
    knows them). The requester never approves or rejects their own request, whatever
    their roles. Revoking an approved override is allowed to ``revokers`` /
    ``revoker_roles``, which default to the approvers.

    >>> policy = OverridePolicy(approver_roles={"ops-manager"}, approvers={"li.ming"})
    >>> policy.role_for("li.ming", ()), policy.role_for("zhao", ("agent", "ops-manager"))
    ('', 'ops-manager')
    >>> policy.role_for("zhao", ("agent",)) is None
    True

    Attributes:
        approvers: staff ids that may approve and reject.
        approver_roles: roles whose holders may approve and reject.
        revokers: staff ids that may revoke (None: the approvers).
        revoker_roles: roles whose holders may revoke (None: the approver roles).

    Raises:
        ValidationError: nobody could approve (no approver id and no role), or a
            name is not a non-blank id.
    """

    approvers: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    approver_roles: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    revokers: frozenset[str] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_names)
    )
    revoker_roles: frozenset[str] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_names)
    )

    def __attrs_post_init__(self) -> None:
        if not self.approvers and not self.approver_roles:
            raise ValidationError(
                "OverridePolicy", "no approvers", "at least one approver id or approver role"
            )

    def role_for(
        self, actor: str, roles: Collection[str], action: OverrideAction = OverrideAction.APPROVE
    ) -> str | None:
        """How ``actor`` (holding ``roles``) qualifies for ``action``: ``""`` by id, the
        first qualifying role (sorted) by role, None when they do not."""
        check_id("by", actor)
        held = _names(roles)
        if action is OverrideAction.REVOKE:
            ids = self.approvers if self.revokers is None else self.revokers
            named = self.approver_roles if self.revoker_roles is None else self.revoker_roles
        else:
            ids, named = self.approvers, self.approver_roles
        if actor in ids:
            return ""
        matching = sorted(held & named)
        return matching[0] if matching else None

    def authorise(
        self, override: Override, action: OverrideAction, actor: str, roles: Collection[str]
    ) -> str:
        """The role that allows ``actor`` to take ``action`` on ``override`` ("" by id).

        Raises:
            PermissionDenied: the actor is the requester (for approve or reject), or
                neither their id nor any of their roles is named for the action.
        """
        if action in (OverrideAction.APPROVE, OverrideAction.REJECT) and (
            actor == override.requested_by
        ):
            raise PermissionDenied(
                f"override {override.id!r}: {actor!r} requested it and may not "
                f"{action.value} it (a second, different person reviews it)"
            )
        role = self.role_for(actor, roles, action)
        if role is None:
            revoke = action is OverrideAction.REVOKE
            ids = self.revokers if revoke and self.revokers is not None else self.approvers
            named = (
                self.revoker_roles
                if revoke and self.revoker_roles is not None
                else self.approver_roles
            )
            allowed = [f"staff {sorted(ids)}"] if ids else []
            if named:
                allowed.append(f"roles {sorted(named)}")
            raise PermissionDenied(
                f"override {override.id!r}: {actor!r} (roles {sorted(roles)}) may not "
                f"{action.value} it; the override policy allows {' or '.join(allowed)}"
            )
        return role


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
            ValidationError: ``levels`` not an integer from 2 to 10, stars outside
                ``1..levels``, a blank reason, naive times, or ``expires_at`` not
                after ``at``.
        """
        check_aware("at", at)
        check_aware("expires_at", expires_at)
        if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= 10:
            raise ValidationError("levels", levels, "an integer from 2 to 10, as a policy's levels")
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
    def approve(
        self,
        *,
        by: str,
        at: datetime,
        reason: str = "",
        policy: OverridePolicy | None = None,
        roles: Collection[str] = (),
    ) -> Override:
        """Approve: the override applies from now until it expires.

        Args:
            by: the approver's staff id.
            at: when (aware).
            reason: why (optional).
            policy: who may approve; without one only the four-eyes rule is checked
                (the services in :mod:`custmgmt.rating.services` always pass one).
            roles: the roles ``by`` holds, checked against ``policy``.

        Raises:
            PermissionDenied: ``by`` is the requester (a second person must approve),
                or the policy names neither ``by`` nor any of ``roles``.
            TransitionNotAllowed: it is not pending, or it has already expired.
            ValidationError: ``at`` before the override's last step.
        """
        check_id("by", by)
        check_aware("at", at)
        if by == self.requested_by:
            raise PermissionDenied(
                f"override {self.id!r}: {by!r} requested it and may not approve it "
                "(a second, different person must approve)"
            )
        role = _authorised(self, policy, OverrideAction.APPROVE, by, roles)
        if at >= self.expires_at:
            raise TransitionNotAllowed(
                self.status, OverrideAction.APPROVE, f"the override expired at {self.expires_at}"
            )
        return self._step(OverrideAction.APPROVE, by, at, reason, role)

    def reject(
        self,
        *,
        by: str,
        at: datetime,
        reason: str,
        policy: OverridePolicy | None = None,
        roles: Collection[str] = (),
    ) -> Override:
        """Refuse the override (a reason is required).

        Raises:
            PermissionDenied: ``by`` is the requester (withdraw instead), or the
                policy names neither ``by`` nor any of ``roles``.
            TransitionNotAllowed: it is not pending.
            ValidationError: a blank reason, ``at`` before the override's last step.
        """
        check_id("by", by)
        if by == self.requested_by:
            raise PermissionDenied(
                f"override {self.id!r}: the requester {by!r} withdraws rather than rejects"
            )
        role = _authorised(self, policy, OverrideAction.REJECT, by, roles)
        return self._step(OverrideAction.REJECT, by, at, _text("reason", reason), role)

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

    def revoke(
        self,
        *,
        by: str,
        at: datetime,
        reason: str,
        policy: OverridePolicy | None = None,
        roles: Collection[str] = (),
    ) -> Override:
        """End an approved override before it expires (a reason is required).

        Raises:
            PermissionDenied: the policy names neither ``by`` nor any of ``roles``
                as a revoker.
            TransitionNotAllowed: it is not approved.
            ValidationError: a blank reason, ``at`` before the override's last step
                (a revocation dated before the approval).
        """
        check_id("by", by)
        role = _authorised(self, policy, OverrideAction.REVOKE, by, roles)
        return self._step(OverrideAction.REVOKE, by, at, _text("reason", reason), role)

    def _step(
        self, action: OverrideAction, by: str, at: datetime, reason: str, role: str = ""
    ) -> Override:
        check_aware("at", at)
        if not isinstance(reason, str):
            raise ValidationError("reason", reason, "text")
        if len(reason) > 2000:  # as the request's reason (_text)
            raise ValidationError("reason", reason, "at most 2000 characters")
        new_status = TRANSITIONS.get((self.status, action))
        if new_status is None:
            raise TransitionNotAllowed(self.status, action, f"override {self.id!r}")
        if at < self.requested_at:
            raise ValidationError("at", at, f"not before the request ({self.requested_at})")
        # The history is in time order: a step dated before the previous one (a
        # revocation before the approval) would make the override never have applied,
        # rewriting what past runs showed.
        last = self.history[-1] if self.history else None
        if last is not None and at < last.at:
            raise ValidationError(
                "at", at, f"not before the override's last step ({last.action.value} at {last.at})"
            )
        event = OverrideEvent(action=action, actor=by, at=at, reason=reason, role=role)
        return attrs.evolve(
            self, status=new_status, history=(*self.history, event), version=self.version + 1
        )

    # -- queries -----------------------------------------------------------------------
    def is_effective(self, at: datetime) -> bool:
        """True when it applied at ``at``: approved at or before ``at``, ``at`` before
        ``expires_at``, and not yet revoked at ``at`` (a revoked override still applied
        between its approval and its revocation, so past runs keep it in history)."""
        check_aware("at", at)
        if self.status not in (OverrideStatus.APPROVED, OverrideStatus.REVOKED):
            return False
        approved_at = self.approved_at
        if approved_at is None or not approved_at <= at < self.expires_at:
            return False
        revoked_at = self.revoked_at
        return revoked_at is None or at < revoked_at

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

    @property
    def revoked_at(self) -> datetime | None:
        """When it was revoked (None if it has not been)."""
        for event in self.history:
            if event.action is OverrideAction.REVOKE:
                return event.at
        return None

    def describe(self) -> str:
        """Who set it, who approved it, why and until when, in one line.

        >>> from datetime import UTC
        >>> t = datetime(2026, 3, 1, tzinfo=UTC)
        >>> o = Override.request(id="ov-1", customer_id="c-42", stars=5, reason="VIP",
        ...                      expires_at=datetime(2026, 6, 1, tzinfo=UTC),
        ...                      requested_by="alice", at=t)
        >>> o.approve(by="bob", at=t).describe()
        'override ov-1 to 5★ by alice, approved by bob, until 2026-06-01 00:00 +0000: VIP'
        """
        approved = "" if self.approved_by is None else f", approved by {self.approved_by}"
        role = next(
            (e.role for e in self.history if e.action is OverrideAction.APPROVE and e.role), ""
        )
        if role:
            approved += f" ({role})"
        return (
            f"override {self.id} to {self.stars}★ by {self.requested_by}{approved}, "
            f"until {self.expires_at:%Y-%m-%d %H:%M %z}: {self.reason}"
        )


def _authorised(
    override: Override,
    policy: OverridePolicy | None,
    action: OverrideAction,
    by: str,
    roles: Collection[str],
) -> str:
    """The role under which ``policy`` allows the step ("" without a policy)."""
    if policy is None:
        return ""
    if not isinstance(policy, OverridePolicy):
        raise ValidationError("policy", policy, "an OverridePolicy naming the reviewers")
    return policy.authorise(override, action, by, roles)


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
