"""Shared DM rooms for adapters: one room per member and bot account across processes.

Adapters never touch storage; this is their door to `storage.direct_rooms` (which explains
the claim). One `DirectRooms` per adapter instance, owned as its event claims are.
"""

from __future__ import annotations

from bot.clock import Clock
from storage import direct_rooms
from storage.direct_rooms import CREATE, HELD, LOOK, ROOM, DirectClaim

__all__ = ["CREATE", "HELD", "LOOK", "ROOM", "DirectClaim", "DirectRooms"]


class DirectRooms:
    """The DM rooms of one bot account on one platform, as every process on it sees them."""

    def __init__(self, clock: Clock, platform: str, account: str, owner: str) -> None:
        self.clock = clock
        self.platform = platform
        self.account = account
        self.owner = owner

    async def recorded(self, member: str) -> str | None:
        return await direct_rooms.recorded(self.platform, self.account, member)

    async def claim(self, member: str) -> DirectClaim:
        now = self.clock.now()
        return await direct_rooms.claim(self.platform, self.account, member, self.owner, now)

    async def record(self, member: str, room_id: str) -> bool:
        return await direct_rooms.record(self.platform, self.account, member, self.owner, room_id)

    async def adopt(self, member: str, room_id: str) -> None:
        now = self.clock.now()
        await direct_rooms.adopt(self.platform, self.account, member, self.owner, room_id, now)

    async def forget(self, member: str, room_id: str) -> bool:
        return await direct_rooms.forget(self.platform, self.account, member, room_id)
