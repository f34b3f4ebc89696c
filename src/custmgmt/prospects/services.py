"""The prospect use cases on a :class:`~custmgmt.prospects.ports.ProspectStore`.

Each write runs in the store's transaction, so a refused step stores nothing:
recording a prospect, moving it through the pipeline (approvals checked against an
:class:`~custmgmt.prospects.pipeline.ApprovalPolicy`), recording contacts and
investigation reports, converting a won prospect into a customer (once: a second
call returns the same customer), and finding leads among the store's customers
(browsing or cart interactions, but no order).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from custmgmt.domain import Customer, InteractionKind
from custmgmt.domain._validate import MAX_ID_LENGTH, check_aware, check_id
from custmgmt.errors import NotFound, TransitionNotAllowed, ValidationError
from custmgmt.prospects.pipeline import (
    DEFAULT_APPROVAL_ROLES,
    DEFAULT_PIPELINE,
    ApprovalPolicy,
    Pipeline,
)
from custmgmt.prospects.ports import ProspectStore
from custmgmt.prospects.prospect import (
    ContactRecord,
    InvestigationReport,
    Prospect,
    ProspectKind,
)
from custmgmt.team.agents import Agent

__all__ = [
    "LEAD_KINDS",
    "approval_policy_from_agents",
    "convert_to_customer",
    "derived_id",
    "file_report",
    "find_leads",
    "move_prospect",
    "record_contact",
    "record_prospect",
]

#: The interactions that make a customer without orders a lead.
LEAD_KINDS = frozenset({InteractionKind.BROWSE, InteractionKind.CART})


def derived_id(prefix: str, base: str) -> str:
    """``prefix + base`` as an id, shortened with a digest of ``base`` when too long.

    Lead and customer ids are made from other ids (``"lead-<customer id>"``,
    ``"C-<prospect id>"``); an id near the length limit would otherwise make one that
    is refused. The result is the same every time, so reruns find what they made.

    >>> derived_id("lead-", "C1")
    'lead-C1'
    >>> len(derived_id("lead-", "客" * MAX_ID_LENGTH)) == MAX_ID_LENGTH
    True
    """
    if len(prefix) + len(base) <= MAX_ID_LENGTH:
        return prefix + base
    digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    keep = MAX_ID_LENGTH - len(prefix) - len(digest) - 1
    return f"{prefix}{base[:keep]}~{digest}"


def record_prospect(store: ProspectStore, prospect: Prospect) -> Prospect:
    """Store a new prospect (made with ``Pipeline.new_prospect``); returns it.

    Raises:
        Conflict: the id is taken. TransitionNotAllowed: not in the initial stage.
    """
    store.prospects.add(prospect)
    return prospect


def move_prospect(
    store: ProspectStore,
    prospect_id: str,
    to: str,
    *,
    at: datetime,
    actor: str,
    note: str = "",
    approved_by: Sequence[str] = (),
    policy: ApprovalPolicy | None = None,
    pipeline: Pipeline = DEFAULT_PIPELINE,
) -> Prospect:
    """Move a stored prospect to stage ``to`` and save it; returns the new prospect.

    Raises:
        NotFound: the prospect is not stored.
        ValidationError: ``to`` is not a stage of the pipeline; bad arguments.
        TransitionNotAllowed: the pipeline has no such move, or a note is missing.
        PermissionDenied: approvals missing, by the requester or by someone the
            policy does not name. Nothing is stored on any error.
    """
    with store.transaction():
        stored = store.prospects.get(prospect_id)
        moved = pipeline.move(stored, to, at=at, actor=actor, note=note,
                              approved_by=approved_by, policy=policy)
        store.prospects.update(moved)
        return moved


def record_contact(store: ProspectStore, record: ContactRecord) -> ContactRecord:
    """Store a call, visit or standing-arrangement record of a stored prospect.

    Raises:
        NotFound: the prospect is not stored. Conflict: the record id is taken.
    """
    store.prospects.add_contact(record)
    return record


def file_report(store: ProspectStore, report: InvestigationReport) -> InvestigationReport:
    """Store an investigation report of a stored prospect.

    Raises:
        NotFound: the prospect is not stored. Conflict: the report id is taken.
    """
    store.prospects.add_report(report)
    return report


def convert_to_customer(
    store: ProspectStore,
    prospect_id: str,
    *,
    at: datetime,
    customer_id: str | None = None,
    pipeline: Pipeline = DEFAULT_PIPELINE,
) -> Customer:
    """Enter a won prospect into the system as a customer, once; returns the customer.

    The customer (id ``customer_id``, by default ``"C-<prospect id>"``, see
    :func:`derived_id`) takes the
    prospect's name, kind and source (as ``acquisition_channel``) and the tag
    ``prospect:<id>``; the prospect is linked to it through ``customer_id``, so the
    history stays reachable from both sides. A prospect already linked (converted
    before, or found as a lead among existing customers) returns its customer and
    writes nothing: converting twice creates one customer.

    Raises:
        NotFound: the prospect is not stored.
        TransitionNotAllowed: the prospect is not in a won stage.
        ValidationError: a bad ``at`` or ``customer_id``.
    """
    check_aware("at", at)
    with store.transaction():
        prospect = store.prospects.get(prospect_id)
        if prospect.stage not in pipeline.won:
            raise TransitionNotAllowed(
                prospect.stage, "convert",
                f"only a won prospect becomes a customer (won stages: "
                f"{', '.join(sorted(pipeline.won))})",
            )
        if prospect.customer_id is not None:
            try:
                return store.customers.get(prospect.customer_id)
            except NotFound:
                target = prospect.customer_id
        else:
            target = customer_id if customer_id is not None else derived_id("C-", prospect.id)
            check_id("customer_id", target)
        customer = Customer(
            id=target, name=prospect.name, registered_at=at,
            kind="business" if prospect.kind is ProspectKind.BUSINESS else "person",
            acquisition_channel=prospect.source[:100], tags={f"prospect:{prospect.id}"},
        )
        store.customers.add(customer)
        if prospect.customer_id is None:
            store.prospects.update(prospect.revised(customer_id=target))
        return customer


def find_leads(
    store: ProspectStore,
    *,
    as_of: datetime,
    owner: str,
    pipeline: Pipeline = DEFAULT_PIPELINE,
    since: datetime | None = None,
) -> list[Prospect]:
    """Record as leads the customers who browsed or carted but never ordered.

    Each such customer (interactions of :data:`LEAD_KINDS` at ``[since, as_of]``, no
    order placed by ``as_of``) without a prospect yet becomes a prospect
    ``"lead-<customer id>"`` (see :func:`derived_id`) in the pipeline's initial stage,
    linked to the customer, with source ``"store:cart"`` (if it carted) or
    ``"store:browse"``. Running it again adds only new leads. Returns the prospects recorded now.

    Raises:
        ValidationError: a naive ``as_of`` or ``since``, a bad owner.
    """
    check_aware("as_of", as_of)
    if since is not None:
        check_aware("since", since)
    check_id("owner", owner)
    ordered: set[str] = set()
    for orders in store.orders.iter_chunks():
        for order in orders:
            if order.placed_at <= as_of:
                ordered.add(order.customer_id)
    seen: dict[str, set[InteractionKind]] = {}
    for chunk in store.interactions.iter_chunks():
        for interaction in chunk:
            if (interaction.kind in LEAD_KINDS and interaction.at <= as_of
                    and (since is None or interaction.at >= since)
                    and interaction.customer_id not in ordered):
                seen.setdefault(interaction.customer_id, set()).add(interaction.kind)
    recorded = []
    with store.transaction():
        for customer_id in sorted(seen):
            lead_id = derived_id("lead-", customer_id)
            try:
                store.prospects.get(lead_id)
                continue
            except NotFound:
                pass
            try:
                customer = store.customers.get(customer_id)
            except NotFound:  # an interaction of a customer erased since: no lead
                continue
            kinds = seen[customer_id]
            prospect = pipeline.new_prospect(
                id=lead_id, name=customer.name, owner=owner, at=as_of, actor=owner,
                kind="business" if customer.kind.value == "business" else "person",
                source="store:cart" if InteractionKind.CART in kinds else "store:browse",
                customer_id=customer_id, note="found in the store: interest, no order",
            )
            store.prospects.add(prospect)
            recorded.append(prospect)
    return recorded


def approval_policy_from_agents(
    agents: Iterable[Agent],
    roles: Mapping[str, Sequence[str]] = DEFAULT_APPROVAL_ROLES,
) -> ApprovalPolicy:
    """An approval policy naming the active agents who hold each level's role.

    Raises:
        ValidationError: a level's role is held by no active agent.
    """
    people = []
    for agent in agents:
        if not isinstance(agent, Agent):
            raise ValidationError("agents", agent, "Agent values")
        if agent.active:
            people.append((agent.id, agent.role.value))
    return ApprovalPolicy.from_roles(people, roles)
