"""Queries on pledges and participations: create, list, join, leave, pause and reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.functions import Max

from storage import convert, keyed_reads
from storage import models as m
from storage.record_cache import ALL, DUE, PLEDGES, cache, changed
from storage.records import MemberRec, ParticipationRec, PledgeRec
from storage.transaction import atomic


@dataclass(frozen=True)
class NewPledge:
    group_id: int
    title: str
    cadence: str
    target: int
    start_date: date | None
    end_date: date | None
    remind_slot: str | None
    creator_id: int


@dataclass(frozen=True)
class NewParticipation:
    pledge_id: int
    member_id: int
    first_period: str
    next_close_at: datetime
    joined_at: datetime


async def create_pledge(new: NewPledge, join: NewParticipation | None, now: datetime) -> PledgeRec:
    """Create a pledge numbered after the group's last, and join its creator, atomically."""
    async with atomic():
        top = await m.Pledge.filter(group_id=new.group_id).annotate(top=Max("number")).values("top")
        number = (top[0]["top"] or 0) + 1 if top else 1
        row = await m.Pledge.create(
            group_id=new.group_id,
            number=number,
            title=new.title,
            cadence=new.cadence,
            target=new.target,
            start_date=new.start_date,
            end_date=new.end_date,
            remind_slot=new.remind_slot,
            creator_id=new.creator_id,
            created_at=now,
        )
        if join is not None:
            await _upsert_participation(
                NewParticipation(
                    pledge_id=row.id,
                    member_id=join.member_id,
                    first_period=join.first_period,
                    next_close_at=join.next_close_at,
                    joined_at=join.joined_at,
                )
            )
        await changed(PLEDGES, new.group_id)
    return convert.pledge(row)


async def group_pledges(group_id: int, statuses: tuple[str, ...]) -> list[PledgeRec]:
    known = cache.pledges(group_id, statuses)
    if known is not None:
        return known
    ticket = cache.ticket()
    rows = await m.Pledge.filter(group_id=group_id, status__in=list(statuses)).order_by("number")
    pledges = [convert.pledge(r) for r in rows]
    cache.put_pledges(ticket, group_id, statuses, pledges)
    return pledges


async def get_pledge(pledge_id: int) -> PledgeRec | None:
    row = await keyed_reads.first(m.Pledge, id=pledge_id)
    return convert.pledge(row) if row else None


async def update_pledge(pledge_id: int, **values: Any) -> PledgeRec:
    allowed = {"status", "paused_at", "paused_until", "remind_slot", "title", "end_date"}
    if set(values) - allowed:
        raise ValueError(f"not pledge fields: {sorted(set(values) - allowed)}")
    await m.Pledge.filter(id=pledge_id).update(**values)
    pledge = convert.pledge(await m.Pledge.get(id=pledge_id))
    await changed(PLEDGES, pledge.group_id)
    return pledge


async def participations(
    pledge_ids: list[int], *, active_only: bool = True, member_id: int | None = None
) -> list[tuple[ParticipationRec, MemberRec]]:
    """Participations of the given pledges (of one member, if given) with their members, in
    one query."""
    if not pledge_ids:
        return []
    query = m.Participation.filter(pledge_id__in=pledge_ids)
    if active_only:
        query = query.filter(active=True)
    if member_id is not None:
        query = query.filter(member_id=member_id)
    rows = await query.select_related("member").order_by("pledge_id", "id")
    return [(convert.participation(r), convert.member(r.member)) for r in rows]


async def member_pledges(member_id: int, *, with_slot: bool = False) -> list[tuple[int, int]]:
    """(group id, pledge id) of a member's active participations (with a personal reminder
    slot only, if asked), in every group, in one query."""
    query = m.Participation.filter(member_id=member_id, active=True)
    if with_slot:
        query = query.filter(remind_slot__isnull=False)
    rows = await query.order_by("pledge_id").values_list("pledge__group_id", "pledge_id")
    return [(int(g), int(p)) for g, p in rows]


async def group_has_participants(group_id: int, statuses: tuple[str, ...]) -> bool:
    """Whether any pledge of the group in these statuses has an active participant."""
    return await m.Participation.filter(
        active=True, pledge__group_id=group_id, pledge__status__in=list(statuses)
    ).exists()


async def participation_of(pledge_id: int, member_id: int) -> ParticipationRec | None:
    row = await keyed_reads.first(m.Participation, pledge_id=pledge_id, member_id=member_id)
    return convert.participation(row) if row else None


async def _upsert_participation(new: NewParticipation) -> tuple[m.Participation, bool]:
    row = await m.Participation.get_or_none(pledge_id=new.pledge_id, member_id=new.member_id)
    if row is None:
        row = await m.Participation.create(
            pledge_id=new.pledge_id,
            member_id=new.member_id,
            joined_at=new.joined_at,
            first_period=new.first_period,
            next_close_at=new.next_close_at,
        )
        return row, True
    if row.active:
        return row, False
    # Rejoining keeps streak history; closing resumes from the current period.
    row.active = True
    row.closed_through = None
    row.first_period = new.first_period
    row.next_close_at = new.next_close_at
    row.joined_at = new.joined_at
    await row.save()
    return row, True


async def join(new: NewParticipation) -> tuple[ParticipationRec, bool]:
    """Join a pledge; returns the participation and whether anything changed."""
    async with atomic():
        row, joined = await _upsert_participation(new)
        if joined:  # a period that closes before the group's earliest close so far
            await changed(DUE, ALL)
    return convert.participation(row), joined


async def leave(participation_id: int) -> None:
    await m.Participation.filter(id=participation_id).update(active=False)


async def update_participation(participation_id: int, **values: Any) -> ParticipationRec:
    allowed = {"remind_slot", "remind_off", "delivery"}
    if set(values) - allowed:
        raise ValueError(f"not participation settings: {sorted(set(values) - allowed)}")
    await m.Participation.filter(id=participation_id).update(**values)
    return convert.participation(await m.Participation.get(id=participation_id))
