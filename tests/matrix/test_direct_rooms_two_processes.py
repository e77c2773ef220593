"""Two adapter instances on one account and one PostgreSQL database open one DM room a member."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nio import JoinedRoomsResponse, RoomCreateResponse, RoomLeaveResponse, RoomPreset

from adapters.matrix.adapter import MatrixAdapter
from bot.app.bootstrap import App, matrix_service, open_app
from bot.messages.replies import Reply
from storage import database
from storage import direct_rooms as dm
from storage import groups as group_queries
from storage.records import MemberRec
from tests.matrix.harness import WAIT, BotAccount, Member, new_bot_account, sent_by
from tests.services.synapse import SynapseServer


@contextlib.asynccontextmanager
async def two_instances(
    server: SynapseServer, account: BotAccount, url: str, *, encryption: bool = False
) -> AsyncIterator[tuple[App, MatrixAdapter, MatrixAdapter]]:
    """The bot with two Matrix adapters, each with its own data directory (its own instance,
    login and sync), on one account and one PostgreSQL database, as two `logoff run` have."""
    config = dataclasses.replace(account.config(server, encryption=encryption), database_url=url)
    account.data_dir.mkdir(parents=True, exist_ok=True)
    await database.migrate(url)
    async with open_app(config) as app:
        first = asyncio.create_task(matrix_service(app).run())
        other = MatrixAdapter(app.engine, config.matrix, account.data_dir.parent / "second")
        second = asyncio.create_task(other.run())
        try:
            adapter = await _ready(app, first)
            await _wait(other.ready.is_set, second)
            yield app, adapter, other
        finally:
            for task in (first, second):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=WAIT)


async def _ready(app: App, task: asyncio.Task[Any]) -> MatrixAdapter:
    await _wait(lambda: "matrix" in app.outboxes and app.outboxes["matrix"].ready.is_set(), task)
    adapter = app.outboxes["matrix"]
    assert isinstance(adapter, MatrixAdapter)
    return adapter


async def _wait(done: Any, task: asyncio.Task[Any] | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        if task is not None and task.done():
            task.result()
        if time.monotonic() > deadline:
            raise TimeoutError("never happened")
        await asyncio.sleep(0.05)


async def member_in_group(
    server: SynapseServer, account: BotAccount, name: str, store: Path | None = None
) -> tuple[Member, MemberRec]:
    member = await Member.register(server, name, store=store)
    room = await member.room_with_bot(account.user_id)
    await member.reply_to(await member.send(room, '!pledge new "Knock on 10 doors" per week'))
    rec = await group_queries.find_member("matrix", member.user_id)
    assert rec is not None
    return member, rec


async def dm_invites(member: Member, count: int) -> list[str]:
    """The rooms the member is invited to, once there are `count` (joined, so messages show)."""
    deadline = time.monotonic() + WAIT
    while len(member.nio.invited_rooms) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{member.name} has {len(member.nio.invited_rooms)} invites")
        await member.sync(500)
    invited = list(member.nio.invited_rooms)
    for room_id in invited:
        await member.join(room_id)
    return invited


async def bot_rooms(adapter: MatrixAdapter) -> set[str]:
    assert adapter.client is not None
    resp = await adapter.client.joined_rooms()
    assert isinstance(resp, JoinedRoomsResponse), resp
    return set(resp.rooms)


def texts_in(member: Member, room_id: str, bot_id: str) -> list[str]:
    return [
        s.content.get("body", "")
        for s in member.seen
        if s.room_id == room_id and sent_by(bot_id)(s) and s.source.get("type") == "m.room.message"
    ]


async def dm_at_once(
    senders: tuple[MatrixAdapter, MatrixAdapter], person: Member, member: MemberRec, bot_id: str
) -> str:
    """Each instance sends the member a DM at the same moment: the one room they land in,
    once the member has each message, and each once."""
    texts = [f"From instance {n} of 2" for n in (1, 2)]
    sent = await asyncio.gather(
        *(x.send_to_member(member, Reply(t), None) for x, t in zip(senders, texts, strict=True))
    )
    (room,) = await dm_invites(person, 1)
    for event_id in sent:
        await person.wait_for(lambda s, e=event_id: s.event_id == e)
    assert sorted(texts_in(person, room, bot_id)) == texts
    return room


@pytest.mark.parametrize("encryption", [False, True], ids=["plain", "encrypted"])
async def test_two_instances_dm_one_member_at_once_in_one_room_and_each_message_once(
    synapse_server: SynapseServer, tmp_path: Path, postgres_url: str, encryption: bool
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    store = tmp_path / "bob-store" if encryption else None
    async with two_instances(synapse_server, account, postgres_url, encryption=encryption) as (
        _app,
        a,
        b,
    ):
        bob, member = await member_in_group(synapse_server, account, "Bob", store)
        try:
            before = await bot_rooms(a)
            # Both need Bob's DM room at the same moment (a DM-only reply each).
            room = await dm_at_once((a, b), bob, member, account.user_id)
            assert await bot_rooms(a) - before == {room}  # one DM room on the account
            assert await dm.recorded("matrix", account.user_id, bob.user_id) == room
            assert a.state.direct_rooms[bob.user_id] == b.state.direct_rooms[bob.user_id] == room
            assert room in b.state.direct_room_ids  # its commands there are DM commands too

            # Bob leaves it: the next DM, from either process, opens one new room for both.
            assert isinstance(await bob.nio.room_leave(room), RoomLeaveResponse)
            await _wait(lambda: all(x._member_in(room, bob.user_id) is False for x in (a, b)))
            new_room = await dm_at_once((b, a), bob, member, account.user_id)
            assert new_room != room
            assert await dm.recorded("matrix", account.user_id, bob.user_id) == new_room
        finally:
            await bob.close()


async def test_a_dm_room_made_by_a_process_that_died_before_recording_it_is_used(
    synapse_server: SynapseServer, tmp_path: Path, postgres_url: str
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    async with two_instances(synapse_server, account, postgres_url) as (app, a, b):
        ana, member = await member_in_group(synapse_server, account, "Ana")
        try:
            # A third process claimed Ana's DM, created the room and died before recording it.
            now = app.engine.clock.now()
            dead = await dm.claim("matrix", account.user_id, ana.user_id, "dead:1", now - dm.LEASE)
            assert dead.state == dm.CREATE
            assert a.client is not None
            made = await a.client.room_create(
                is_direct=True, invite=[ana.user_id], preset=RoomPreset.trusted_private_chat
            )
            assert isinstance(made, RoomCreateResponse), made
            await _wait(lambda: made.room_id in b._one_to_one(ana.user_id))
            # A command there is a DM command in every process, not a new group's.
            await _wait(lambda: made.room_id in a._creations)
            assert a._place(a.client.rooms[made.room_id]).is_direct
            before = await bot_rooms(a)
            sent = await b.send_to_member(member, Reply("Your pledge is due"), None)
            (room,) = await dm_invites(ana, 1)
            assert room == made.room_id
            await ana.wait_for(lambda s: s.event_id == sent)
            assert await bot_rooms(a) == before  # no second room
            assert await dm.recorded("matrix", account.user_id, ana.user_id) == room
        finally:
            await ana.close()
