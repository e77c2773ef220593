"""Scheduled Matrix sends are idempotent: txn ids from the job key, and the key found again."""

from __future__ import annotations

from pathlib import Path

from bot.messages.replies import Reply, Visibility
from tests.matrix.harness import Member, new_bot_account, room_with_pledge, running_bot
from tests.services.synapse import SynapseServer


async def test_a_message_sent_with_a_key_is_found_by_it_and_a_resend_posts_nothing(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account) as app:
            _, group = await room_with_pledge(alice, account.user_id)
            key = f"send:g{group.id}:soak:1"
            reminder = Reply(
                "Time to call a neighbour", Visibility.PUBLIC, extra={"idempotency_key": key}
            )
            assert await app.outbox.find_sent(key, group, None) is None
            first = await app.outbox.send_to_group(group, reminder)
            # The same key again on the same device: Synapse returns the first event.
            again = await app.outbox.send_to_group(group, reminder)
            assert again == first
            assert await app.outbox.find_sent(key, group, None) == first
            await alice.sync(300)
            copies = [s for s in alice.seen if s.content.get("org.logoff.key") == key]
            assert [c.event_id for c in copies] == [first]
    finally:
        await alice.close()
