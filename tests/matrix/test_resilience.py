"""Restarts of the bot and of the homeserver: nothing replayed, nothing lost."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from bot.errors import DeliveryError
from bot.messages.replies import Reply, Visibility
from tests.matrix.harness import (
    WAIT,
    BotProcess,
    Member,
    in_reply_to,
    new_bot_account,
    room_with_pledge,
    running_bot,
    sent_by,
)
from tests.services.synapse import SynapseServer


async def test_a_restarted_bot_answers_new_commands_once_and_old_ones_never(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bot = BotProcess(synapse_server, account)
    alice = await Member.register(synapse_server, "Alice")
    try:
        bot.start()
        await bot.wait_ready(1)
        room = await alice.room_with_bot(account.user_id)
        before = await alice.send(room, '!pledge new "Knock on 10 doors" per week')
        await alice.reply_to(before)

        bot.stop()
        # Sent while the bot is down: must be answered after the restart, exactly once.
        during = await alice.send(room, "!pledge list")
        bot.start()
        await bot.wait_ready(2)
        listed = await alice.reply_to(during)
        assert "Knock on 10 doors" in listed.content["body"]
        after = await alice.send(room, "!streak")
        await alice.reply_to(after)

        await alice.sync(300)
        answers = [s for s in alice.seen if sent_by(account.user_id)(s)]
        targets = [in_reply_to(s) for s in answers]
        assert targets.count(before) == 1
        assert targets.count(during) == 1
        assert targets.count(after) == 1
        greetings = [s for s in answers if in_reply_to(s) is None]
        assert len(greetings) == 1
        log = bot.log.read_text()
        assert log.count("logged in to") == 1  # the second start reused the saved session
        session = account.data_dir / "matrix" / "session.json"
        assert session.stat().st_mode & 0o777 == 0o600
    finally:
        bot.stop()
        await alice.close()


async def _deliver(send, attempts: float = WAIT) -> str:  # type: ignore[no-untyped-def]
    """What the scheduler does with a due message: retry until the homeserver accepts it."""
    deadline = time.monotonic() + attempts
    while True:
        try:
            return str(await send())
        except DeliveryError as exc:
            if not exc.retryable or time.monotonic() > deadline:
                raise
            await asyncio.sleep(exc.retry_after or 0.3)


async def test_a_message_due_while_the_homeserver_is_down_arrives_once_it_is_back(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account) as app:
            room, group = await room_with_pledge(alice, account.user_id)
            summary = Reply("This week: **Call a neighbour** 1 of 1 kept it", Visibility.PUBLIC)

            synapse_server.stop()
            with pytest.raises(DeliveryError) as refused:
                await app.outbox.send_to_group(group, summary)
            assert refused.value.retryable
            synapse_server.start()
            event_id = await _deliver(lambda: app.outbox.send_to_group(group, summary))

            arrived = await alice.wait_for(lambda s: s.event_id == event_id)
            assert arrived.content["msgtype"] == "m.notice"
            # The sync loop reconnected by itself: commands work again.
            await alice.reply_to(await alice.send(room, "!help"))
            await alice.sync(300)
            copies = [
                s
                for s in alice.seen
                if sent_by(account.user_id)(s) and "1 of 1" in s.content["body"]
            ]
            assert len(copies) == 1
    finally:
        if not synapse_server.running:
            synapse_server.start()
        await alice.close()


async def test_a_bot_killed_with_an_old_sync_token_answers_nothing_twice(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    """The sync token is written when the adapter's own state changed, and otherwise once a
    minute: a command answered writes nothing to session.json, so a hard kill leaves an older
    token and no handled-event ids behind. The replayed commands find their claims answered
    in the database and are not answered again; what arrived while down is answered once."""
    account = new_bot_account(synapse_server, tmp_path)
    bot = BotProcess(synapse_server, account)
    alice = await Member.register(synapse_server, "Alice")
    session = account.data_dir / "matrix" / "session.json"
    try:
        bot.start()
        await bot.wait_ready(1)
        room = await alice.room_with_bot(account.user_id)
        await asyncio.sleep(1.0)  # the DM room's own save, if any, is done
        saved = json.loads(session.read_text())
        old_token = saved["sync_token"]
        first = await alice.send(room, '!pledge new "Knock on 10 doors" per week')
        await alice.reply_to(first)
        answered = await alice.send(room, "!pledge list")
        await alice.reply_to(answered)
        # Neither the commands nor chatter are a write of their own (the file stays as it was).
        for n in range(3):
            await alice.send(room, f"just chatting {n}")
        await asyncio.sleep(1.0)
        assert json.loads(session.read_text()) == saved

        assert bot.process is not None
        bot.process.kill()  # no clean shutdown, no final save
        bot.process.wait(timeout=WAIT)
        bot.process = None
        # As the kill left it: the token from before both commands, neither id saved.
        left = json.loads(session.read_text())
        assert left["sync_token"] == old_token
        assert first not in left["handled"]
        assert answered not in left["handled"]
        during = await alice.send(room, "!streak")
        bot.start()
        await bot.wait_ready(2)
        await alice.reply_to(during)
        after = await alice.send(room, "!help")
        await alice.reply_to(after)
        await alice.sync(300)
        targets = [in_reply_to(s) for s in alice.seen if sent_by(account.user_id)(s)]
        assert targets.count(first) == 1
        assert targets.count(answered) == 1
        assert targets.count(during) == 1
        assert targets.count(after) == 1
    finally:
        bot.stop()
        await alice.close()
