"""Access control: roles and permissions as data, checked in the service layer.

A policy maps role names to permissions. The default one:

========================  ============================================================
role                      may
========================  ============================================================
``analyst``               masked data and aggregates
``agent``                 masked data; contact data of customers with an open ticket
                          assigned to them; change customers
``manager``               masked data, aggregates; approve overrides, maintenance
                          plans and appeals
``privacy_officer``       masked and contact data; export and erase (subject rights);
                          verify the audit log
``admin``                 keys, roles, backups; verify the audit log
========================  ============================================================

>>> policy = AccessPolicy.default()
>>> policy.allows(Actor(id="a-1", roles={"agent"}), "view_contact", assigned=True)
True
>>> policy.check(Actor(id="x-9", roles={"analyst"}), "erase_subject", "customer:C-1")
Traceback (most recent call last):
...
custmgmt.privacy.access.AccessDenied: 'x-9' (analyst) may not erase_subject on customer:C-1
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from custmgmt.domain import _validate as v
from custmgmt.errors import PermissionDenied, ValidationError

__all__ = ["ACTIONS", "AccessDenied", "AccessPolicy", "Actor", "Permission"]


class Permission(enum.Enum):
    """What a role may do. Every member but ``VIEW_CONTACT_ASSIGNED`` is also an action."""

    VIEW_MASKED = "view_masked"
    VIEW_AGGREGATES = "view_aggregates"
    VIEW_CONTACT = "view_contact"
    VIEW_CONTACT_ASSIGNED = "view_contact_assigned"
    CHANGE_CUSTOMER = "change_customer"
    EXPORT_SUBJECT = "export_subject"
    ERASE_SUBJECT = "erase_subject"
    APPROVE_OVERRIDE = "approve_override"
    APPROVE_PLAN = "approve_plan"
    APPROVE_APPEAL = "approve_appeal"
    MANAGE_KEYS = "manage_keys"
    MANAGE_ROLES = "manage_roles"
    BACKUP = "backup"
    VERIFY_AUDIT = "verify_audit"


#: The actions a policy decides on (every permission but "view_contact_assigned",
#: which grants "view_contact" for customers with an open ticket assigned to the actor).
ACTIONS: tuple[Permission, ...] = tuple(
    p for p in Permission if p is not Permission.VIEW_CONTACT_ASSIGNED
)

_P = Permission
_DEFAULT_ROLES: Mapping[str, frozenset[Permission]] = {
    "analyst": frozenset({_P.VIEW_MASKED, _P.VIEW_AGGREGATES}),
    "agent": frozenset({_P.VIEW_MASKED, _P.VIEW_CONTACT_ASSIGNED, _P.CHANGE_CUSTOMER}),
    "manager": frozenset({
        _P.VIEW_MASKED, _P.VIEW_AGGREGATES, _P.APPROVE_OVERRIDE, _P.APPROVE_PLAN,
        _P.APPROVE_APPEAL,
    }),
    "privacy_officer": frozenset({
        _P.VIEW_MASKED, _P.VIEW_CONTACT, _P.EXPORT_SUBJECT, _P.ERASE_SUBJECT, _P.VERIFY_AUDIT,
    }),
    "admin": frozenset({_P.MANAGE_KEYS, _P.MANAGE_ROLES, _P.BACKUP, _P.VERIFY_AUDIT}),
}


class AccessDenied(PermissionDenied):
    """An actor tried an action its roles do not allow.

    Attributes:
        actor: the actor's id.
        action: the action refused (its value, e.g. ``"erase_subject"``).
        resource: what it was tried on (``"customer:C-1"``).
    """

    def __init__(self, actor: str, roles: Iterable[str], action: str, resource: str) -> None:
        self.actor = actor
        self.action = action
        self.resource = resource
        names = ", ".join(sorted(roles)) or "no roles"
        super().__init__(f"{actor!r} ({names}) may not {action} on {resource}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_denied, (self.actor, self.action, self.resource, str(self)))


def _rebuild_denied(actor: str, action: str, resource: str, message: str) -> AccessDenied:
    error = AccessDenied.__new__(AccessDenied)
    PermissionDenied.__init__(error, message)
    error.actor, error.action, error.resource = actor, action, resource
    return error


def _to_roles(value: Any) -> frozenset[str]:
    return v.text_set(value, "Actor.roles")


@attrs.frozen(kw_only=True)
class Actor:
    """Who acts: a member of staff or a service, with the roles it holds.

    Attributes:
        id: the actor's id (written to the audit log).
        roles: role names of the policy in force.
    """

    id: str = attrs.field(validator=v.an_id)
    roles: frozenset[str] = attrs.field(converter=_to_roles)


def _coerce_permission(value: Any, field: str) -> Permission:
    try:
        return value if isinstance(value, Permission) else Permission(value)
    except (ValueError, TypeError):
        raise ValidationError(field, value, f"one of {[p.value for p in Permission]}") from None


def _coerce_action(value: Any) -> Permission:
    action = _coerce_permission(value, "action")
    if action is Permission.VIEW_CONTACT_ASSIGNED:
        raise ValidationError("action", value, "an action ('view_contact', not the grant)")
    return action


@attrs.frozen
class AccessPolicy:
    """Roles and their permissions; build with :meth:`from_mapping` or :meth:`default`.

    Attributes:
        roles: role name -> permissions.
    """

    roles: Mapping[str, frozenset[Permission]]

    @classmethod
    def from_mapping(cls, roles: Mapping[str, Iterable[Permission | str]]) -> AccessPolicy:
        """A policy from ``{role: [permission, ...]}`` (names or :class:`Permission`).

        Raises:
            ValidationError: not a mapping, a blank role name, or an unknown permission.
        """
        if not isinstance(roles, Mapping) or not roles:
            raise ValidationError("roles", roles, "a non-empty mapping of role -> permissions")
        table: dict[str, frozenset[Permission]] = {}
        for role, permissions in roles.items():
            if not isinstance(role, str) or not role.strip():
                raise ValidationError("roles", role, "non-blank role names")
            if isinstance(permissions, str | bytes) or not isinstance(permissions, Iterable):
                raise ValidationError(f"roles[{role!r}]", permissions, "a list of permissions")
            table[role] = frozenset(
                _coerce_permission(p, f"roles[{role!r}]") for p in permissions
            )
        return cls(MappingProxyType(table))

    @classmethod
    def default(cls) -> AccessPolicy:
        """The default policy (see the module's table)."""
        return cls.from_mapping(_DEFAULT_ROLES)

    def permissions(self, actor: Actor) -> frozenset[Permission]:
        """Everything ``actor``'s roles grant.

        Raises:
            ValidationError: ``actor`` is not an Actor or holds a role this policy lacks.
        """
        if not isinstance(actor, Actor):
            raise ValidationError("actor", actor, "an Actor")
        unknown = sorted(actor.roles - set(self.roles))
        if unknown:
            raise ValidationError(
                "Actor.roles", unknown, f"roles of the policy {sorted(self.roles)}"
            )
        granted: set[Permission] = set()
        for role in actor.roles:
            granted |= self.roles[role]
        return frozenset(granted)

    def allows(self, actor: Actor, action: Permission | str, *, assigned: bool = False) -> bool:
        """Whether ``actor`` may do ``action``.

        ``assigned`` says the resource is a customer with an open ticket assigned to
        the actor: it makes ``view_contact_assigned`` grant ``view_contact``.

        Raises:
            ValidationError: an unknown action or role.
        """
        wanted = _coerce_action(action)
        granted = self.permissions(actor)
        if wanted in granted:
            return True
        return (
            wanted is Permission.VIEW_CONTACT
            and assigned
            and Permission.VIEW_CONTACT_ASSIGNED in granted
        )

    def check(
        self, actor: Actor, action: Permission | str, resource: str, *, assigned: bool = False
    ) -> None:
        """Raise :class:`AccessDenied` unless ``actor`` may do ``action`` on ``resource``."""
        if not self.allows(actor, action, assigned=assigned):
            raise AccessDenied(actor.id, actor.roles, _coerce_action(action).value, resource)
