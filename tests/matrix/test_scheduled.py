"""Through the real scheduler: a due reminder reaches the room as a ping, and ✅ answers it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import VirtualClock
from tests.matrix.harness import Member, in_reply_to, new_bot_account, running_bot, sent_by
from tests.services.synapse import SynapseServer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


async def test_a_scheduled_reminder_pings_its_member_and_a_reaction_answers_it(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    clock = VirtualClock(MONDAY)
    try:
        async with running_bot(synapse_server, account, clock=clock) as app:
            jobs = app.scheduler
            room = await alice.room_with_bot(account.user_id)
            await alice.reply_to(
                await alice.send(room, '!pledge new "Call a neighbour" per week remind "thu 18:00"')
            )
            mark = len(alice.seen)
            await jobs.advance_to(clock, datetime(2026, 12, 3, 18, 5, tzinfo=BERLIN))
            reminder = await alice.wait_for(
                lambda s: (
                    sent_by(account.user_id)(s)
                    and s.content.get("msgtype") == "m.text"
                    and alice.user_id in (s.content.get("m.mentions") or {}).get("user_ids", [])
                ),
                after=mark,
            )
            assert "Call a neighbour" in reminder.content["body"]
            assert reminder.content["m.mentions"] == {"user_ids": [alice.user_id]}
            await alice.react(room, reminder.event_id, "✅")
            answer = await alice.wait_for(
                lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == reminder.event_id
            )
            assert "1/1" in answer.content["body"]
    finally:
        await alice.close()
