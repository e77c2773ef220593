"""What the engine asks of scheduling: re-plan a changed group or plan a new pledge, ask one
member again later."""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.clock import Clock
from bot.rules.reach import member_tz
from bot.scheduling import group_plans, planning
from storage import jobs as job_queries
from storage.records import GroupRec, MemberRec, PledgeRec


class Replanner:
    """The engine's scheduling hooks; `woken` tells the scheduler an earlier job may exist."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.woken = asyncio.Event()

    async def replan(self, group_id: int) -> None:
        await group_plans.plan_group(group_id, self.clock.now())
        self.woken.set()

    async def plan_new_pledges(self, group_id: int, pledge_ids: list[int]) -> None:
        await group_plans.plan_new_pledges(group_id, pledge_ids, self.clock.now())
        self.woken.set()

    async def snooze(
        self,
        member: MemberRec,
        pledge: PledgeRec,
        group: GroupRec,
        verb: str,
        period_key: str,
        now: datetime,
    ) -> datetime:
        """Ask one member again later; the group's own reminders stay where they are."""
        tz = member_tz(member, group)
        until = planning.snooze_until(verb, now, tz)
        job = planning.snooze_job(member, pledge, group, period_key, until)
        await job_queries.plan([job], now)
        self.woken.set()
        return until
