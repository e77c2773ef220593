"""Direct rooms for members who chose DMs, a burst of commands, and leaving when kicked."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storage import groups as group_queries
from tests.matrix.harness import (
    Member,
    in_reply_to,
    new_bot_account,
    prompt_for,
    running_bot,
    sent_by,
)
from tests.services.synapse import SynapseServer


async def test_dms_reuse_one_direct_room_and_a_burst_of_commands_is_answered_in_full(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    # The per-member rate limit (20 a minute by default) would rightly quieten one member's
    # burst; this is about the sync loop losing nothing, so the limit is off here.
    account.commands_per_minute = 0
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account) as app:
            room = await alice.room_with_bot(account.user_id)
            await alice.reply_to(await alice.send(room, '!pledge new "Call a neighbour" per week'))

            # Fifty commands as fast as the client can send them: every one is answered.
            sent = [await alice.send(room, f"!help pledge {i}") for i in range(50)]
            await alice.reply_to(sent[-1], wait=30)
            await alice.sync(300)
            answered = {in_reply_to(s) for s in alice.seen if sent_by(account.user_id)(s)}
            assert set(sent) <= answered

            member = await group_queries.find_member("matrix", alice.user_id)
            assert member is not None
            group, reply = await prompt_for(app, room, [(member.id, alice)], ("done", "snooze"))
            first = await app.outbox.send_to_member(member, reply, group)
            invited = await _invited_room(alice)
            assert invited != room
            await alice.join(invited)
            dm = await alice.wait_for(lambda s: s.event_id == first)
            assert dm.room_id == invited
            assert dm.content["msgtype"] == "m.text"

            second = await app.outbox.send_to_member(member, reply, group)
            again = await alice.wait_for(lambda s: s.event_id == second)
            assert again.room_id == invited  # the direct room is reused

            # A command in the direct room works; group-only ones say where to run them.
            help_reply = await alice.reply_to(await alice.send(invited, "!help"))
            assert help_reply.content["msgtype"] == "m.notice"
            here = await alice.reply_to(await alice.send(invited, "!pledge list"))
            assert "not here" in here.content["body"]
    finally:
        await alice.close()


async def _invited_room(member: Member) -> str:
    for _ in range(30):
        resp = await member.nio.sync(timeout=500)
        invites = list(getattr(getattr(resp, "rooms", None), "invite", {}) or {})
        if invites:
            return str(invites[0])
        await asyncio.sleep(0.05)
    raise TimeoutError("no DM invite arrived")


async def test_a_kicked_bot_archives_the_room_group_and_keeps_its_data(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account):
            room = await alice.room_with_bot(account.user_id)
            await alice.reply_to(await alice.send(room, '!pledge new "Call a neighbour" per week'))
            kicked = await alice.nio.room_kick(room, account.user_id, "bye")
            assert not hasattr(kicked, "status_code"), kicked
            for _ in range(100):
                group = await group_queries.find_group("matrix", room)
                if group is not None and group.archived:
                    break
                await asyncio.sleep(0.05)
            assert group is not None
            assert group.archived
    finally:
        await alice.close()
