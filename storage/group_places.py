"""Where a group lives: back from the archive when re-invited, moved when its room is replaced."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from storage import convert
from storage import models as m
from storage.record_cache import GROUP, changed
from storage.records import GroupRec
from storage.transaction import savepoint


async def restore_group(platform: str, external_id: str) -> GroupRec | None:
    """Un-archive the group of this room or channel; None when the bot never had one there."""
    row = await m.Group.get_or_none(platform=platform, external_id=external_id)
    if row is None:
        return None
    if row.archived:
        row.archived = False
        await row.save(update_fields=["archived"])
        await changed(GROUP, row.id)
    return convert.group(row)


async def move_group(platform: str, old_id: str, new_id: str) -> GroupRec | None:
    """Give the group of `old_id` the place `new_id` (a room upgrade), pledges and history too.

    None when there is nothing to move, or when `new_id` already has a group of its own (used
    before the move): two groups are never merged silently; the old one stays where it was.
    """
    row = await m.Group.get_or_none(platform=platform, external_id=old_id)
    if row is None:
        return None
    try:
        row.external_id, row.archived = new_id, False
        async with savepoint():
            await row.save(update_fields=["external_id", "archived"])
    except IntegrityError:
        return None
    await changed(GROUP, row.id)
    return convert.group(row)
