"""A group's whole plan: its pledges' jobs (planning) and its events' jobs (event_jobs)."""

from __future__ import annotations

from datetime import datetime

from bot.scheduling import planning
from bot.scheduling.event_jobs import plan_events
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import pledges as pledge_queries


async def plan_group(group_id: int, now: datetime) -> int:
    """Bring a group's planned jobs in line with its pledges and settings; returns new jobs."""
    group = await group_queries.get_group(group_id)
    if group is None:
        return 0
    pledges = await pledge_queries.group_pledges(group.id, ("active", "paused"))
    parts = await pledge_queries.participations([p.id for p in pledges])
    jobs = planning.plan_for_group(group, pledges, parts, now)
    added = await job_queries.plan(jobs, now)
    await job_queries.cancel_unplanned(
        group.id, planning.PLANNED_KINDS, {j.dedupe_key for j in jobs}, now
    )
    return added + await plan_events(group, now)


async def plan_new_pledges(group_id: int, pledge_ids: list[int], now: datetime) -> int:
    """Plan only these new pledges' jobs (nothing of the group's planned jobs is dropped:
    a new pledge makes none of them stale); returns new jobs."""
    group = await group_queries.get_group(group_id)
    if group is None:
        return 0
    parts = await pledge_queries.participations(pledge_ids)
    jobs = []
    for pledge_id in pledge_ids:
        pledge = await pledge_queries.get_pledge(pledge_id)
        if pledge is not None and pledge.group_id == group.id:
            jobs.extend(planning.plan_for_pledge(group, pledge, parts, now))
    return await job_queries.plan(jobs, now)


async def plan_all(now: datetime) -> int:
    added = 0
    for group in await group_queries.active_groups():
        added += await plan_group(group.id, now)
    return added
