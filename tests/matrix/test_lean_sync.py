"""The bot's syncs: its own events come back as ids only, nothing it never reads comes at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.matrix import lean_sync
from adapters.matrix.adapter import MatrixAdapter
from bot.messages.replies import Reply
from tests.matrix.harness import Member, new_bot_account, running_bot
from tests.matrix.test_send_ahead import bot_reaction, done_by_reaction, pledged
from tests.services.synapse import SynapseServer


def _own_events(user_id: str) -> dict[str, Any]:
    state = {"type": "m.room.member", "sender": user_id, "state_key": user_id, "event_id": "$j"}
    member = {"type": "m.room.message", "sender": "@bob:localhost", "event_id": "$b"}
    return {
        "next_batch": "s2",
        "rooms": {
            "join": {
                "!a:localhost": {
                    "timeline": {
                        "events": [
                            member,
                            {"type": "m.room.message", "sender": user_id, "event_id": "$m"},
                            {"type": "m.reaction", "sender": user_id, "event_id": "$r"},
                            state,
                        ],
                        "limited": False,
                    },
                },
                "!b:localhost": {"timeline": {"events": []}},
            },
            "invite": {"!c:localhost": {"invite_state": {"events": []}}},
        },
    }


def test_own_messages_and_reactions_leave_as_ids_and_everything_else_stays() -> None:
    parsed = _own_events("@bot:localhost")
    assert lean_sync.take_own(parsed, "@bot:localhost") == ["$m", "$r"]
    events = parsed["rooms"]["join"]["!a:localhost"]["timeline"]["events"]
    assert [e["event_id"] for e in events] == ["$b", "$j"]  # the member's, and state
    assert parsed["rooms"]["invite"] == {"!c:localhost": {"invite_state": {"events": []}}}
    assert lean_sync.take_own({"next_batch": "s3"}, "@bot:localhost") == []


async def test_the_bot_answers_commands_and_reactions_with_its_own_events_left_out(
    synapse_server: SynapseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[dict[str, Any]] = []
    take_own = lean_sync.take_own

    def recorded(parsed: dict[str, Any], user_id: str) -> list[str]:
        syncs.append(parsed)
        return take_own(parsed, user_id)

    monkeypatch.setattr(lean_sync, "take_own", recorded)
    account = new_bot_account(synapse_server, tmp_path)
    bob = await Member.register(synapse_server, "Bob")
    try:
        async with running_bot(synapse_server, account) as app:
            adapter = app.outboxes["matrix"]
            assert isinstance(adapter, MatrixAdapter)
            own: list[str] = []
            assert adapter.client is not None
            echoed = adapter.client.on_own
            assert echoed is not None
            adapter.client.on_own = lambda ids: (own.extend(ids), echoed(ids))[-1]

            room, _, group, prompt = await pledged(app, bob, account)  # a command answered
            sent: Reply = prompt.with_extra(idempotency_key="send:test:lean")
            prompt_id = await app.outbox.send_to_group(group, sent)
            # Its reactions go on once the sync brought the prompt back, as ids alone.
            await bob.wait_for(bot_reaction(account, prompt_id))
            assert prompt_id in own
            await done_by_reaction(bob, account, room, prompt_id)
    finally:
        await bob.close()

    assert syncs  # every sync went through `take_own`
    for parsed in syncs:
        assert not (parsed.get("presence") or {}).get("events")
        assert not (parsed.get("account_data") or {}).get("events")
        for info in (parsed.get("rooms") or {}).get("join", {}).values():
            assert not (info.get("ephemeral") or {}).get("events")
            assert not (info.get("account_data") or {}).get("events")
            for event in info["timeline"]["events"]:  # taken out: none of ours but state
                assert event.get("sender") != account.user_id or "state_key" in event
