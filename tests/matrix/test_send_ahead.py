"""A scheduled DM prepared before its due instant: the DM room opened and its prompt kept first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.matrix import adapter as matrix_adapter
from adapters.matrix import render
from bot.app.bootstrap import App
from bot.messages.replies import Reply
from storage import groups as group_queries
from storage import sent as sent_queries
from storage.records import GroupRec, MemberRec
from tests.matrix.harness import (
    BotAccount,
    Member,
    Seen,
    in_reply_to,
    new_bot_account,
    prompt_for,
    running_bot,
    sent_by,
)
from tests.matrix.test_direct_and_membership import _invited_room
from tests.services.synapse import SynapseServer


async def pledged(
    app: App, bob: Member, account: BotAccount
) -> tuple[str, MemberRec, GroupRec, Reply]:
    """Bob's room with the bot, where he made a pledge; a prompt (done, snooze) for him."""
    room = await bob.room_with_bot(account.user_id)
    await bob.reply_to(await bob.send(room, '!pledge new "Knock on 10 doors" per week'))
    member = await group_queries.find_member("matrix", bob.user_id)
    assert member is not None
    group, prompt = await prompt_for(app, room, [(member.id, bob)], ("done", "snooze"))
    return room, member, group, prompt


def bot_reaction(account: BotAccount, event_id: str) -> Callable[[Seen], bool]:
    return lambda s: (
        s.source.get("type") == "m.reaction"
        and s.source.get("sender") == account.user_id
        and s.content["m.relates_to"]["event_id"] == event_id
    )


async def done_by_reaction(bob: Member, account: BotAccount, room: str, prompt: str) -> None:
    """Bob taps ✅ on the prompt; the bot's answer to it counts him in."""
    await bob.react(room, prompt, "✅")
    answer = await bob.wait_for(lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == prompt)
    assert "1/1" in answer.content["body"]


async def test_a_dm_prepared_ahead_has_its_room_and_prompt_before_the_send_and_is_answered(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bob = await Member.register(synapse_server, "Bob")
    try:
        async with running_bot(synapse_server, account) as app:
            room, member, group, prompt = await pledged(app, bob, account)
            key = "send:test:ahead"
            prompt = prompt.with_extra(idempotency_key=key)

            await app.outbox.prepare_send(group, member, prompt)  # type: ignore[attr-defined]
            # Before the send: the DM room exists (Bob is invited) and the prompt's meaning is kept.
            dm = await _invited_room(bob)
            assert dm != room
            assert await sent_queries.find_sent("matrix", sent_queries.pending_id(key)) is not None
            await bob.join(dm)

            sent = await app.outbox.send_to_member(member, prompt, group)
            seen = await bob.wait_for(lambda s: s.event_id == sent)
            assert seen.room_id == dm
            assert "Knock on 10 doors" in seen.content["body"]
            # The one-tap reactions, seeded after the send without holding it up, reach Bob.
            for key in render.prompt_keys(prompt):
                await bob.wait_for(
                    lambda s, key=key: (
                        bot_reaction(account, sent)(s) and s.content["m.relates_to"]["key"] == key
                    )
                )
            await done_by_reaction(bob, account, dm, sent)
    finally:
        await bob.close()


async def test_after_a_restart_a_dm_to_a_room_opened_before_is_prepared_without_waiting(
    synapse_server: SynapseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A restarted process does not have the DM room in nio's rooms until something happens
    # in it; waiting for a sync to show it (as for a room just opened) held every scheduled DM
    # after a restart by DM_SETTLE (2 s each, benchmarks/README.md 2026-12-03 late morning).
    # With the settle wait made endless here, only a prepare that does not wait finishes.
    monkeypatch.setattr(matrix_adapter, "DM_SETTLE", 3600.0)
    account = new_bot_account(synapse_server, tmp_path)
    bob = await Member.register(synapse_server, "Bob")
    try:
        async with running_bot(synapse_server, account) as app:
            _, member, group, prompt = await pledged(app, bob, account)
            first = await app.outbox.send_to_member(  # opens the DM room
                member, prompt.with_extra(idempotency_key="send:test:first"), group
            )
            dm = await _invited_room(bob)
            await bob.join(dm)
            await bob.wait_for(lambda s: s.event_id == first)
        async with running_bot(synapse_server, account) as app:
            member = await group_queries.find_member("matrix", bob.user_id)
            assert member is not None
            prompt = prompt.with_extra(idempotency_key="send:test:after-restart")
            await asyncio.wait_for(
                app.outbox.prepare_send(group, member, prompt),  # type: ignore[attr-defined]
                timeout=30,
            )
            sent = await app.outbox.send_to_member(member, prompt, group)
            seen = await bob.wait_for(lambda s: s.event_id == sent)
            assert seen.room_id == dm  # the same DM room, none opened again
    finally:
        await bob.close()
