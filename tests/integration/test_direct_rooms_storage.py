"""The shared record of DM rooms (storage.direct_rooms), on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from storage import database, privacy
from storage import direct_rooms as dm
from storage import groups as group_queries

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
ACCOUNT = "@logoff:localhost"


async def _open(url: str) -> None:
    await database.migrate(url, keep_open=True)


async def test_one_process_claims_the_room_and_the_other_gets_the_room_it_recorded(
    database_url: str,
):
    await _open(database_url)
    try:
        assert await dm.recorded("matrix", ACCOUNT, "@ana:localhost") is None
        first = await dm.claim("matrix", ACCOUNT, "@ana:localhost", "a:1", NOW)
        assert first.state == dm.CREATE
        held = await dm.claim("matrix", ACCOUNT, "@ana:localhost", "b:1", NOW)
        assert held.state == dm.HELD
        assert held.held_until == NOW + dm.LEASE
        assert not await dm.record("matrix", ACCOUNT, "@ana:localhost", "b:1", "!b")
        assert await dm.record("matrix", ACCOUNT, "@ana:localhost", "a:1", "!a")
        assert await dm.recorded("matrix", ACCOUNT, "@ana:localhost") == "!a"
        late = NOW + dm.LEASE * 10
        got = await dm.claim("matrix", ACCOUNT, "@ana:localhost", "b:1", late)
        assert got == dm.DirectClaim(dm.ROOM, room_id="!a")
        # Another member, another bot account, another platform: rows of their own.
        assert (await dm.claim("matrix", ACCOUNT, "@gus:localhost", "b:1", NOW)).state == dm.CREATE
        other = await dm.claim("matrix", "@other:localhost", "@ana:localhost", "b:1", NOW)
        assert other.state == dm.CREATE
        assert (await dm.claim("discord", ACCOUNT, "@ana:localhost", "b:1", NOW)).state == dm.CREATE
    finally:
        await database.close_database()


async def test_a_claim_that_died_without_a_room_is_taken_over_once_and_looked_for_first(
    database_url: str,
):
    await _open(database_url)
    try:
        assert (await dm.claim("matrix", ACCOUNT, "@ana:localhost", "a:1", NOW)).state == dm.CREATE
        # Its own instance in a later run: the old run is dead (the data directory is locked).
        again = await dm.claim("matrix", ACCOUNT, "@ana:localhost", "a:2", NOW)
        assert again.state == dm.LOOK
        assert not await dm.record("matrix", ACCOUNT, "@ana:localhost", "a:1", "!late")
        # Another instance only once the lease ran out, and of two at once only one.
        assert (await dm.claim("matrix", ACCOUNT, "@ana:localhost", "b:1", NOW)).state == dm.HELD
        late = NOW + dm.LEASE
        got = await asyncio.gather(
            dm.claim("matrix", ACCOUNT, "@ana:localhost", "b:1", late),
            dm.claim("matrix", ACCOUNT, "@ana:localhost", "c:1", late),
        )
        assert sorted(c.state for c in got) == [dm.HELD, dm.LOOK]
        winner = "b:1" if got[0].state == dm.LOOK else "c:1"
        assert await dm.record("matrix", ACCOUNT, "@ana:localhost", winner, "!found")
        assert await dm.recorded("matrix", ACCOUNT, "@ana:localhost") == "!found"
    finally:
        await database.close_database()


async def test_a_room_the_member_left_is_forgotten_and_a_room_they_opened_is_adopted(
    database_url: str,
):
    await _open(database_url)
    try:
        await dm.claim("matrix", ACCOUNT, "@ana:localhost", "a:1", NOW)
        await dm.record("matrix", ACCOUNT, "@ana:localhost", "a:1", "!old")
        # A process that still had an older room of theirs forgets nothing newer.
        assert not await dm.forget("matrix", ACCOUNT, "@ana:localhost", "!older")
        assert await dm.forget("matrix", ACCOUNT, "@ana:localhost", "!old")
        assert await dm.recorded("matrix", ACCOUNT, "@ana:localhost") is None
        assert (await dm.claim("matrix", ACCOUNT, "@ana:localhost", "b:1", NOW)).state == dm.CREATE
        # The member invites the bot to a DM of their own while b is making one: theirs wins.
        await dm.adopt("matrix", ACCOUNT, "@ana:localhost", "a:1", "!theirs", NOW)
        assert not await dm.record("matrix", ACCOUNT, "@ana:localhost", "b:1", "!made")
        assert await dm.recorded("matrix", ACCOUNT, "@ana:localhost") == "!theirs"
        # Every process on the account adopts the same invite: one row, that room.
        await asyncio.gather(
            dm.adopt("matrix", ACCOUNT, "@gus:localhost", "a:1", "!g", NOW),
            dm.adopt("matrix", ACCOUNT, "@gus:localhost", "b:1", "!g", NOW),
        )
        got = await dm.claim("matrix", ACCOUNT, "@gus:localhost", "c:1", NOW)
        assert got == dm.DirectClaim(dm.ROOM, room_id="!g")
    finally:
        await database.close_database()


async def test_a_member_who_is_forgotten_leaves_no_dm_room_record(database_url: str):
    await _open(database_url)
    try:
        ana = await group_queries.ensure_member("matrix", "@ana:localhost", "Ana", NOW)
        await group_queries.ensure_member("matrix", "@gus:localhost", "Gus", NOW)
        for member, room in (("@ana:localhost", "!a"), ("@gus:localhost", "!g")):
            await dm.claim("matrix", ACCOUNT, member, "a:1", NOW)
            await dm.record("matrix", ACCOUNT, member, "a:1", room)
        await privacy.forget_member(ana.id)
        assert await dm.recorded("matrix", ACCOUNT, "@ana:localhost") is None
        assert await dm.recorded("matrix", ACCOUNT, "@gus:localhost") == "!g"
    finally:
        await database.close_database()
