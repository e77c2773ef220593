"""What the engine asks of scheduling: plan again what a command changed (a group, pledges, a
member's part of them, events), ask one member again later."""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.clock import Clock
from bot.commands.plan_change import PlanChange
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

    async def plan_change(self, group_id: int | None, change: PlanChange) -> None:
        """Plan again what a command changed: its pledges, a member's part of them, the
        events; a change that names nothing re-plans the group it was made in."""
        if change.nothing:
            return
        now = self.clock.now()
        if not change.named() and group_id is not None:
            await group_plans.plan_group(group_id, now)
        if change.new_pledges and group_id is not None:
            await group_plans.plan_new_pledges(group_id, change.new_pledges, now)
        if change.pledges and group_id is not None:
            await group_plans.plan_pledges(group_id, change.pledges, now)
        by_member: dict[tuple[int, int], list[int]] = {}
        for p in change.personal:
            by_member.setdefault((p.group_id, p.member_id), []).append(p.pledge_id)
        for (group, member), pledges in by_member.items():
            await group_plans.plan_pledges(group, pledges, now, member_id=member)
        if change.events and group_id is not None:
            await group_plans.plan_group_events(group_id, now)
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
