"""Each domain rule is defined once and read by every consumer (issue 10 item 5)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import custmgmt
from custmgmt.analytics.features import FEATURES, describe_feature, feature_names
from custmgmt.tickets import OPEN_STATUSES, SLA_SEVERITY, SLAState, TicketStatus

PACKAGE = Path(custmgmt.__file__).parent


def _definitions(name_test: Callable[[str], bool]) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and name_test(node.name):
                found.append(f"{path.relative_to(PACKAGE)}:{node.name}")
            targets = []
            if isinstance(node, ast.Assign):
                targets = [t for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target]
            found += [f"{path.relative_to(PACKAGE)}:{t.id}" for t in targets
                      if name_test(t.id)]
    return found


def test_the_feature_table_protocol_is_defined_once() -> None:
    from custmgmt.analytics.tables import FeatureTable
    from custmgmt.scoring import FeatureTable as ScoringTable
    from custmgmt.segmentation import FeatureTable as SegmentationTable

    assert ScoringTable is FeatureTable
    assert SegmentationTable is FeatureTable
    protocols = [
        f"{path.relative_to(PACKAGE)}:{node.name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "FeatureTable"
        and any(getattr(b, "id", getattr(b, "attr", "")) == "Protocol" for b in node.bases)
    ]
    assert protocols == ["analytics/tables.py:FeatureTable"]


def test_sla_severity_is_defined_once_and_orders_every_state() -> None:
    assert _definitions(lambda n: "SEVERITY" in n) == ["tickets/sla.py:SLA_SEVERITY"]
    assert set(SLA_SEVERITY) == set(SLAState)
    assert max(SLA_SEVERITY, key=SLA_SEVERITY.__getitem__) is SLAState.BREACHED


def test_open_statuses_are_defined_once_and_are_the_non_final_unresolved_ones() -> None:
    assert _definitions(lambda n: n == "OPEN_STATUSES") == ["tickets/ticket.py:OPEN_STATUSES"]
    done = {TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.CANCELLED,
            TicketStatus.MERGED}
    assert set(OPEN_STATUSES) == set(TicketStatus) - done


def test_no_module_keeps_its_own_list_of_interaction_features() -> None:
    assert _definitions(lambda n: n == "INTERACTION_FEATURES") == []
    interaction = {n for n in feature_names((30,)) if describe_feature(n).source ==
                   "interactions"}
    assert {"review_count", "complaint_count", "complaint_30d"} <= interaction
    assert all(spec.source in ("orders", "interactions") for spec in FEATURES.values())
