"""A tap on a closed week's reminder says which week it was and offers this week in one tap."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import VirtualClock
from tests.discord.harness import start_bot
from tests.discord_peer import DiscordPeer
from tests.discord_peer.state import walk_components

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


async def test_a_tap_on_last_weeks_reminder_names_that_week_and_offers_this_one(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        await bot.slash(peer.member, "pledge new", title="Call a neighbour", remind="thu 18:00")
        await bot.app.scheduler.advance_to(clock, datetime(2026, 12, 3, 18, 5, tzinfo=BERLIN))
        reminder = await peer.wait_for_message(
            peer.channel, lambda m: peer.member.id in m.pinged_user_ids, timeout=5
        )
        done = next(cid for cid in reminder.custom_ids if ":done:" in cid)
        # The week of 30 Nov closes on Monday 7 Dec at 12:00 (12 hours' grace).
        await bot.app.scheduler.advance_to(clock, datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN))
        late = await (await peer.click(peer.member, reminder, done)).wait_reply(timeout=5)
        text = late.content or ""
        assert late.ephemeral
        assert "That question was about the week of Mon 30 Nov 2026" in text, text
        # Discord shows the close in each reader's own zone: 12:00 Berlin on Monday 7 Dec.
        closed_at = int(datetime(2026, 12, 7, 12, 0, tzinfo=BERLIN).timestamp())
        assert f"closed <t:{closed_at}:f>" in text, text
        assert "For this week (week of Mon 7 Dec 2026):" in text, text
        ids = [c["custom_id"] for c in walk_components(late.components) if "custom_id" in c]
        (offered,) = [c for c in ids if ":done:" in c]
        assert "week:2026-12-07" in offered
        assert late.message is not None
        kept = await (await peer.click(peer.member, late.message, offered)).wait_reply(timeout=5)
        assert "✅" in (kept.content or "")
        assert "week of Mon 7 Dec 2026" in (kept.content or "")
