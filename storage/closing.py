"""Queries for closing periods and weeks: due participations, outcomes, group weeks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.connection import connections
from tortoise.functions import Count

from storage import convert, deferred, keyed_reads
from storage import models as m
from storage.dialect import placeholders
from storage.record_cache import ALL, DUE, GROUP, cache, changed
from storage.records import (
    GroupRec,
    GroupWeekRec,
    OutcomeRec,
    ParticipationRec,
    PledgeRec,
    StreakUpdate,
)
from storage.transaction import atomic

WEEKS_KEPT = 12  # a group's closed weeks kept in the record cache: the pictures' twelve


async def due_participations(
    now: datetime, group_id: int | None = None, limit: int = 5000
) -> list[tuple[ParticipationRec, PledgeRec, GroupRec]]:
    """Participations (active or left with periods still open) whose next close is due."""
    query = m.Participation.filter(next_close_at__lte=now, pledge__group__archived=False)
    if group_id is not None:
        query = query.filter(pledge__group_id=group_id)
    rows = await query.select_related("pledge", "pledge__group").order_by("id").limit(limit)
    return [
        (convert.participation(r), convert.pledge(r.pledge), convert.group(r.pledge.group))
        for r in rows
    ]


# The group's id is bound, not written into the text: one statement text for every group, so
# PostgreSQL (asyncpg) reuses its prepared statement and plan (reads15 measured ~2 ms of
# planning per statement on the 100,000-member deployment when ids were in the text).
_EARLIEST_SQL = (
    "SELECT (SELECT MIN(p.next_close_at) FROM participations p"
    " JOIN pledges pl ON pl.id = p.pledge_id WHERE pl.group_id = {a}),"
    " (SELECT MIN(j.due_at) FROM jobs j"
    " WHERE j.group_id_ref = {b} AND j.kind = '{kind}' AND j.status = '{status}')"
)


def read_instant(value: Any) -> datetime:
    """SQLite hands back ISO text, asyncpg aware datetimes: both as aware UTC datetimes."""
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def nothing_due(group_id: int, now: datetime) -> bool:
    """True when no participation of the group closes by `now` and no setting change of it
    is due: what `due_participations` and `deferred.due` would both find empty.

    The earliest such instant is cached per group (storage/record_cache.py, "due"); every
    write that can make it earlier drops it. False (look) while the cache is off.
    """
    known = cache.due(group_id)
    if known is None:
        ticket = cache.ticket()
        if ticket is None:
            return False
        conn = connections.get("default")
        a, b = placeholders(conn, 2).split(", ")
        sql = _EARLIEST_SQL.format(a=a, b=b, kind=deferred.KIND, status=deferred.WAITING)
        _, rows = await conn.execute_query(sql, [int(group_id), int(group_id)])
        found = [read_instant(v) for v in tuple(rows[0]) if v is not None] if rows else []
        earliest = min(found) if found else None
        cache.put_due(ticket, group_id, earliest)
        known = (earliest,)
    return known[0] is None or now < known[0]


async def record_closes(
    outcomes: list[OutcomeRec], updates: list[StreakUpdate], now: datetime
) -> None:
    """Store outcomes and new streak states in one transaction (idempotent on period keys)."""
    async with atomic():
        keys = {(o.participation_id, o.period_key) for o in outcomes}
        existing: set[tuple[int, str]] = set()
        if keys:
            rows = await m.Outcome.filter(
                participation_id__in=list({k[0] for k in keys}),
                period_key__in=list({k[1] for k in keys}),
            ).values_list("participation_id", "period_key")
            existing = {(int(a), str(b)) for a, b in rows}
        fresh = [o for o in outcomes if (o.participation_id, o.period_key) not in existing]
        if fresh:
            await m.Outcome.bulk_create(
                [
                    m.Outcome(
                        participation_id=o.participation_id,
                        group_id_ref=o.group_id,
                        period_key=o.period_key,
                        period_end=o.period_end,
                        outcome=o.outcome,
                        done=o.done,
                        closed_at=now,
                    )
                    for o in fresh
                ],
                batch_size=500,
            )
        for u in updates:
            await m.Participation.filter(id=u.participation_id).update(
                current_streak=u.current_streak,
                best_streak=u.best_streak,
                strength=u.strength,
                freezes=u.freezes,
                kept_toward_freeze=u.kept_toward_freeze,
                closed_through=u.closed_through,
                next_close_at=u.next_close_at,
                active=u.active,
            )
    # Closes only move a group's earliest due instant later: a cached one is early, not wrong;
    # dropped here so the next command reads the new one.
    cache.drop(DUE, ALL)


async def close_again_now(group_id: int, now: datetime, before: datetime) -> int:
    """Make a group's pending closes due now (its calendar changed); returns how many."""
    moved = await m.Participation.filter(
        pledge__group_id=group_id, next_close_at__gt=now, next_close_at__lt=before
    ).update(next_close_at=now)
    await changed(DUE, group_id)
    return moved


