"""Demo section: masking, sealed customers, access control, audit, erasure, backup.

Shows a few customers masked the way a privacy officer wants them; seals the store's
last three customers (by id: their identifying and contact fields move into an
AES-256-GCM ciphertext under each one's own data key; the demo's development keys are
derived from its seed, never do that with real data) and finds one by email through
the blind index; an analyst is refused contact data and an agent with an open ticket
assigned (from the tickets section) is allowed it; the third customer is erased on
request; the audit log is verified and the store is backed up to a temporary file
and checked.

No customer, order or ticket is added. The audited steps run only while the third
customer is not yet erased, so a second run changes nothing and only reports.
Without the ``privacy`` extra (``cryptography``) customers stay unencrypted and the
section says so.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from custmgmt._text import one_line
from custmgmt.adapters.sqlite import SQLiteStore
from custmgmt.adapters.sqlite.backup import backup, check_integrity
from custmgmt.cli.demo_context import DemoContext
from custmgmt.errors import CustMgmtError, MissingDependency, NotFound
from custmgmt.privacy import (
    AccessDenied,
    Actor,
    FieldCipher,
    Privacy,
    PrivacyStore,
    StaticKeyProvider,
    erase_subject,
    export_subject,
    find_customers,
    read_customer,
    update_customer,
    verify_audit_log,
)
from custmgmt.privacy.crypto import PSEUDONYM_PREFIX
from custmgmt.privacy.masking import mask_address, mask_email, mask_name, mask_phone
from custmgmt.tickets import TicketStatus

__all__ = ["POSTGRES_BACKUP_LINE", "PSEUDONYM_PREFIX", "demo_section"]


class _DemoClock:
    """The demo's "now" as the privacy services' clock."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def _privacy(ctx: DemoContext) -> tuple[Any, str]:

    seed = str(ctx.seed).encode()
    keys = StaticKeyProvider(
        {"demo-kek": hashlib.sha256(b"demo-kek:" + seed).digest(),
         "demo-index": hashlib.sha256(b"demo-index:" + seed).digest()},
        current="demo-kek", index="demo-index",
    )
    clock = _DemoClock(ctx.as_of)
    try:
        return Privacy(cipher=FieldCipher(keys), clock=clock), "sealed (AES-256-GCM)"
    except MissingDependency:
        return Privacy(clock=clock), "unencrypted (pip install 'custmgmt[privacy]' to seal)"


def demo_section(ctx: DemoContext) -> None:
    """Print the privacy section (see the module docstring)."""

    store = ctx.store
    ctx.heading("Privacy and security")
    if not isinstance(store, PrivacyStore):
        ctx.print("this store keeps no privacy data (no store.privacy): section skipped")
        return
    # The last customers by id: the other sections show the first ones, and sealing
    # replaces a name by its pseudonym in the customers table.
    last: list[Any] = []
    for chunk in store.customers.iter_chunks(1000):
        last = (last + list(chunk))[-6:]
    chosen = [c.id for c in last[3:]]
    _masking(ctx, last[:3])
    if len(chosen) < 3:
        ctx.print("fewer than six customers: nothing more to show")
        return
    privacy, mode = _privacy(ctx)
    try:
        if store.privacy.erasure(chosen[2]) is None:
            _first_run(ctx, store, privacy, chosen, mode)
        else:
            ctx.print("the audited steps ran before: reporting only")
        _report(ctx, store, chosen)
    except CustMgmtError as exc:
        ctx.print(f"privacy section stopped: {one_line(exc)}")
        return
    result = verify_audit_log(store)
    state = "intact" if result.ok else f"BROKEN ({one_line(result.problem)})"
    ctx.print(f"audit log: {result.checked} entries, chain {state}, head {result.head[:16]}...")
    _backup(ctx)


def _masking(ctx: DemoContext, customers: Any) -> None:

    ctx.print("masked for display (name, phone, email, address to the district):")
    for c in customers:
        ctx.print("  " + one_line(f"{c.id}: {mask_name(c.name)} | {mask_phone(c.phone)} | "
                                  f"{mask_email(c.email)} | {mask_address(c.address)}"))


