"""Known banned accounts: the watchlist's accounts plus every account a platform has actioned
(a ``removed`` or ``restricted`` response naming it, or the case's own account). Kept in a Faust
global table so that every worker learns of an action taken anywhere, and indexed for mirror
detection (``router.core.mirrors.BannedIndex``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from router.core.mirrors import BannedIndex, canonical_account
from router.output import Outbox, partition_for_key
from router.state import TableState

log = structlog.get_logger("router.banned")


class BannedAccounts:
    def __init__(self, state: TableState[dict[str, Any]], partitions: int) -> None:
        self.state = state
        self.partitions = partitions
        self.index = BannedIndex()
        #: called with (platform, account) for every account new to the index (the intake helpers
        #: keep a copy of the index: router.pool)
        self.on_new: Callable[[str, str], None] | None = None

    def _add(self, platform: str, account: str) -> bool:
        if not self.index.add(platform, account):
            return False
        if self.on_new is not None:
            self.on_new(platform, account)
        return True

    def seed(self, watchlist: Any) -> int:
        """The known accounts of the watchlist's groups."""
        n = 0
        for group in getattr(watchlist, "groups", ()) or ():
            for platform, handles in (getattr(group, "accounts", None) or {}).items():
                for handle in handles:
                    n += self._add(platform, canonical_account(handle))
        return n

    def learn(self, key: bytes | None) -> None:
        """Index an account read from the changelog (``platform|account``)."""
        if not key:
            return
        platform, _, account = bytes(key).decode(errors="replace").partition("|")
        if platform and account:
            self._add(platform, account)

    def record(self, platform: str, account: str, out: Outbox) -> None:
        """An account was actioned: index it and, if new, tell every worker through the table."""
        account = canonical_account(account)
        if not account or not self._add(platform, account):
            return
        key = f"{platform}|{account}"
        self.state.put(partition_for_key(key.encode(), self.partitions), key, {"platform": platform}, out)
        log.info("banned.account_added", platform=platform, known=len(self.index))
