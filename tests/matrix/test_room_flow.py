"""A room on a real Synapse: invite, commands, a prompt answered by reaction, admin rights."""

from __future__ import annotations

from pathlib import Path

from storage import groups as group_queries
from tests.matrix.harness import (
    Member,
    Seen,
    in_reply_to,
    new_bot_account,
    prompt_for,
    running_bot,
    sent_by,
)
from tests.services.synapse import SynapseServer

PLEDGE = '!pledge new "Attend one local meeting" per week'


def notice(seen: Seen) -> bool:
    return seen.content.get("msgtype") == "m.notice"


async def test_a_room_uses_the_bot_from_invite_to_one_tap_answers(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    bob = await Member.register(synapse_server, "Bob")
    carol = await Member.register(synapse_server, "Carol")
    bot_id = account.user_id
    try:
        async with running_bot(synapse_server, account) as app:
            room = await alice.create_room(invite=(bot_id, bob.user_id, carol.user_id))
            hello = await alice.wait_for(lambda s: sent_by(bot_id)(s) and s.room_id == room)
            assert hello.content["msgtype"] == "m.notice"
            assert "!help" in hello.content["body"]
            await bob.join(room)
            await carol.join(room)

            # A command gets a quiet, formatted reply to the command event.
            command = await alice.send(room, PLEDGE)
            created = await alice.reply_to(command)
            assert created.source["sender"] == bot_id
            assert notice(created)
            assert "Attend one local meeting" in created.content["body"]
            assert created.content["format"] == "org.matrix.custom.html"
            assert "Attend one local meeting" in created.content["formatted_body"]
            assert created.content["m.mentions"] == {}

            joined = await bob.reply_to(await bob.send(room, "!pledge join 1"))
            assert "joined" in joined.content["body"]

            # A prompt from the scheduler's side: m.text, pills, exact mentions, seeded answers.
            alice_rec = await group_queries.find_member("matrix", alice.user_id)
            bob_rec = await group_queries.find_member("matrix", bob.user_id)
            assert alice_rec is not None
            assert bob_rec is not None
            group, reply = await prompt_for(
                app,
                room,
                [(alice_rec.id, alice), (bob_rec.id, bob)],
                ("done", "not", "skip", "snooze"),
            )
            prompt_id = await app.outbox.send_to_group(group, reply)
            prompt = await bob.wait_for(lambda s: s.event_id == prompt_id)
            assert prompt.content["msgtype"] == "m.text"
            assert prompt.content["m.mentions"] == {"user_ids": [alice.user_id, bob.user_id]}
            assert f'href="https://matrix.to/#/{bob.user_id}"' in prompt.content["formatted_body"]
            assert "@room" not in prompt.content["body"]
            seeded = await bob.wait_for(
                lambda s: (
                    s.source.get("type") == "m.reaction"
                    and s.content["m.relates_to"]["key"] == "💤"
                    and s.content["m.relates_to"]["event_id"] == prompt_id
                )
            )
            assert seeded.source["sender"] == bot_id

            # A reminder (done / snooze only) is seeded with just those two answers.
            _, nudge = await prompt_for(app, room, [(bob_rec.id, bob)], ("done", "snooze"))
            nudge_id = await app.outbox.send_to_group(group, nudge)
            await bob.wait_for(lambda s: s.event_id == nudge_id)

            # Carol takes no part: her ✅ changes nothing and gets no reply.
            mark = len(bob.seen)
            await carol.react(room, prompt_id, "✅")
            bob_tap = await bob.react(room, prompt_id, "✅")
            answer = await bob.wait_for(
                lambda s: sent_by(bot_id)(s) and in_reply_to(s) == prompt_id, after=mark
            )
            assert "1/1" in answer.content["body"]
            assert notice(answer)
            replies_to_prompt = [
                s for s in bob.seen[mark:] if sent_by(bot_id)(s) and in_reply_to(s) == prompt_id
            ]
            assert len(replies_to_prompt) == 1

            listed = await bob.reply_to(await bob.send(room, "!pledge list"))
            assert "Bob ✅" in listed.content["body"]
            assert "Carol" not in listed.content["body"]

            # Taking the reaction back undoes the check-in.
            mark = len(bob.seen)
            await bob.redact(room, bob_tap)
            await bob.wait_for(
                lambda s: sent_by(bot_id)(s) and "Took that back" in s.content["body"], after=mark
            )
            listed = await bob.reply_to(await bob.send(room, "!pledge list"))
            assert "Bob 0/1" in listed.content["body"]

            streak = await bob.reply_to(await bob.send(room, "!streak"))
            assert "streak" in streak.content["body"].lower()
            summary = await bob.reply_to(await bob.send(room, "!summary"))
            assert "This week" in summary.content["body"]

            # Admin rights: power level 0 is refused; the v12 room's creator is accepted.
            refused = await bob.reply_to(await bob.send(room, "!settings timezone Europe/Berlin"))
            assert "Only group admins" in refused.content["body"]
            accepted = await alice.reply_to(
                await alice.send(room, "!settings timezone Europe/Berlin")
            )
            assert "Europe/Berlin" in accepted.content["body"]
            assert "Only group admins" not in accepted.content["body"]

            malformed = await alice.reply_to(await alice.send(room, "!pledge new"))
            assert "Usage: !pledge new" in malformed.content["body"]
            unknown = await alice.reply_to(await alice.send(room, "!pledgee"))
            assert unknown.content["body"]

            # Ordinary chat is left alone.
            mark = len(alice.seen)
            await alice.send(room, "see you at the meeting")
            ping = await alice.reply_to(await alice.send(room, "!help"), after=mark)
            bot_lines = [s for s in alice.seen[mark:] if sent_by(bot_id)(s)]
            assert bot_lines == [ping]
    finally:
        for member in (alice, bob, carol):
            await member.close()
