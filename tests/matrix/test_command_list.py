"""MSC4332: the bot publishes its commands as room state where its power level allows it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from adapters.matrix.command_list import EVENT_TYPE
from bot.commands.registry import Registry
from tests.matrix.harness import WAIT, Member, new_bot_account, running_bot
from tests.matrix.test_cross_signing import http
from tests.services.synapse import SynapseServer


async def command_state(member: Member, room: str, bot_id: str) -> tuple[int, dict[str, Any]]:
    path = f"/_matrix/client/v3/rooms/{quote(room)}/state/{EVENT_TYPE}/{quote(bot_id)}"
    return await http(member.server, member.nio.access_token, "GET", path)


async def test_the_command_list_appears_once_the_bot_may_set_room_state(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account) as app:
            room = await alice.room_with_bot(account.user_id)
            # Power level 0 (Alice created the room): no state event, `!help` is the way in.
            answer = await alice.reply_to(await alice.send(room, "!help"))
            assert "!pledge new" in answer.content["body"]
            status, _ = await command_state(alice, room, account.user_id)
            assert status == 404

            # Alice makes the bot a moderator; it publishes on the next sync.
            levels = await http(
                synapse_server,
                alice.nio.access_token,
                "GET",
                f"/_matrix/client/v3/rooms/{quote(room)}/state/m.room.power_levels/",
            )
            content = levels[1]
            content.setdefault("users", {})[account.user_id] = 50
            set_levels = await alice.nio.room_put_state(room, "m.room.power_levels", content)
            assert getattr(set_levels, "event_id", None), set_levels
            deadline = time.monotonic() + WAIT
            while (found := await command_state(alice, room, account.user_id))[0] != 200:
                assert time.monotonic() < deadline, f"no command list: {found}"
                await asyncio.sleep(0.1)
            published = found[1]

            registry: Registry = app.engine.registry
            assert published["sigil"] == "!"
            by_syntax = {c["syntax"]: c for c in published["commands"]}
            assert len(by_syntax) == len(registry.all())
            new = by_syntax['pledge new "{title}"']
            assert new["variables"]["title"]["m.text"][0]["body"]
            assert "!pledge new" in new["description"]["m.text"][0]["body"]
            assert "help" in by_syntax
            for command in published["commands"]:
                for name in command.get("variables", {}):
                    assert "{" + name + "}" in command["syntax"]

        # A restart finds the same list in the room's state and sends nothing new.
        async with running_bot(synapse_server, account):
            await alice.reply_to(await alice.send(room, "!help"))
            resp = await alice.nio.room_messages(room, start="", limit=50)
            lists = [e for e in resp.chunk if e.source.get("type") == EVENT_TYPE]
            assert len(lists) == 1
    finally:
        await alice.close()
