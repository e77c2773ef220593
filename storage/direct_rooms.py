"""The DM room of each (platform, bot account, member), claimed by one process before it is made.

Several processes on one account each need a member's DM room at the same moment (a DM-only
reply, a reminder): without a shared record each would create its own room. A row is
inserted before the room is created, owned by `"<instance>:<run>"` (as in storage.incoming)
until `lease_until`, and holds the room id once the room exists. Who may take a row that has
no room yet: the same instance in a later run at once (its predecessor is dead), anyone else
once the lease ran out; that taker first looks for a room the dead owner may have made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from storage import models as m
from storage.incoming import instance_of
from storage.transaction import LockWaitRanOut, durable

# Creating a room and inviting the member takes well under a second; a slow homeserver more.
LEASE = timedelta(seconds=30)
# A claim never waits longer than this on another process's uncommitted claim of the same row.
CLAIM_LOCK_WAIT_MS = 2000

ROOM = "room"  # the room is recorded: use `room_id`
CREATE = "create"  # ours, and nobody made a room: create it, then `record` it
LOOK = "look"  # ours, taken over from a claim that died without a room: look for one first
HELD = "held"  # another live process is making the room until `held_until`: wait for it


@dataclass(frozen=True)
class DirectClaim:
    """What the caller must do to get the member's DM room."""

    state: str
    room_id: str | None = None
    held_until: datetime | None = None


async def recorded(platform: str, account: str, member: str) -> str | None:
    """The recorded DM room, or None (no row, or a claim that has no room yet)."""
    row = await m.DirectRoom.get_or_none(platform=platform, account=account, member=member)
    return row.room_id if row is not None else None


async def claim(
    platform: str, account: str, member: str, owner: str, now: datetime, lease: timedelta = LEASE
) -> DirectClaim:
    """The recorded room, or the right to create it for `owner`, or who is creating it."""
    held = DirectClaim(HELD, held_until=now + lease)
    try:
        async with durable(lock_wait_ms=CLAIM_LOCK_WAIT_MS):
            await m.DirectRoom.create(
                platform=platform,
                account=account,
                member=member,
                owner=owner,
                claimed_at=now,
                lease_until=now + lease,
            )
        return DirectClaim(CREATE)
    except IntegrityError:
        pass
    except LockWaitRanOut:
        return held
    row = await m.DirectRoom.get_or_none(platform=platform, account=account, member=member)
    if row is None:  # forgotten in between: try again
        return DirectClaim(HELD, held_until=now)
    if row.room_id:
        return DirectClaim(ROOM, room_id=row.room_id)
    if instance_of(row.owner) != instance_of(owner) and row.lease_until > now:
        return DirectClaim(HELD, held_until=row.lease_until)
    # The same match as read: of two processes taking over at once, one wins.
    try:
        async with durable(lock_wait_ms=CLAIM_LOCK_WAIT_MS):
            taken = await m.DirectRoom.filter(
                id=row.id, owner=row.owner, room_id=None, lease_until=row.lease_until
            ).update(owner=owner, claimed_at=now, lease_until=now + lease)
    except LockWaitRanOut:
        return held
    return DirectClaim(LOOK) if taken else held


async def record(platform: str, account: str, member: str, owner: str, room_id: str) -> bool:
    """The room `owner` claimed exists now. False: the claim was lost (taken over)."""
    async with durable():
        changed = await m.DirectRoom.filter(
            platform=platform, account=account, member=member, owner=owner, room_id=None
        ).update(room_id=room_id)
    return bool(changed)


async def adopt(
    platform: str, account: str, member: str, owner: str, room_id: str, now: datetime
) -> None:
    """The member opened a DM with the bot (an `is_direct` invite): it is their room from now."""
    rows = m.DirectRoom.filter(platform=platform, account=account, member=member)
    if await rows.update(room_id=room_id):
        return
    try:
        async with durable():
            await m.DirectRoom.create(
                platform=platform,
                account=account,
                member=member,
                room_id=room_id,
                owner=owner,
                claimed_at=now,
                lease_until=now,
            )
    except IntegrityError:  # another process recorded one at the same moment: this one wins
        await rows.update(room_id=room_id)


async def forget(platform: str, account: str, member: str, room_id: str) -> bool:
    """The member left `room_id` (or it is unusable): drop the record if it still names it."""
    deleted = await m.DirectRoom.filter(
        platform=platform, account=account, member=member, room_id=room_id
    ).delete()
    return bool(deleted)
