"""A group's room changing under it: archived when the bot is removed, back, or moved."""

from __future__ import annotations

import logging

from bot.actors import Place
from bot.engine.engine import Engine
from storage import group_places
from storage.records import GroupRec

log = logging.getLogger("logoff.engine")


class GroupPlaces:
    """What an adapter calls when a room or channel comes back or is replaced by another."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def archive(self, place: Place) -> None:
        await self.engine.archive_group(place)

    async def restore(self, place: Place) -> GroupRec | None:
        """The bot is back in the room (a new invite): the group and its pledges carry on."""
        group = await group_places.restore_group(place.platform, place.external_id)
        if group is not None:
            await self._replan(group)
        return group

    async def move(self, old: Place, new_external_id: str) -> GroupRec | None:
        """The room was replaced (upgraded): the group goes on in the new one."""
        group = await group_places.move_group(old.platform, old.external_id, new_external_id)
        if group is None:
            log.info("nothing moved from %s to %s", old.external_id, new_external_id)
            return None
        await self._replan(group)
        return group

    async def _replan(self, group: GroupRec) -> None:
        if self.engine.hooks is not None:
            await self.engine.hooks.replan(group.id)
