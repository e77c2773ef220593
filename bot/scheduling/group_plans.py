"""A group's whole plan: its pledges' jobs (planning) and its events' jobs (event_jobs)."""

from __future__ import annotations

from datetime import datetime

from bot.scheduling import planning
from bot.scheduling.event_jobs import plan_events
from storage import groups as group_queries
from storage import jobs as job_queries
from storage import pledges as pledge_queries

PLANNED = ("active", "paused")  # the statuses whose pledges have jobs (paused: closes only)


async def plan_group(group_id: int, now: datetime) -> int:
    """Bring a group's planned jobs in line with its pledges and settings; returns new jobs."""
    group = await group_queries.get_group(group_id)
    if group is None:
        return 0
    pledges = await pledge_queries.group_pledges(group.id, PLANNED)
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
    found = [await pledge_queries.get_pledge(pledge_id) for pledge_id in pledge_ids]
    pledges = [p for p in found if p is not None and p.group_id == group.id and p.status in PLANNED]
    parts = await pledge_queries.participations([p.id for p in pledges])
    # The group's plan restricted to these pledges: their own jobs, and the weeks' close and
    # summary (planned once the group has a participant). No job of another pledge depends
    # on a new one, so nothing needs cancelling.
    return await job_queries.plan(planning.plan_for_group(group, pledges, parts, now), now)


async def plan_pledges(
    group_id: int, pledge_ids: list[int], now: datetime, *, member_id: int | None = None
) -> int:
    """Plan again only these pledges' jobs (with `member_id`, only that member's part of
    them) and the group's shared closes and summaries; the rest of the plan stays. Leaves
    the job table as `plan_group` would; returns new jobs."""
    group = await group_queries.get_group(group_id)
    if group is None:
        return 0
    planned = await pledge_queries.group_pledges(group.id, PLANNED)
    changed = set(pledge_ids)
    parts = await pledge_queries.participations(
        [p.id for p in planned if p.id in changed], member_id=member_id
    )
    has_participants = bool(parts) or await pledge_queries.group_has_participants(group.id, PLANNED)
    jobs, prefixes = planning.plan_for_pledges(
        group, planned, changed, parts, has_participants, now, member_id
    )
    added = await job_queries.plan(jobs, now)
    await job_queries.cancel_unplanned(
        group.id, planning.PLANNED_KINDS, {j.dedupe_key for j in jobs}, now, prefixes=prefixes
    )
    return added


async def plan_group_events(group_id: int, now: datetime) -> int:
    """Plan again only the group's events' jobs; returns new jobs."""
    group = await group_queries.get_group(group_id)
    return await plan_events(group, now) if group is not None else 0


async def plan_all(now: datetime) -> int:
    added = 0
    for group in await group_queries.active_groups():
        added += await plan_group(group.id, now)
    return added
