"""What the engine needs from scheduling, given to it at construction (the Replanner)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from storage.records import GroupRec, MemberRec, PledgeRec


class SchedulingHooks(Protocol):
    async def replan(self, group_id: int) -> None:
        """A command changed this group: plan its reminders again."""

    async def plan_new_pledges(self, group_id: int, pledge_ids: list[int]) -> None:
        """Pledges were created in this group: plan their reminders (the rest stays)."""

    async def snooze(
        self,
        member: MemberRec,
        pledge: PledgeRec,
        group: GroupRec,
        verb: str,
        period_key: str,
        now: datetime,
    ) -> datetime:
        """Ask this member again later about this period; returns when."""
        ...
