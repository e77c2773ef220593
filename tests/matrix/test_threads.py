"""A command sent in a thread is answered in that thread, and so is a tap on the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nio import RoomSendResponse

from tests.matrix.harness import Member, in_reply_to, new_bot_account, running_bot, sent_by
from tests.services.synapse import SynapseServer


async def send_in_thread(member: Member, room_id: str, root: str, text: str) -> str:
    """As Element sends it: the thread relation with the reply fallback to the thread's root."""
    content: dict[str, Any] = {
        "msgtype": "m.text",
        "body": text,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }
    resp = await member.nio.room_send(room_id, "m.room.message", content)
    assert isinstance(resp, RoomSendResponse), resp
    return str(resp.event_id)


def in_thread(root: str, reply_to: str) -> dict[str, Any]:
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": False,
        "m.in_reply_to": {"event_id": reply_to},
    }


async def test_a_command_in_a_thread_is_answered_in_the_thread(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account):
            room = await alice.room_with_bot(account.user_id)
            root = await alice.send(room, "Planning the tenants' meeting")

            command = await send_in_thread(alice, room, root, "!help")
            answer = await alice.reply_to(command)
            assert answer.content["m.relates_to"] == in_thread(root, command)
            assert "!pledge" in answer.content["body"]

            # A numbered choice offered in the thread: the tap's answer stays in the thread.
            asked_id = await send_in_thread(alice, room, root, "!forget")
            asked = await alice.reply_to(asked_id)
            assert asked.content["m.relates_to"] == in_thread(root, asked_id)
            await alice.react(room, asked.event_id, "2️⃣")
            cancelled = await alice.wait_for(
                lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == asked.event_id
            )
            assert cancelled.content["m.relates_to"] == in_thread(root, asked.event_id)
            assert "Cancelled" in cancelled.content["body"]

            # In the main timeline a reply stays a plain reply.
            plain = await alice.send(room, "!help")
            main = await alice.reply_to(plain)
            assert main.content["m.relates_to"] == {"m.in_reply_to": {"event_id": plain}}
    finally:
        await alice.close()
