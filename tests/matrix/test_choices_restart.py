"""Numbered-choice reactions are kept in the database: answered after a SIGKILL and restart."""

from __future__ import annotations

from pathlib import Path

from storage import groups as group_queries
from tests.matrix.harness import (
    BotProcess,
    Member,
    in_reply_to,
    new_bot_account,
    prompt_for,
    running_bot,
    sent_by,
)
from tests.services.synapse import SynapseServer


def choices_line(body: str) -> bool:
    return "react to choose" in body


async def seeded(member: Member, bot_id: str, event_id: str) -> None:
    """Until the bot's own 1️⃣ is on the message: it adds the keys after keeping the offer."""
    await member.wait_for(
        lambda s: (
            s.source.get("type") == "m.reaction"
            and s.source.get("sender") == bot_id
            and s.content["m.relates_to"]["event_id"] == event_id
            and s.content["m.relates_to"]["key"] == "1️⃣"
        )
    )


async def test_a_forget_confirmation_asked_before_a_sigkill_is_answered_after_the_restart(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bot = BotProcess(synapse_server, account)
    alice = await Member.register(synapse_server, "Alice")
    try:
        bot.start()
        await bot.wait_ready(1)
        room = await alice.room_with_bot(account.user_id)
        asked = await alice.reply_to(await alice.send(room, "!forget"))
        assert "1️⃣ Yes, delete · 2️⃣ Cancel" in asked.content["body"]
        await seeded(alice, account.user_id, asked.event_id)

        bot.kill()  # nothing in memory survives, nothing is flushed
        bot.start()
        await bot.wait_ready(2)
        await alice.react(room, asked.event_id, "2️⃣")
        answer = await alice.wait_for(
            lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == asked.event_id
        )
        assert "Cancelled: nothing was deleted." in answer.content["body"]
    finally:
        bot.stop()
        await alice.close()


async def test_a_snooze_length_asked_before_a_sigkill_is_answered_after_the_restart(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    bot = BotProcess(synapse_server, account)
    try:
        # The prompt is posted as the scheduler posts it, by the bot in this process ...
        async with running_bot(synapse_server, account) as app:
            room = await alice.room_with_bot(account.user_id)
            await alice.reply_to(await alice.send(room, '!pledge new "Call a neighbour" per week'))
            member = await group_queries.find_member("matrix", alice.user_id)
            assert member is not None
            group, reply = await prompt_for(app, room, [(member.id, alice)], ("done", "snooze"))
            prompt_id = await app.outbox.send_to_group(group, reply)
            await alice.wait_for(lambda s: s.event_id == prompt_id)

        # ... then `logoff run` (with its scheduler) on the same data directory takes over.
        bot.start()
        await bot.wait_ready(1)
        await alice.react(room, prompt_id, "💤")
        lengths = await alice.wait_for(
            lambda s: (
                sent_by(account.user_id)(s)
                and in_reply_to(s) == prompt_id
                and choices_line(s.content["body"])
            )
        )
        assert "1️⃣ 1 hour" in lengths.content["body"]
        await seeded(alice, account.user_id, lengths.event_id)

        bot.kill()
        bot.start()
        await bot.wait_ready(2)
        await alice.react(room, lengths.event_id, "1️⃣")
        answer = await alice.wait_for(
            lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == lengths.event_id
        )
        assert "I'll ask you again about" in answer.content["body"]
    finally:
        bot.stop()
        await alice.close()