def _first_run(ctx: DemoContext, store: Any, privacy: Any, chosen: list[str], mode: str) -> None:

    loader = Actor(id="demo-loader", roles={"agent"})
    officer = Actor(id="dpo-王", roles={"privacy_officer"})
    for cid in chosen:
        if _sealed(store, cid):
            # Sealed by an interrupted earlier run: the customers table now holds the
            # pseudonym, and sealing that again replaced the real name, phone and email.
            continue
        customer = store.customers.get(cid)
        at = max(ctx.as_of, customer.updated_at)
        update_customer(store, privacy, loader, customer.update_profile(at=at), purpose="demo")
    ctx.print(f"customers {', '.join(map(one_line, chosen))} are now stored {mode}")
    try:
        read_customer(store, privacy, Actor(id="analyst-陈", roles={"analyst"}), chosen[0])
    except AccessDenied as denied:
        ctx.print(f"refused and audited: {one_line(denied)}")
    working = [TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS]
    ticket = next((t for t in store.tickets.find(statuses=working) if t.assignee), None)
    if ticket is not None:
        agent = Actor(id=ticket.assignee, roles={"agent"})
        seen = read_customer(store, privacy, agent, ticket.customer_id,
                             purpose=f"ticket {ticket.id}")
        ctx.print(one_line(f"{agent.id} (ticket {ticket.id} assigned) may read {seen.id}'s "
                           f"contacts: phone {mask_phone(seen.phone) or '(none)'}, audited"))
    first = read_customer(store, privacy, officer, chosen[0], purpose="demo lookup")
    if first.email is not None:
        found = find_customers(store, privacy, officer, email=first.email.upper(),
                               purpose="demo lookup")
        ctx.print(f"found by email (upper-cased) through the blind index: {found}")
    record = erase_subject(store, privacy, officer, chosen[2], purpose="PIPL 第47条 删除请求")
    ctx.print(f"erased {one_line(chosen[2])} on request: now {one_line(record.pseudonym)}, "
              "data key shredded, "
              "orders kept, suppressed from campaigns")
    exported = export_subject(store, privacy, officer, chosen[2], purpose="demo export")
    ctx.print(f"{one_line(chosen[2])}'s export after erasure: "
              f"name {exported['customer']['name']!r}, "
              f"email {exported['customer']['email']!r}, {len(exported['orders'])} orders")


def _sealed(store: Any, customer_id: str) -> bool:
    try:
        store.privacy.get_sealed(customer_id)
    except NotFound:
        return False
    return True




def _report(ctx: DemoContext, store: Any, chosen: list[str]) -> None:
    core = store.customers.get(chosen[0])
    if core.name.startswith(PSEUDONYM_PREFIX):
        ctx.print(f"{one_line(chosen[0])} as the customers table stores it: name {core.name!r}, "
                  f"phone {core.phone!r}, email {core.email!r}")
    else:
        # Unencrypted (no privacy extra): the table holds the real contact details,
        # which a printout shows masked like any other.
        ctx.print(one_line(f"{chosen[0]} as the customers table stores it, in plain text "
                           f"(shown masked): name {mask_name(core.name)}, phone "
                           f"{mask_phone(core.phone)}, email {mask_email(core.email)}"))
    erased = store.privacy.erasure(chosen[2])
    if erased is not None:
        ctx.print(f"{one_line(chosen[2])} erased at {erased.at:%Y-%m-%d %H:%M}, pseudonym "
                  f"{one_line(erased.pseudonym)}; {len(store.privacy.erased_ids())} erased in all")


#: What the section says about backups on PostgreSQL, where the SQLite backup API does
#: not apply (docs/postgres.md shows the pg_dump round trip).
POSTGRES_BACKUP_LINE = (
    "backup: pg_dump --format=custom / pg_restore (docs/postgres.md); sealed columns "
    "stay ciphertext in the dump"
)


def _backup(ctx: DemoContext) -> None:

    if type(ctx.store).__module__.startswith("custmgmt.adapters.postgres"):
        ctx.print(POSTGRES_BACKUP_LINE)
        return
    if not isinstance(ctx.store, SQLiteStore):
        return
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "demo.bak"
        report = backup(ctx.store, target)
        problems = check_integrity(target)
        ctx.print(f"online backup: {report.pages:,} pages, {report.size:,} bytes, "
                  f"integrity {problems if problems else 'ok'}")
