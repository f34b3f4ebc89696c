"""The development pipeline as data: stages, a frozen table of allowed moves, approvals.

The same machinery as the ticket workflow (:mod:`custmgmt.tickets.workflow`), with
stages named by plain strings so that a host can write its own pipeline in a
configuration file. A :class:`Pipeline` is built from :class:`Stage` rows (one
initial; final ones marked, won or lost) and :class:`Move` rows ``source -> target``
that may require an approval or a note. It is checked when it is built, and a broken
one fails there with a :class:`~custmgmt.errors.ValidationError` naming the problem:
not exactly one initial stage, a stage declared twice, a move naming a stage that is
not in the table, a move declared twice, an exit from a final stage, a dead end that
is not final, a stage that cannot be reached from the initial one, a won or lost
stage that is not final.

:data:`DEFAULT_PIPELINE` (the customer-development workflow of the operations
manuals)::

    lead -> qualified -> investigation_planned* -> investigated
         -> development_approved** -> in_contact -> won
    (lost, with a reason, from every open stage)
    *  approved by a manager           (ApprovalPolicy names who)
    ** approved by a supervisor, then a director

Moving (:meth:`Pipeline.move`) returns a new prospect with a :class:`StageChange`
appended (actor, time, note, approvers) and ``version`` bumped. A move the table does
not allow raises :class:`~custmgmt.errors.TransitionNotAllowed`; a move that needs
approval checks the approvers against an :class:`ApprovalPolicy`: one approver per
level, each named by the policy for that level, none of them the requester, else
:class:`~custmgmt.errors.PermissionDenied`.

>>> from datetime import datetime, timedelta, timezone
>>> at = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))
>>> pipe = DEFAULT_PIPELINE
>>> p = pipe.new_prospect(id="P-1", name="王芳", source="referral", owner="s1",
...                       at=at, actor="s1")
>>> p = pipe.move(p, "qualified", at=at, actor="s1", note="预算充足")
>>> policy = ApprovalPolicy(levels={"investigation_planned": [["m1"]],
...                                 "development_approved": [["sup1"], ["dir1"]]})
>>> try:
...     pipe.move(p, "investigation_planned", at=at, actor="s1", approved_by=["s1"],
...               policy=policy)
... except PermissionDenied as e:
...     print(e)
approval of 'investigation_planned': 's1' requested the move and cannot approve it
>>> p = pipe.move(p, "investigation_planned", at=at, actor="s1", approved_by=["m1"],
...               policy=policy)
>>> p.stage, p.version
('investigation_planned', 3)
"""

from __future__ import annotations

import types
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from custmgmt.domain import _validate as v
from custmgmt.domain._tuples import tuple_of
from custmgmt.errors import PermissionDenied, TransitionNotAllowed, ValidationError
from custmgmt.prospects.prospect import Prospect, StageChange, check_stage_name

__all__ = [
    "DEFAULT_APPROVAL_ROLES",
    "DEFAULT_PIPELINE",
    "ApprovalPolicy",
    "Move",
    "Pipeline",
    "Stage",
]

_OUTCOMES: Final = (None, "won", "lost")


