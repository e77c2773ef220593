"""Direct messages: the bot's own DMs are encrypted and in m.direct; a member's DM is reused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nio import RoomCreateResponse, RoomPreset

from adapters.matrix.direct import encryption_state
from bot.messages.replies import Reply
from storage import groups as group_queries
from tests.matrix.harness import (
    Member,
    in_reply_to,
    new_bot_account,
    prompt_for,
    running_bot,
    sent_by,
)
from tests.matrix.test_cross_signing import http
from tests.matrix.test_direct_and_membership import _invited_room
from tests.services.synapse import SynapseServer

pytest.importorskip("vodozemac", reason="encrypted DMs need the e2e extra")


async def bot_direct(server: SynapseServer, adapter: Any) -> dict[str, Any]:
    """The bot's m.direct account data, as its own clients read it."""
    user_id = adapter.client.user_id
    status, content = await http(
        server,
        adapter.client.access_token,
        "GET",
        f"/_matrix/client/v3/user/{user_id}/account_data/m.direct",
    )
    assert status == 200, content
    return content


async def test_a_dm_the_bot_opens_is_encrypted_and_marked_direct(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bob = await Member.register(synapse_server, "Bob", store=tmp_path / "bob-store")
    try:
        async with running_bot(synapse_server, account, encryption=True) as app:
            room = await bob.room_with_bot(account.user_id)
            await bob.reply_to(await bob.send(room, '!pledge new "Knock on 10 doors" per week'))
            member = await group_queries.find_member("matrix", bob.user_id)
            assert member is not None

            group, prompt = await prompt_for(app, room, [(member.id, bob)], ("done", "snooze"))
            sent = await app.outbox.send_to_member(member, prompt, group)
            dm = await _invited_room(bob)
            assert dm != room
            await bob.join(dm)
            seen = await bob.wait_for(lambda s: s.event_id == sent)
            assert seen.room_id == dm
            assert seen.event.decrypted  # the room was encrypted before the first message
            assert bob.nio.rooms[dm].encrypted
            assert "Knock on 10 doors" in seen.content["body"]
            assert (await bot_direct(synapse_server, app.outboxes["matrix"]))[bob.user_id] == [dm]

            # One tap in the encrypted DM answers the prompt.
            await bob.react(dm, sent, "✅")
            answer = await bob.wait_for(
                lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == sent
            )
            assert answer.room_id == dm
            assert answer.event.decrypted
            assert "1/1" in answer.content["body"]
    finally:
        await bob.close()


async def test_a_dm_the_member_opened_is_reused_and_recorded_in_m_direct(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice", store=tmp_path / "alice-store")
    try:
        async with running_bot(synapse_server, account, encryption=True) as app:
            created = await alice.nio.room_create(
                is_direct=True,
                invite=[account.user_id],
                preset=RoomPreset.trusted_private_chat,
                initial_state=[encryption_state()],
            )
            assert isinstance(created, RoomCreateResponse), created
            dm = created.room_id
            await alice.wait_for(lambda s: sent_by(account.user_id)(s) and s.room_id == dm)
            await alice.reply_to(await alice.send(dm, "!help"))
            member = await group_queries.find_member("matrix", alice.user_id)
            assert member is not None

            sent = await app.outbox.send_to_member(member, Reply("Your pledge is due"), None)
            seen = await alice.wait_for(lambda s: s.event_id == sent)
            assert seen.room_id == dm
            assert seen.event.decrypted
            assert (await bot_direct(synapse_server, app.outboxes["matrix"]))[alice.user_id] == [dm]
            assert list(alice.nio.invited_rooms) == []  # no second DM was opened
    finally:
        await alice.close()