async def week_counts(group_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Outcome counts of periods that ended in [start, end) in a group: one query."""
    rows = (
        await m.Outcome.filter(group_id_ref=group_id, period_end__gt=start, period_end__lte=end)
        .group_by("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    return {str(k): int(n) for k, n in rows}


async def record_group_week(week: GroupWeekRec, closed_through: datetime, now: datetime) -> bool:
    """Store a closed week and the group streak after it; False if it was already stored."""
    async with atomic():
        exists = await m.GroupWeek.exists(group_id=week.group_id, week_key=week.week_key)
        if not exists:
            await m.GroupWeek.create(
                group_id=week.group_id,
                week_key=week.week_key,
                kept=week.kept,
                missed=week.missed,
                excused=week.excused,
                met=week.met,
                streak=week.streak,
                closed_at=now,
            )
        group = await m.Group.get(id=week.group_id)
        if exists:  # already counted (a zone change re-read its key): counts stay where they are
            return False
        group.group_streak = week.streak
        group.best_group_streak = max(group.best_group_streak, group.group_streak)
        group.weeks_closed_through = closed_through
        await group.save(
            update_fields=["group_streak", "best_group_streak", "weeks_closed_through"]
        )
        await changed(GROUP, group.id)
    return not exists


async def recent_group_weeks(group_id: int, limit: int = 8) -> list[GroupWeekRec]:
    """The group's latest `limit` closed weeks, newest first; up to WEEKS_KEPT from the record
    cache (a week is stored only by `record_group_week`, which drops its group there)."""
    if limit > WEEKS_KEPT:
        return await _read_group_weeks(group_id, limit)
    known = cache.group_weeks(group_id)
    if known is not None:
        return list(known[:limit])
    ticket = cache.ticket()
    weeks = await _read_group_weeks(group_id, WEEKS_KEPT)
    cache.put_group_weeks(ticket, group_id, tuple(weeks))
    return weeks[:limit]


async def _read_group_weeks(group_id: int, limit: int) -> list[GroupWeekRec]:
    rows = await keyed_reads.rows(m.GroupWeek, order="-week_key", limit=limit, group_id=group_id)
    return [
        GroupWeekRec(
            group_id=group_id,
            week_key=r.week_key,
            kept=r.kept,
            missed=r.missed,
            excused=r.excused,
            met=r.met,
            streak=r.streak,
        )
        for r in rows
    ]


async def week_rows(
    group_id: int, key: str
) -> tuple[list[tuple[int, datetime]], list[tuple[int, datetime]]]:
    """Check-ins (id, created) and participations (id, joined) of a group's weekly pledges
    keyed to the week `key`: what a change of the week start reads again."""
    checkins = await m.CheckIn.filter(
        participation__pledge__group_id=group_id,
        participation__pledge__cadence="week",
        period_key=key,
    ).values_list("id", "created_at")
    parts = await m.Participation.filter(
        pledge__group_id=group_id, pledge__cadence="week", first_period=key
    ).values_list("id", "joined_at")
    return [(int(i), t) for i, t in checkins], [(int(i), t) for i, t in parts]


async def switch_week_start(
    change_id: int,
    group_id: int,
    week_start: int,
    checkin_keys: dict[int, str],
    first_periods: dict[int, str],
    now: datetime,
) -> bool:
    """In one transaction: mark the waiting change applied, give check-ins and participations
    their new week keys and set the group's week start; False if another process did it."""
    async with atomic():
        if not await deferred.applied(change_id, now):
            return False
        for key in set(checkin_keys.values()):
            ids = [i for i, k in checkin_keys.items() if k == key]
            await m.CheckIn.filter(id__in=ids).update(period_key=key)
        for key in set(first_periods.values()):
            ids = [i for i, k in first_periods.items() if k == key]
            await m.Participation.filter(id__in=ids).update(first_period=key)
        await m.Group.filter(id=group_id).update(week_start=week_start)
        await changed(GROUP, group_id)
    return True
