"""A title written as Discord markup reaches Discord as plain text: no masked link, no spoiler."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import VirtualClock
from tests.discord.harness import start_bot
from tests.discord_peer import DiscordPeer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
HOSTILE = "[x](http://evil) ||spoiler|| <@&1> @everyone"


async def test_a_title_written_as_markup_is_shown_as_written_everywhere_on_discord(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        created = await bot.slash(peer.member, "pledge new", title=HOSTILE, remind="thu 18:00")
        listed = await bot.slash(peer.member, "pledge list")
        await bot.app.scheduler.advance_to(clock, datetime(2026, 12, 3, 18, 5, tzinfo=BERLIN))
        reminder = await peer.wait_for_message(
            peer.channel, lambda m: peer.member.id in m.pinged_user_ids, timeout=5
        )
    for text in (created.content or "", listed.content or "", reminder.content):
        assert "\\[x](http://evil)" in text, text  # a masked link needs the bare "["
        assert "\\|\\|spoiler\\|\\|" in text, text
        assert "\\<@&1>" in text, text  # shown as typed, not as a role mention
        assert "@everyone" not in text, text
    assert reminder.allowed_mentions is not None
    assert reminder.allowed_mentions["parse"] == []
    assert reminder.pinged_user_ids == [peer.member.id]
    assert not reminder.pings_everyone
