"""The weekly summary's picture through a real Synapse: an `m.image` whose `info` is the PNG."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import VirtualClock
from tests.matrix.harness import (
    Member,
    assert_png_matches_info,
    image_from,
    new_bot_account,
    running_bot,
    sent_by,
)
from tests.services.synapse import SynapseServer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
NEXT_SUMMARY = datetime(2026, 12, 7, 18, 5, tzinfo=BERLIN)  # after the close and its grace


async def test_the_weekly_summary_brings_a_picture_whose_info_matches_the_png(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    clock = VirtualClock(MONDAY)
    try:
        async with running_bot(synapse_server, account, clock=clock) as app:
            room = await alice.room_with_bot(account.user_id)
            await alice.reply_to(await alice.send(room, '!pledge new "Call a neighbour" per week'))
            await alice.reply_to(await alice.send(room, "!done call"))
            mark = len(alice.seen)
            await app.scheduler.advance_to(clock, NEXT_SUMMARY)
            image = await alice.wait_for(image_from(account.user_id), after=mark)
            summary = await alice.wait_for(
                lambda s: sent_by(account.user_id)(s) and "Call a neighbour" in s.content["body"],
                after=mark,
            )
            assert summary.content["msgtype"] == "m.notice"
            assert image.room_id == room
            assert "url" in image.content
            assert "file" not in image.content  # a plain room: no encryption keys to carry
            assert_png_matches_info(await alice.picture(image), image.content["info"])
            assert image.content["body"]  # the alt text, for readers who cannot see it
            assert image.content["body"] != image.content["filename"]
    finally:
        await alice.close()
