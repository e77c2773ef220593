"""A scheduled DM prepared before its due instant: the DM room opened and its prompt kept first."""

from __future__ import annotations

from pathlib import Path

from storage import groups as group_queries
from storage import sent as sent_queries
from tests.matrix.harness import (
    Member,
    in_reply_to,
    new_bot_account,
    prompt_for,
    running_bot,
    sent_by,
)
from tests.matrix.test_direct_and_membership import _invited_room
from tests.services.synapse import SynapseServer


async def test_a_dm_prepared_ahead_has_its_room_and_prompt_before_the_send_and_is_answered(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bob = await Member.register(synapse_server, "Bob")
    try:
        async with running_bot(synapse_server, account) as app:
            room = await bob.room_with_bot(account.user_id)
            await bob.reply_to(await bob.send(room, '!pledge new "Knock on 10 doors" per week'))
            member = await group_queries.find_member("matrix", bob.user_id)
            assert member is not None
            group, prompt = await prompt_for(app, room, [(member.id, bob)], ("done", "snooze"))
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
            await bob.react(dm, sent, "✅")
            answer = await bob.wait_for(
                lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == sent
            )
            assert "1/1" in answer.content["body"]
    finally:
        await bob.close()
