"""A case and its life: opened by a first report, joined by repeats, answered by the platform,
breached when a deadline passes unmet.

Times are float seconds since the epoch (UTC) throughout; the adapters convert at the edges.
Every function here is pure: it takes the case and ``now`` and returns a new case and what
happened, never mutating its input.

Lifecycle (contracts.md, "platform.response/v1" and "SLA policy"):
- the first response of any kind meets the acknowledgement deadline;
- ``removed``, ``restricted`` or ``rejected`` meets the action deadline and closes the case;
- ``needs_info`` stops the action clock until the next response, which moves the action deadline
  later by the time spent waiting (as the EU TCO rule stops its one-hour clock);
- a breach is raised once per case and stage; the breach id depends on case and stage only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal

from router.core.policy import Deadlines, Priority, Stage

#: A case keeps at most this many report ids (the count goes on); the routed record lists them.
MAX_REPORT_IDS = 64
ACTION_STATUSES = frozenset({"removed", "restricted", "rejected"})
RESPONSE_STATUSES = frozenset({"received", "needs_info"}) | ACTION_STATUSES

Status = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    platform: str
    url: str | None
    account: str | None
    kind: str
    first_report: str
    report_ids: tuple[str, ...]
    reports: int
    groups: tuple[dict[str, Any], ...]
    origins: tuple[dict[str, str], ...]
    mirror_of: dict[str, Any] | None
    priority: Priority
    requested_actions: tuple[str, ...]
    legal_basis: tuple[str, ...]
    routed_at: float
    ack_due: float
    action_due: float
    acked_at: float | None = None
    actioned_at: float | None = None
    action_status: str | None = None
    paused_since: float | None = None
    last_response_at: float | None = None
    responses: int = 0
    breached: tuple[str, ...] = ()
    status: Status = "open"
    references: tuple[str, ...] = field(default=())

    @property
    def group_ids(self) -> list[str]:
        return [g["id"] for g in self.groups]

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]

    def evolve(self, **changes: Any) -> Case:
        """``dataclasses.replace(self, **changes)`` at about half the cost (a case is copied for every
        repeat report and response): the slots are copied directly, without the per-call field lookup
        and the frozen ``__init__``."""
        if not _FIELD_NAMES.issuperset(changes):
            raise TypeError(f"Case has no field {sorted(set(changes) - _FIELD_NAMES)[0]!r}")
        new = object.__new__(Case)
        for name, get, put in _SLOTS:
            put(new, changes[name] if name in changes else get(self))
        return new

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        """The case ``data`` describes (lists become tuples). ``TypeError`` for a field the case does
        not have or a required one missing, as ``Case(**data)``."""
        if len(data) == len(_SLOTS):  # every field, as the changelog holds them: read by name
            try:
                return _from_full_dict(data)
            except KeyError:  # an unknown name in place of a known one: refused below
                pass
        data = dict(data)
        for name in _SEQUENCES:
            if name in data:
                data[name] = tuple(data[name])
        return _new_case(**data)


# (name, read, write) of each slot: the slot descriptors write without the frozen __setattr__
_SLOTS: tuple[tuple[str, Any, Any], ...] = tuple(
    (f.name, getattr(Case, f.name).__get__, getattr(Case, f.name).__set__) for f in fields(Case))
_FIELD_NAMES = frozenset(name for name, _, _ in _SLOTS)


def _constructor() -> Callable[..., Case]:
    """``Case(...)`` at a third of the cost: a function (generated once, as dataclasses generate
    ``__init__``) that writes each slot through its descriptor, where the frozen ``__init__`` goes
    through ``object.__setattr__`` for each of the fields. A case is built for every new report and
    every case read back from RocksDB. Same arguments, same defaults, same result (tests/core)."""
    names = [f.name for f in fields(Case)]
    namespace: dict[str, Any] = {"_object_new": object.__new__, "Case": Case}
    params = []
    for f in fields(Case):
        namespace[f"_set_{f.name}"] = getattr(Case, f.name).__set__
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    _set_{name}(new, {name})\n" for name in names)
    exec(f"def _new_case({', '.join(params)}):\n    new = _object_new(Case)\n{body}    return new\n", namespace)
    return namespace["_new_case"]  # type: ignore[no-any-return]


_new_case = _constructor()
_SEQUENCES = ("report_ids", "groups", "origins", "requested_actions", "legal_basis", "breached", "references")


def _full_decoder() -> Callable[[dict[str, Any]], Case]:
    """``Case.from_dict`` of a dict with every field, at a fraction of the cost: ``_new_case(**data)``
    matches each of the dict's keys (decoded JSON strings, not the interned parameter names) to the
    parameters by comparing strings one by one, some 300 comparisons a case; this reads each field
    by name (a hashed lookup) and writes its slot. Raises ``KeyError`` when a field is missing."""
    namespace: dict[str, Any] = {"_object_new": object.__new__, "Case": Case, "tuple": tuple}
    body = []
    for f in fields(Case):
        namespace[f"_set_{f.name}"] = getattr(Case, f.name).__set__
        value = f"data[{f.name!r}]"
        body.append(f"    _set_{f.name}(new, {f'tuple({value})' if f.name in _SEQUENCES else value})\n")
    exec(f"def _from_full_dict(data):\n    new = _object_new(Case)\n{''.join(body)}    return new\n", namespace)
    return namespace["_from_full_dict"]  # type: ignore[no-any-return]


_from_full_dict = _full_decoder()


def opened_fields(
    *,
    case_id: str,
    platform: str,
    url: str | None,
    account: str | None,
    kind: str,
    report_id: str,
    groups: tuple[dict[str, Any], ...],
    origins: tuple[dict[str, str], ...],
    mirror_of: dict[str, Any] | None,
    priority: Priority,
    requested_actions: tuple[str, ...],
    legal_basis: tuple[str, ...],
    deadlines: Deadlines,
    now: float,
) -> dict[str, Any]:
    """The fields of the case a first report opens (``open_case``), as a dict in field order: what a
    new case's changelog record and routed record are made of, built without the case (a dict is
    cheaper to build and to encode than the slotted case)."""
    return {
        "case_id": case_id, "platform": platform, "url": url, "account": account, "kind": kind,
        "first_report": report_id, "report_ids": (report_id,), "reports": 1, "groups": groups, "origins": origins,
        "mirror_of": mirror_of, "priority": priority, "requested_actions": requested_actions,
        "legal_basis": legal_basis, "routed_at": now, "ack_due": now + deadlines.ack.total_seconds(),
        "action_due": now + deadlines.action.total_seconds(), "acked_at": None, "actioned_at": None,
        "action_status": None, "paused_since": None, "last_response_at": None, "responses": 0, "breached": (),
        "status": "open", "references": (),
    }


def open_case(**arguments: Any) -> Case:
    """The case a first report opens: ``opened_fields`` of the same keyword arguments, as a case."""
    return _from_full_dict(opened_fields(**arguments))


Attachment = Literal["attached", "duplicate", "replay"]


def attach(case: Case, report_id: str) -> tuple[Case, Attachment]:
    """Add a repeat report to a case.

    ``replay``: the report is the one that opened the case (a re-send or a redelivery after a
    crash): the receipt repeats the original outcome. ``duplicate``: an already attached report.
    ``attached``: a new report joins the case.
    """
    if report_id == case.first_report:
        return case, "replay"
    if report_id in case.report_ids:
        return case, "duplicate"
    ids = case.report_ids if len(case.report_ids) >= MAX_REPORT_IDS else (*case.report_ids, report_id)
    return case.evolve(report_ids=ids, reports=case.reports + 1), "attached"


@dataclass(frozen=True, slots=True)
class ResponseEffect:
    """What a response did. ``acknowledged``/``actioned``: this response met that stage now
    (``*_in_time``: before its deadline). ``out_of_order``: its time is earlier than an answer
    already applied. ``late_after_close``: the case was already closed (counted, otherwise ignored)."""

    acknowledged: bool = False
    actioned: bool = False
    ack_in_time: bool = False
    action_in_time: bool = False
    out_of_order: bool = False
    late_after_close: bool = False
    time_to_ack: float | None = None
    time_to_action: float | None = None


def apply_response(case: Case, status: str, at: float, now: float, reference: str | None = None
                   ) -> tuple[Case, ResponseEffect]:
    """Apply a platform response. ``at`` is the platform's time, clamped to ``now`` (a platform
    cannot answer in the future) and to ``routed_at`` (nor before the case was sent)."""
    if status not in RESPONSE_STATUSES:
        raise ValueError("unknown response status")
    at = max(min(at, now), case.routed_at)
    out_of_order = case.last_response_at is not None and at < case.last_response_at
    if case.status == "closed":
        return case.evolve(responses=case.responses + 1), ResponseEffect(
            out_of_order=out_of_order, late_after_close=True)
    changes: dict[str, Any] = {
        "responses": case.responses + 1,
        "last_response_at": at if case.last_response_at is None else max(at, case.last_response_at),
    }
    if reference and reference not in case.references and len(case.references) < 8:
        changes["references"] = (*case.references, reference)
    acknowledged = case.acked_at is None
    ack_in_time = False
    time_to_ack = None
    if acknowledged:
        changes["acked_at"] = at
        ack_in_time = at <= case.ack_due
        time_to_ack = at - case.routed_at
    action_due = case.action_due
    if case.paused_since is not None:
        # the clock was stopped by needs_info: the deadline moves by the time spent waiting
        action_due += max(0.0, at - case.paused_since)
        changes["action_due"] = action_due
        changes["paused_since"] = None
    actioned = status in ACTION_STATUSES
    action_in_time = False
    time_to_action = None
    if actioned:
        changes.update(actioned_at=at, action_status=status, status="closed")
        action_in_time = at <= action_due
        time_to_action = at - case.routed_at
    elif status == "needs_info":
        changes["paused_since"] = at
    return case.evolve(**changes), ResponseEffect(
        acknowledged=acknowledged,
        actioned=actioned,
        ack_in_time=ack_in_time,
        action_in_time=action_in_time,
        out_of_order=out_of_order,
        time_to_ack=time_to_ack,
        time_to_action=time_to_action,
    )


def pending_deadlines(case: Case) -> list[tuple[float, Stage]]:
    """The deadlines that can still be breached, for the sweep's index."""
    due: list[tuple[float, Stage]] = []
    if case.acked_at is None and "ack" not in case.breached:
        due.append((case.ack_due, "ack"))
    if case.status == "open" and case.paused_since is None and "action" not in case.breached:
        due.append((case.action_due, "action"))
    return due


def due_breaches(case: Case, now: float) -> list[tuple[Stage, float]]:
    """Stages whose deadline has passed unmet and not yet been reported, with their due time."""
    return [(stage, due) for due, stage in pending_deadlines(case) if due <= now]


def mark_breached(case: Case, stage: Stage) -> Case:
    return case.evolve(breached=(*case.breached, stage)) if stage not in case.breached else case


def breach_id(case_id: str, stage: Stage) -> str:
    """Deterministic from case and stage: a repeated breach carries the same id."""
    return f"{case_id}:{stage}"
