"""A Discord command killed after its writes, before their commit, keeps nothing: once after."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.discord_peer import DiscordPeer
from tests.soak.discord_harness import DiscordSoak

TITLE = "Call a neighbour"


async def pledges_titled(soak: DiscordSoak) -> int:
    """How many pledges the database holds with TITLE, read by a fresh connection."""
    from storage import database
    from storage import models as m

    await database.open_database(soak.url)
    try:
        return await m.Pledge.filter(title=TITLE).count()
    finally:
        await database.close_database()


async def killed_then_once(tmp_path: Path, url: str) -> None:
    async with DiscordPeer(patch=False) as peer:
        soak = DiscordSoak(tmp_path / "dcrash", peer, url)
        soak.channels = [peer.channel]
        bot = soak.add_bot()
        soak.migrate()
        bot.env["LOGOFF_CRASH_POINTS"] = "handled:1"
        try:
            bot.start(peer.port)
            await soak.wait_live(bot)
            await soak.wait_commands()
            await soak.ask("pledge new", {"title": TITLE, "per": "week"}, peer.channel)
            for _ in range(600):  # the crash point kills it once the command has written
                if not bot.alive():
                    break
                await asyncio.sleep(0.05)
            assert not bot.alive(), bot.log_text()[-3000:]
            assert await pledges_titled(soak) == 0, "a killed command left its pledge behind"

            bot.env.pop("LOGOFF_CRASH_POINTS")
            bot.start(peer.port)
            await soak.wait_live(bot)
            again = await soak.ask("pledge new", {"title": TITLE, "per": "week"}, peer.channel)
            reply = await again.wait_reply(timeout=30)
            assert TITLE in (reply.content or ""), reply.content
            assert await pledges_titled(soak) == 1
        finally:
            await soak.stop_all()


async def test_a_killed_command_keeps_nothing_and_the_next_tap_runs_once_on_sqlite(
    tmp_path: Path,
) -> None:
    await killed_then_once(tmp_path, f"sqlite://{tmp_path}/dcrash/logoff.db")


async def test_a_killed_command_keeps_nothing_and_the_next_tap_runs_once_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    await killed_then_once(tmp_path, postgres_url)