def _flag(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValidationError(v.field_name(instance, attribute), value, "True or False")


def _name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_stage_name(v.field_name(instance, attribute), value)


def _outcome(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in _OUTCOMES:
        raise ValidationError("Stage.outcome", value, "None, 'won' or 'lost'")


@attrs.frozen(kw_only=True)
class Stage:
    """A stage of a pipeline.

    Attributes:
        name: the stage's name (lowercase, ``_``-separated).
        initial: whether prospects start here (exactly one stage is initial).
        final: whether the stage ends the pipeline (no moves out).
        outcome: ``"won"`` or ``"lost"`` for the final stages that say how it ended.
    """

    name: str = attrs.field(validator=_name)
    initial: bool = attrs.field(default=False, validator=_flag)
    final: bool = attrs.field(default=False, validator=_flag)
    outcome: str | None = attrs.field(default=None, validator=_outcome)


@attrs.frozen(kw_only=True)
class Move:
    """A row of the table: a prospect in ``source`` may move to ``target``.

    Attributes:
        source: the stage the move starts from.
        target: the stage it leads to.
        approval: whether the move needs approval (who approves: :class:`ApprovalPolicy`).
        needs_note: whether a note (the reason) must be given.
    """

    source: str = attrs.field(validator=_name)
    target: str = attrs.field(validator=_name)
    approval: bool = attrs.field(default=False, validator=_flag)
    needs_note: bool = attrs.field(default=False, validator=_flag)


def _levels(value: Any) -> Mapping[str, tuple[frozenset[str], ...]]:
    name = "ApprovalPolicy.levels"
    if not isinstance(value, Mapping):
        raise ValidationError(name, value, "a mapping of stage to approval levels")
    result: dict[str, tuple[frozenset[str], ...]] = {}
    for stage, levels in value.items():
        check_stage_name(f"{name} key", stage)
        if isinstance(levels, str) or not isinstance(levels, Iterable):
            raise ValidationError(f"{name}[{stage!r}]", levels,
                                  "a sequence of levels, each a collection of person ids")
        converted: list[frozenset[str]] = []
        for level in levels:
            if isinstance(level, str) or not isinstance(level, Iterable):
                raise ValidationError(f"{name}[{stage!r}]", level,
                                      "a level: a collection of person ids")
            people = frozenset(level)
            if not people:
                raise ValidationError(f"{name}[{stage!r}]", level,
                                      "a level naming at least one approver")
            for person in people:
                v.check_id(f"{name}[{stage!r}]", person)
            converted.append(people)
        if not converted:
            raise ValidationError(f"{name}[{stage!r}]", levels, "at least one level")
        result[stage] = tuple(converted)
    return types.MappingProxyType(result)


@attrs.frozen(kw_only=True, eq=False)
class ApprovalPolicy:
    """Who approves the moves that need approval: per target stage, levels of approvers.

    A move into ``stage`` needs one approver per level, in order, each named in that
    level's set, all different, and none of them the person requesting the move.

    Attributes:
        levels: per stage, the approval levels, each a set of person ids.

    Raises:
        ValidationError: a malformed mapping, an empty level, a bad id.
    """

    levels: Mapping[str, tuple[frozenset[str], ...]] = attrs.field(converter=_levels)

    @classmethod
    def from_roles(
        cls,
        people: Iterable[tuple[str, str]],
        roles: Mapping[str, Sequence[str]],
    ) -> ApprovalPolicy:
        """A policy that lets everyone holding a role approve that role's level.

        Args:
            people: ``(person id, role)`` pairs, e.g. from the service team's agents.
            roles: per stage, the role of each level (``["supervisor", "director"]``).

        Raises:
            ValidationError: a level's role is held by nobody.
        """
        holders: dict[str, set[str]] = {}
        for person, role in people:
            holders.setdefault(role, set()).add(person)
        levels: dict[str, list[frozenset[str]]] = {}
        for stage, level_roles in roles.items():
            if isinstance(level_roles, str):
                raise ValidationError(f"roles[{stage!r}]", level_roles, "a sequence of roles")
            for role in level_roles:
                if not holders.get(role):
                    raise ValidationError(f"roles[{stage!r}]", role,
                                          "a role that somebody holds")
                levels.setdefault(stage, []).append(frozenset(holders[role]))
        return cls(levels=levels)

    def check(self, stage: str, requester: str, approved_by: Sequence[str]) -> None:
        """Refuse approvals of a move into ``stage`` that the policy does not allow.

        Raises:
            PermissionDenied: the policy names no approvers for ``stage``; the number
                of approvers is not the number of levels; an approver is the
                requester, appears twice, or is not named for their level.
        """
        levels = self.levels.get(stage)
        if levels is None:
            raise PermissionDenied(f"approval of {stage!r}: the policy names no approvers")
        if len(approved_by) != len(levels):
            raise PermissionDenied(
                f"approval of {stage!r}: needs {len(levels)} approver(s), one per level, "
                f"got {len(approved_by)}"
            )
        for i, (person, allowed) in enumerate(zip(approved_by, levels, strict=True)):
            if person == requester:
                raise PermissionDenied(
                    f"approval of {stage!r}: {person!r} requested the move and cannot "
                    "approve it"
                )
            if person in approved_by[:i]:
                raise PermissionDenied(f"approval of {stage!r}: {person!r} approves twice")
            if person not in allowed:
                raise PermissionDenied(
                    f"approval of {stage!r}: {person!r} is not an approver of level {i + 1} "
                    f"(approvers: {', '.join(sorted(allowed))})"
                )


def _stages(value: Any) -> tuple[Stage, ...]:
    return tuple_of("Pipeline.stages", value, Stage)


def _moves(value: Any) -> tuple[Move, ...]:
    return tuple_of("Pipeline.moves", value, Move)


@attrs.frozen(kw_only=True)
class Pipeline:
    """A validated, frozen development pipeline.

    Attributes:
        stages: the stages, exactly one initial; final ones have no moves out.
        moves: the table, at most one row per source and target.

    Raises:
        ValidationError: naming the problem when the table is broken (see the module).
    """

    stages: tuple[Stage, ...] = attrs.field(converter=_stages)
    moves: tuple[Move, ...] = attrs.field(converter=_moves)
    _table: Mapping[tuple[str, str], Move] = attrs.field(init=False, repr=False, eq=False)
    _order: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        table, order = _validate(self.stages, self.moves)
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_order", order)

    # -- reading the table ----------------------------------------------------------

    @property
    def initial(self) -> str:
        """The stage new prospects start in."""
        return next(s.name for s in self.stages if s.initial)

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Every stage, in declaration order."""
        return tuple(s.name for s in self.stages)

    @property
    def final(self) -> frozenset[str]:
        """The stages that end the pipeline."""
        return frozenset(s.name for s in self.stages if s.final)

    @property
    def won(self) -> frozenset[str]:
        """The final stages that mean the prospect became a customer."""
        return frozenset(s.name for s in self.stages if s.outcome == "won")

    @property
    def lost(self) -> frozenset[str]:
        """The final stages that mean the prospect was given up."""
        return frozenset(s.name for s in self.stages if s.outcome == "lost")

    @property
    def funnel_stages(self) -> tuple[str, ...]:
        """The stages a funnel shows: all but the lost ones, by distance from the start."""
        return self._order

    def stage(self, name: str) -> Stage:
        """The stage called ``name``.

        Raises:
            ValidationError: no stage has that name.
        """
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise ValidationError("stage", name, f"a stage of the pipeline ({self._listed})")

    @property
    def _listed(self) -> str:
        return ", ".join(self.stage_names)

    def move_row(self, source: str, target: str) -> Move | None:
        """The row for ``source -> target``, or None when the table has none."""
        return self._table.get((source, target))

    def targets(self, stage: str) -> tuple[str, ...]:
        """Where a prospect in ``stage`` may move, in table order."""
        return tuple(m.target for m in self.moves if m.source == stage)

    # -- using it -------------------------------------------------------------------

    def new_prospect(self, **fields: Any) -> Prospect:
        """:meth:`Prospect.new` in this pipeline's initial stage (same arguments)."""
        return Prospect.new(stage=self.initial, **fields)

    def move(
        self,
        prospect: Prospect,
        to: str,
        *,
        at: datetime,
        actor: str,
        note: str = "",
        approved_by: Sequence[str] = (),
        policy: ApprovalPolicy | None = None,
    ) -> Prospect:
        """Move ``prospect`` to stage ``to``; returns the new prospect.

        Args:
            prospect: the prospect (unchanged: it is immutable).
            to: the target stage.
            at: when (aware, not before the last change).
            actor: who moves it (the requester, for a move that needs approval).
            note: why (required by rows with ``needs_note``; a lost prospect's reason).
            approved_by: the approvers, one per level, for a move that needs approval.
            policy: who may approve; required for a move that needs approval.

        Raises:
            ValidationError: ``to`` or the prospect's stage is not a stage of the
                table; a bad ``at`` or ``actor``; approvers given for a move that
                needs none; no policy for a move that needs approval.
            TransitionNotAllowed: the table has no such move, or its note is missing.
            PermissionDenied: the approvals do not satisfy the policy.
        """
        if not isinstance(prospect, Prospect):
            raise ValidationError("prospect", prospect, "a Prospect")
        self.stage(prospect.stage)
        if not isinstance(to, str) or to not in self.stage_names:
            raise ValidationError("to", to, f"a stage of the pipeline ({self._listed})")
        v.check_aware("at", at)
        v.check_id("actor", actor)
        if at < prospect.updated_at:
            raise ValidationError(
                "at", at, f"a time at or after the last change ({prospect.updated_at.isoformat()})"
            )
        if not isinstance(approved_by, Sequence) or isinstance(approved_by, str):
            raise ValidationError("approved_by", approved_by, "a sequence of person ids")
        approvers = tuple(approved_by)
        row = self._check_row(prospect.stage, to, note, actor, approvers)
        if row.approval:
            if not isinstance(policy, ApprovalPolicy):
                raise ValidationError(
                    "policy", policy, f"an ApprovalPolicy: the move to {to!r} needs approval"
                )
            policy.check(to, actor, approvers)
        change = StageChange(at=at, from_stage=prospect.stage, to_stage=to, actor=actor,
                             note=note, approved_by=approvers)
        lost_reason = note if to in self.lost else None
        return prospect.moved(change, lost_reason=lost_reason)

    def _check_row(
        self, source: str, target: str, note: Any, actor: str, approvers: tuple[str, ...]
    ) -> Move:
        row = self._table.get((source, target))
        if row is None:
            allowed = ", ".join(repr(t) for t in self.targets(source)) or "none"
            raise TransitionNotAllowed(
                source, target, f"the pipeline has no move {source!r} -> {target!r} "
                f"(allowed: {allowed})",
            )
        if not isinstance(note, str):
            raise ValidationError("note", note, "a string")
        if row.needs_note and not note.strip():
            raise TransitionNotAllowed(source, target, "a note (the reason) must be given")
        if row.approval:
            if not approvers:
                raise PermissionDenied(f"approval of {target!r}: the move needs approval")
            if actor in approvers:
                raise PermissionDenied(
                    f"approval of {target!r}: {actor!r} requested the move and cannot "
                    "approve it"
                )
        elif approvers:
            raise ValidationError("approved_by", list(approvers),
                                  f"no approvers: the move to {target!r} needs no approval")
        return row

    def can_move(self, prospect: Prospect, to: str) -> bool:
        """Whether the table has a move from the prospect's stage to ``to``."""
        return (prospect.stage, to) in self._table

    def check_path(self, prospect: Prospect, *, stored: Prospect | None = None) -> None:
        """Check that ``prospect``'s history is a path of this table.

        Repositories call this before they save. The entries after ``stored``'s
        history (all of them for a new prospect) must each be a row of the table,
        carry the note a row requires, and carry approvers where the row needs
        approval (none of them the requester); who may approve is the services'
        :class:`ApprovalPolicy` check, which needs the policy.

        Raises:
            TransitionNotAllowed: naming the first entry the table does not allow.
            PermissionDenied: an entry that needs approval has none, or the
                requester among them.
        """
        history = prospect.history
        if stored is None:
            if history[0].to_stage != self.initial:
                raise TransitionNotAllowed(
                    history[0].to_stage, "create",
                    f"Prospect.history[0]: a prospect of this pipeline starts in "
                    f"{self.initial!r}",
                )
            start = 1
        else:
            start = len(stored.history)
        for i in range(start, len(history)):
            entry = history[i]
            assert entry.from_stage is not None  # the prospect checked its history
            try:
                self._check_row(entry.from_stage, entry.to_stage, entry.note, entry.actor,
                                entry.approved_by)
            except ValidationError as error:
                raise TransitionNotAllowed(
                    entry.from_stage, entry.to_stage, f"Prospect.history[{i}]: {error}"
                ) from error
            except TransitionNotAllowed as error:
                raise TransitionNotAllowed(
                    error.state, error.event, f"Prospect.history[{i}]: {error.reason}"
                ) from error


def _names(stages: Iterable[str]) -> str:
    return ", ".join(repr(s) for s in stages)


def _validate(
    stages: tuple[Stage, ...], moves: tuple[Move, ...]
) -> tuple[Mapping[tuple[str, str], Move], tuple[str, ...]]:
    known: dict[str, Stage] = {}
    for stage in stages:
        if stage.name in known:
            raise ValidationError("Pipeline.stages", stage.name, "each stage declared once")
        if stage.outcome is not None and not stage.final:
            raise ValidationError("Pipeline.stages", stage.name,
                                  "a won or lost stage to be final")
        known[stage.name] = stage
    initial = [s.name for s in stages if s.initial]
    if len(initial) != 1:
        raise ValidationError("Pipeline.stages", _names(initial),
                              f"exactly one initial stage (found {len(initial)})")
    table: dict[tuple[str, str], Move] = {}
    for i, row in enumerate(moves):
        name = f"Pipeline.moves[{i}]"
        for end in (row.source, row.target):
            if end not in known:
                raise ValidationError(
                    name, row, f"stages declared in the table ({end!r} is not a stage; "
                    f"stages: {_names(known)})",
                )
        if row.source == row.target:
            raise ValidationError(name, row, "a move to another stage")
        if (row.source, row.target) in table:
            raise ValidationError(name, row, f"one row per move ({row.source!r} -> "
                                  f"{row.target!r} appears twice)")
        if known[row.source].final:
            raise ValidationError(name, row, f"no moves out of final stages "
                                  f"({row.source!r} is final)")
        table[(row.source, row.target)] = row
    exits = {row.source for row in moves}
    dead = [s.name for s in stages if not s.final and s.name not in exits]
    if dead:
        raise ValidationError("Pipeline.stages", _names(dead),
                              "a move out of every non-final stage (dead end)")
    depth = {initial[0]: 0}
    queue = deque([initial[0]])
    while queue:
        here = queue.popleft()
        for row in moves:
            if row.source == here and row.target not in depth:
                depth[row.target] = depth[here] + 1
                queue.append(row.target)
    unreachable = [s.name for s in stages if s.name not in depth]
    if unreachable:
        raise ValidationError("Pipeline.stages", _names(unreachable),
                              "every stage reachable from the initial stage (unreachable stage)")
    position = {s.name: i for i, s in enumerate(stages)}
    order = tuple(sorted((s.name for s in stages if s.outcome != "lost"),
                         key=lambda n: (depth[n], position[n])))
    return types.MappingProxyType(table), order


# -- the default pipeline -------------------------------------------------------------

_MAIN: Final = (
    "lead", "qualified", "investigation_planned", "investigated", "development_approved",
    "in_contact",
)

#: The roles that approve the default pipeline's guarded moves, per level (use with
#: :meth:`ApprovalPolicy.from_roles`).
DEFAULT_APPROVAL_ROLES: Final[Mapping[str, tuple[str, ...]]] = types.MappingProxyType({
    "investigation_planned": ("manager",),
    "development_approved": ("supervisor", "director"),
})


def _default() -> Pipeline:
    stages = [Stage(name=_MAIN[0], initial=True), *(Stage(name=n) for n in _MAIN[1:]),
              Stage(name="won", final=True, outcome="won"),
              Stage(name="lost", final=True, outcome="lost")]
    moves = [
        Move(source=a, target=b, approval=b in DEFAULT_APPROVAL_ROLES)
        for a, b in zip(_MAIN, (*_MAIN[1:], "won"), strict=True)
    ]
    moves += [Move(source=s, target="lost", needs_note=True) for s in _MAIN]
    return Pipeline(stages=stages, moves=moves)


#: The customer-development pipeline of the operations manuals.
DEFAULT_PIPELINE: Final = _default()
