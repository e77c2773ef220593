"""Queries on groups and members: find-or-create, settings, mutes and time zones."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError

from storage import convert, keyed_reads
from storage import models as m
from storage.inserts import RETURNS, insert_new
from storage.record_cache import GROUP, MEMBER, cache, changed, created
from storage.records import GroupDefaults, GroupRec, MemberRec
from storage.transaction import savepoint

GROUP_SETTINGS = frozenset(
    {
        "timezone",
        "week_start",
        "summary_slot",
        "prompt_slot",
        "grace_hours",
        "quiet_hours",
        "weekly_message_cap",
        "threshold",
        "name_missed",
        "archived",
        "name",
    }
)
MEMBER_SETTINGS = frozenset({"timezone", "muted_until", "display_name", "forget_requested_at"})


async def ensure_group(
    platform: str, external_id: str, name: str, defaults: GroupDefaults, now: datetime
) -> GroupRec:
    known = cache.group_at(platform, external_id)
    if known is not None and (not name or known.name == name[:200]):
        return known
    ticket = cache.ticket()
    row = await keyed_reads.first(m.Group, platform=platform, external_id=external_id)
    if row is None:
        settings = dataclasses.asdict(defaults)  # every field names a group setting
        values = {"name": name[:200], "created_at": now, **settings}
        row, new = await _made_or_found(m.Group, GROUP, platform, external_id, values)
        if new:
            return convert.group(row)
    elif name and row.name != name[:200]:
        row.name = name[:200]
        await row.save(update_fields=["name"])
        await changed(GROUP, row.id)
        return convert.group(row)
    group = convert.group(row)
    cache.put_group(ticket, group)
    return group


M = TypeVar("M", m.Group, m.Member)


async def _made_or_found(
    model: type[M], kind: str, platform: str, external_id: str, values: dict[str, Any]
) -> tuple[M, bool]:
    """A new group or member row (True), or the one another event or process made meanwhile."""
    key = {"platform": platform, "external_id": external_id}
    made: M | None
    if RETURNS:
        made = await insert_new(model, tuple(key), **key, **values)
    else:
        try:
            async with savepoint():
                made = await model.create(platform=platform, external_id=external_id, **values)
        except IntegrityError:
            made = None
    if made is None:
        return await model.get(platform=platform, external_id=external_id), False
    created(kind, made.id)
    return made, True


async def get_group(group_id: int) -> GroupRec | None:
    known = cache.group(group_id)
    if known is not None:
        return known
    ticket = cache.ticket()
    row = await keyed_reads.first(m.Group, id=group_id)
    if row is None:
        return None
    group = convert.group(row)
    cache.put_group(ticket, group)
    return group


async def find_group(platform: str, external_id: str) -> GroupRec | None:
    known = cache.group_at(platform, external_id)
    if known is not None:
        return known
    ticket = cache.ticket()
    row = await keyed_reads.first(m.Group, platform=platform, external_id=external_id)
    if row is None:
        return None
    group = convert.group(row)
    cache.put_group(ticket, group)
    return group


async def update_group(group_id: int, **values: Any) -> GroupRec:
    unknown = set(values) - GROUP_SETTINGS - {"group_streak", "best_group_streak"}
    if unknown:
        raise ValueError(f"not group settings: {sorted(unknown)}")
    await m.Group.filter(id=group_id).update(**values)
    await changed(GROUP, group_id)
    return convert.group(await m.Group.get(id=group_id))


async def active_groups() -> list[GroupRec]:
    return [convert.group(r) for r in await m.Group.filter(archived=False).order_by("id")]


async def ensure_member(
    platform: str, external_id: str, display_name: str, now: datetime
) -> MemberRec:
    known = cache.member_at(platform, external_id)
    if known is not None and (not display_name or known.display_name == display_name[:200]):
        return known
    ticket = cache.ticket()
    row = await keyed_reads.first(m.Member, platform=platform, external_id=external_id)
    if row is None:
        values = {"display_name": display_name[:200], "created_at": now}
        row, new = await _made_or_found(m.Member, MEMBER, platform, external_id, values)
        if new:
            return convert.member(row)
    elif display_name and row.display_name != display_name[:200]:
        row.display_name = display_name[:200]
        await row.save(update_fields=["display_name"])
        await changed(MEMBER, row.id)
        return convert.member(row)
    member = convert.member(row)
    cache.put_member(ticket, member)
    return member


async def find_member(platform: str, external_id: str) -> MemberRec | None:
    known = cache.member_at(platform, external_id)
    if known is not None:
        return known
    ticket = cache.ticket()
    row = await keyed_reads.first(m.Member, platform=platform, external_id=external_id)
    if row is None:
        return None
    member = convert.member(row)
    cache.put_member(ticket, member)
    return member


async def find_member_by_name(platform: str, name: str) -> list[MemberRec]:
    """Members whose display name or external id matches `name` case-insensitively."""
    rows = await m.Member.filter(platform=platform, display_name__iexact=name)
    if not rows:
        rows = await m.Member.filter(platform=platform, external_id__iexact=name)
    return [convert.member(r) for r in rows]


async def members_by_id(member_ids: list[int]) -> dict[int, MemberRec]:
    if not member_ids:
        return {}
    rows = await m.Member.filter(id__in=member_ids)
    return {r.id: convert.member(r) for r in rows}


async def update_member(member_id: int, **values: Any) -> MemberRec:
    unknown = set(values) - MEMBER_SETTINGS
    if unknown:
        raise ValueError(f"not member settings: {sorted(unknown)}")
    await m.Member.filter(id=member_id).update(**values)
    await changed(MEMBER, member_id)
    return convert.member(await m.Member.get(id=member_id))
