"""What the engine needs from scheduling, given to it at construction (the Replanner)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.commands.plan_change import PlanChange
from storage.records import GroupRec, MemberRec, PledgeRec


class SchedulingHooks(Protocol):
    async def replan(self, group_id: int) -> None:
        """A command changed this group: plan its reminders again."""

    async def plan_change(self, group_id: int | None, change: PlanChange) -> None:
        """A command changed this (in this group, or None in a direct chat): plan it again."""

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
