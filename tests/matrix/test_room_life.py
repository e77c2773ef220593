"""Room life: banned and re-invited, the group carries on; an upgraded room keeps its group."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from storage import groups as group_queries
from storage.records import GroupRec
from tests.matrix.harness import WAIT, Member, new_bot_account, running_bot
from tests.matrix.test_cross_signing import http
from tests.services.synapse import SynapseServer

PLEDGE = '!pledge new "Knock on 10 doors" per week'


async def group_where(room_id: str, check: Callable[[GroupRec], bool]) -> GroupRec:
    """The group of `room_id` once `check` holds for it (the bot acts on its next sync)."""
    deadline = time.monotonic() + WAIT
    while True:
        group = await group_queries.find_group("matrix", room_id)
        if group is not None and check(group):
            return group
        assert time.monotonic() < deadline, f"the group of {room_id} never got there: {group}"
        await asyncio.sleep(0.05)


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WAIT
    while not await condition():
        assert time.monotonic() < deadline, "it never happened"
        await asyncio.sleep(0.05)


async def test_a_banned_bot_archives_the_group_and_a_reinvite_brings_it_back_with_its_pledges(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account) as app:
            adapter = app.outboxes["matrix"]
            room = await alice.room_with_bot(account.user_id)
            await alice.reply_to(await alice.send(room, PLEDGE))
            before = await group_where(room, lambda g: not g.archived)

            banned = await alice.nio.room_ban(room, account.user_id, "spring cleaning")
            assert not hasattr(banned, "status_code"), banned
            archived = await group_where(room, lambda g: g.archived)
            assert archived.id == before.id
            await eventually(async_value(lambda: room not in adapter.client.rooms))  # type: ignore[attr-defined]

            unbanned = await alice.nio.room_unban(room, account.user_id)
            assert not hasattr(unbanned, "status_code"), unbanned
            mark = len(alice.seen)
            await alice.invite(room, account.user_id)
            back = await group_where(room, lambda g: not g.archived)
            assert back.id == before.id
            # Greeted once a day at most (the greeting is claimed across processes), so the
            # proof that the group is back is its answer, with its pledges.
            del mark
            listed = await alice.reply_to(await alice.send(room, "!pledge list"))
            assert "Knock on 10 doors" in listed.content["body"]
    finally:
        await alice.close()


def async_value(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return check()

    return run


async def test_an_upgraded_room_moves_the_group_and_the_bot_follows_it(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account) as app:
            adapter = app.outboxes["matrix"]
            room = await alice.room_with_bot(account.user_id)
            await alice.reply_to(await alice.send(room, PLEDGE))
            before = await group_where(room, lambda g: not g.archived)

            status, answer = await http(
                synapse_server,
                alice.nio.access_token,
                "POST",
                f"/_matrix/client/v3/rooms/{room}/upgrade",
                {"new_version": "12"},
            )
            assert status == 200, answer
            new_room = answer["replacement_room"]
            # A private room's replacement is invite-only: Element's upgrade dialog invites the
            # old room's members, and so does Alice. The bot moves the group once it is in.
            await alice.join(new_room)
            await alice.invite(new_room, account.user_id)
            moved = await group_where(new_room, lambda g: not g.archived)
            assert moved.id == before.id
            assert await group_queries.find_group("matrix", room) is None
            listed = await alice.reply_to(await alice.send(new_room, "!pledge list"))
            assert "Knock on 10 doors" in listed.content["body"]
            # The old room is closed: the bot left it.
            await eventually(async_value(lambda: room not in adapter.client.rooms))  # type: ignore[attr-defined]
    finally:
        await alice.close()
