"""Draws the Discord screenshots in this folder.

Run: PYTHONPATH=. .venv/bin/python docs/images/discord_samples.py

The bot runs as in `logoff run` against the local Discord peer (tests/discord_peer); a reminder
and the pledge board go out as cards, and the payloads the peer recorded are drawn to PNG
(tests/discord_peer/draw.py) as a member in New York would see them: timestamps in their zone.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.discord import client as discord_client
from bot.clock import VirtualClock
from bot.messages.notices import REMIND, Notice, render
from bot.rules import pledge_periods as tracking
from tests.discord.harness import start_bot
from tests.discord_peer import DiscordPeer
from tests.discord_peer.draw import Viewer, draw_message

HERE = Path(__file__).parent
START = datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
TITLES = (("Attend one local meeting", "thu 18:00"), ("Knock on 10 doors", "sat 10:00"))


async def main() -> None:
    discord_client.GUILD_READY_TIMEOUT = 0.05
    clock = VirtualClock(START)
    async with DiscordPeer() as peer:
        with tempfile.TemporaryDirectory() as tmp:
            async with start_bot(peer, Path(tmp) / "data", clock) as bot:
                for title, slot in TITLES:
                    await bot.slash(peer.member, "pledge new", title=title, remind=slot)
                await bot.slash(peer.admin, "pledge join", pledge="1")
                group = await bot.group()
                now = clock.now()
                notices = [
                    Notice(REMIND, m, p, tracking.current_period(p, group, now), dm=False)
                    for p in await bot.pledges()
                    for m in (await bot.member(peer.member), await bot.member(peer.admin))
                    if p.number == 1 or m.external_id == str(peer.member.id)
                ]
                message_id = await bot.outbox.send_to_group(group, render(REMIND, notices, False))
                board = await bot.slash(peer.member, "pledge list")
        viewer = Viewer(
            ZoneInfo("America/New_York"), now, {u.id: u.username for u in peer.users.values()}
        )
        card = peer.message_by_id[int(message_id)]
        assert board.message is not None
        (HERE / "discord-reminder-card.png").write_bytes(draw_message(card.payload, viewer))
        (HERE / "discord-board-card.png").write_bytes(draw_message(board.message.payload, viewer))


if __name__ == "__main__":
    asyncio.run(main())
