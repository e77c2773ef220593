"""A ✅ on a closed week's prompt on a real Synapse: which week it was, and this week offered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import VirtualClock
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

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_a_reaction_on_a_closed_weeks_prompt_names_it_and_offers_this_week(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bob = await Member.register(synapse_server, "Bob")
    bot_id = account.user_id
    clock = VirtualClock(MONDAY)
    try:
        async with running_bot(synapse_server, account, clock=clock) as app:
            room = await bob.room_with_bot(bot_id)
            await bob.reply_to(await bob.send(room, '!pledge new "Call a neighbour" per week'))
            bob_rec = await group_queries.find_member("matrix", bob.user_id)
            assert bob_rec is not None
            group, reply = await prompt_for(app, room, [(bob_rec.id, bob)], ("done", "snooze"))
            prompt_id = await app.outbox.send_to_group(group, reply)
            await bob.wait_for(lambda s: s.event_id == prompt_id)

            clock.set(MONDAY + timedelta(days=8))  # that week closed on Monday at 12:00
            mark = len(bob.seen)
            await bob.react(room, prompt_id, "✅")
            late = await bob.wait_for(
                lambda s: sent_by(bot_id)(s) and in_reply_to(s) == prompt_id, after=mark
            )
            body = late.content["body"]
            assert "That question was about the week of Mon 30 Nov 2026" in body, body
            assert "closed on Mon 7 Dec at 12:00" in body, body
            assert "For this week (week of Mon 7 Dec 2026):" in body, body

            # The answer offers this week as a one-tap ✅ of its own.
            mark = len(bob.seen)
            await bob.react(room, late.event_id, "✅")
            kept = await bob.wait_for(
                lambda s: sent_by(bot_id)(s) and in_reply_to(s) == late.event_id, after=mark
            )
            assert "✅" in kept.content["body"]
            assert "week of Mon 7 Dec 2026" in kept.content["body"]
    finally:
        await bob.close()
