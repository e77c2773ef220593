"""Through the real scheduler: a reminder with buttons and the weekly summary reach the channel."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import VirtualClock
from tests.discord.harness import RunningBot, start_bot
from tests.discord_peer import DiscordPeer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


async def test_a_scheduled_reminder_and_the_weekly_summary_reach_the_channel(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        jobs = bot.app.scheduler
        await bot.slash(peer.member, "pledge new", title="Call a neighbour", remind="thu 18:00")
        await jobs.advance_to(clock, datetime(2026, 12, 3, 18, 5, tzinfo=BERLIN))
        reminder = await peer.wait_for_message(
            peer.channel, lambda m: peer.member.id in m.pinged_user_ids, timeout=5
        )
        assert "Call a neighbour" in reminder.text
        assert not reminder.pings_everyone
        # a ✅ reaction on the reminder answers it like the Done button ...
        await peer.react(peer.member, reminder, "✅")
        board = await _board_when(bot, peer, "member ✅")
        assert "member ✅" in board
        # ... so the button then finds the week already kept
        done = next(cid for cid in reminder.custom_ids if ":done:" in cid)
        tap = await (await peer.click(peer.member, reminder, done)).wait_reply(timeout=5)
        assert "already kept" in (tap.content or "")
        after = peer.last_message_id()
        await jobs.advance_to(clock, clock.now() + timedelta(days=6))
        summary = await peer.wait_for_message(
            peer.channel, lambda m: "Kept" in m.content or "kept" in m.content, after=after
        )
        assert "Call a neighbour" in summary.content
        assert not summary.pings_everyone


async def _board_when(bot: RunningBot, peer: DiscordPeer, text: str) -> str:
    """`/pledge list` until it shows `text` (a reaction is handled asynchronously)."""
    content = ""
    for _ in range(50):
        content = (await bot.slash(peer.member, "pledge list")).content or ""
        if text in content:
            break
        await asyncio.sleep(0.05)
    return content
