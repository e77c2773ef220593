"""The same core flow in an end-to-end encrypted room (matrix-nio's e2e extra, vodozemac)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import VirtualClock
from storage import groups as group_queries
from tests.matrix.harness import (
    Member,
    assert_png_matches_info,
    image_from,
    in_reply_to,
    new_bot_account,
    prompt_for,
    running_bot,
    sent_by,
)
from tests.matrix.test_pictures import MONDAY, NEXT_SUMMARY
from tests.services.synapse import SynapseServer

pytest.importorskip("vodozemac", reason="encrypted rooms need the e2e extra")


async def test_an_encrypted_room_gets_replies_prompts_answers_and_an_encrypted_picture(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice", store=tmp_path / "alice-store")
    clock = VirtualClock(MONDAY)
    try:
        async with running_bot(synapse_server, account, encryption=True, clock=clock) as app:
            room = await alice.create_room(encrypted=True, invite=(account.user_id,))
            hello = await alice.wait_for(
                lambda s: sent_by(account.user_id)(s) and s.room_id == room
            )
            assert "!help" in hello.content["body"]
            assert hello.source.get("type") == "m.room.message"  # decrypted for alice

            command = await alice.send(room, '!pledge new "Attend one local meeting" per week')
            created = await alice.reply_to(command)
            assert created.content["msgtype"] == "m.notice"
            assert created.event.decrypted
            assert "Attend one local meeting" in created.content["formatted_body"]
            assert account.user_id not in str(created.content.get("m.mentions"))

            member = await group_queries.find_member("matrix", alice.user_id)
            assert member is not None
            group, reply = await prompt_for(
                app, room, [(member.id, alice)], ("done", "not", "skip", "snooze")
            )
            prompt_id = await app.outbox.send_to_group(group, reply)
            prompt = await alice.wait_for(lambda s: s.event_id == prompt_id)
            assert prompt.content["msgtype"] == "m.text"
            assert prompt.event.decrypted
            assert prompt.content["m.mentions"] == {"user_ids": [alice.user_id]}

            await alice.react(room, prompt_id, "✅")
            answer = await alice.wait_for(
                lambda s: sent_by(account.user_id)(s) and in_reply_to(s) == prompt_id
            )
            assert "1/1" in answer.content["body"]
            listed = await alice.reply_to(await alice.send(room, "!pledge list"))
            assert "✅" in listed.content["body"]
            assert (account.data_dir / "matrix" / "crypto").is_dir()

            # The weekly summary's picture: uploaded encrypted, sent as `file` (no `url`).
            mark = len(alice.seen)
            await app.scheduler.advance_to(clock, NEXT_SUMMARY)
            image = await alice.wait_for(image_from(account.user_id), after=mark)
            assert image.event.decrypted
            assert "url" not in image.content
            encrypted = image.content["file"]
            assert encrypted["v"] == "v2"
            assert encrypted["key"]["alg"] == "A256CTR"
            assert set(encrypted) >= {"url", "key", "iv", "hashes"}
            png = await alice.picture(image)  # downloaded, checked against its sha256, decrypted
            assert_png_matches_info(png, image.content["info"])
    finally:
        await alice.close()
