"""The weekly summary's picture reaches Discord as an upload: a PNG that opens, with alt text."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from bot.clock import VirtualClock
from tests.discord.harness import start_bot
from tests.discord_peer import DiscordPeer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


async def test_the_weekly_summary_arrives_as_multipart_with_a_png_and_its_alt_text(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        await bot.slash(peer.member, "pledge new", title="Call a neighbour")
        await bot.slash(peer.member, "done", pledge="1")
        after = peer.last_message_id()
        await bot.app.scheduler.advance_to(clock, clock.now() + timedelta(days=8))
        summary = await peer.wait_for_message(
            peer.channel, lambda m: bool(m.files), after=after, timeout=10
        )
    assert "Call a neighbour" in summary.content
    upload = next(
        r for r in peer.requests if r.method == "POST" and r.files and r.path.endswith("/messages")
    )
    ((name, data),) = summary.files
    assert upload.files == [name]  # the peer reads uploads only from multipart files[n] parts
    assert name.endswith(".png")
    picture = Image.open(io.BytesIO(data))
    picture.verify()
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "PNG"
    assert picture.width >= 300
    (attachment,) = summary.payload["attachments"]
    assert attachment["filename"] == name
    assert attachment["content_type"] == "image/png"
    description = attachment.get("description", "")
    assert "Call a neighbour" in description
    assert "week" in description
    assert "member" in description or "kept" in description
