"""Priority of a case and the actions requested from the platform.

Rules, in order (the first that applies wins; documented in the README):
1. ``critical``: the reporter says ``critical``, or the legal basis is a removal order (EU TCO
   Regulation 2021/784 or any "removal order"): the platform has one hour to act.
2. ``high``: the reporter says ``high``; or a tagged group is on the UN 1267 list or designated by
   at least two authorities; or the account imitates a known banned account (``mirror_of``).
3. ``normal`` otherwise.
Tags raise a case at most to ``high``: only a reporter or a legal order makes it ``critical``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from router.core.policy import Priority

_REMOVAL_ORDER = re.compile(r"2021\s*/\s*784|\bTCO\b|removal\s+order", re.IGNORECASE)

#: Authorities whose listing alone makes a group's content ``high`` priority.
HIGH_AUTHORITIES = frozenset({"UN"})


def is_removal_order(legal_basis: Iterable[str]) -> bool:
    if not legal_basis:  # most reports name none: no generator to set up
        return False
    return any(_REMOVAL_ORDER.search(item) for item in legal_basis)


def priority_for(
    severity: str,
    legal_basis: Sequence[str],
    designations: Iterable[Sequence[str]],
    mirror: bool,
) -> Priority:
    """``designations``: for each tagged group, the authority codes designating it."""
    if severity == "critical" or is_removal_order(legal_basis):
        return "critical"
    if severity == "high" or mirror:
        return "high"
    for authorities in designations:
        if HIGH_AUTHORITIES.intersection(authorities) or len(set(authorities)) >= 2:
            return "high"
    return "normal"


def requested_actions(kind: str, platform: str, mirror: bool) -> list[str]:
    """What the platform is asked to do: content is removed, accounts suspended, and evidence is
    always preserved (it may be needed for prosecution). Review cases ask for a human decision."""
    if platform == "unknown":
        return ["review", "preserve_evidence"]
    actions = ["suspend_account"] if kind == "account" else ["remove_content"]
    if mirror and "suspend_account" not in actions:
        actions.append("suspend_account")
    actions.append("preserve_evidence")
    return actions
