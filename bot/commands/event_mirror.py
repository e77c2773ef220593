"""Mirrors an event into a platform's own calendar (Discord Guild Scheduled Events), best effort."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.ports import MirroredEvent
from storage import events as event_queries
from storage import groups as group_queries
from storage.records import EventRec, MemberRec

if TYPE_CHECKING:
    from bot.commands.invocation import EventServices

log = logging.getLogger("logoff.events")


def mirrored(event: EventRec, group_name: str, creator: MemberRec | None) -> MirroredEvent:
    """What the platform's calendar shows: the event's own facts and where to answer."""
    where = f" in #{group_name}" if group_name else ""
    return MirroredEvent(
        event_id=event.id,
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        place=event.place,
        description=f"Answer Going / Maybe / Can't on the event's message{where}.",
        cancelled=event.status == "cancelled",
        creator=creator,
        mirror_id=event.mirror_id,
    )


async def mirror_event(engine: EventServices, event: EventRec) -> None:
    """After `event new`, `edit` and `cancel`: the adapter creates, updates or cancels its copy.
    A refusal never fails the command; the event's own message is the source of truth."""
    if engine.mirror_hook is None:
        return
    group = await group_queries.get_group(event.group_id)
    if group is None:
        return
    members = await group_queries.members_by_id([event.creator_id] if event.creator_id else [])
    creator = members.get(event.creator_id) if event.creator_id else None
    try:
        mirror_id = await engine.mirror_hook(group, mirrored(event, group.name, creator))
    except Exception:
        log.exception("could not mirror event %s", event.id)
        return
    if mirror_id != event.mirror_id:
        await event_queries.set_mirror(event.id, mirror_id)


async def event_of_mirror(platform: str, mirror_id: str) -> tuple[int, str] | None:
    event = await event_queries.find_by_mirror(platform, mirror_id)
    group = await group_queries.get_group(event.group_id) if event else None
    if event is None or group is None:
        return None
    return event.id, group.external_id
