"""A group's ICS feed through the real HTTP listener: its secret address answers, others 404."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import aiohttp
from ical.calendar_stream import IcsCalendarStream

from bot.actors import Actor, Place
from bot.clock import VirtualClock
from tests.conftest import START
from tests.health.support import console_bot


async def test_the_feed_address_event_feed_prints_serves_the_groups_events(tmp_path: Path):
    clock = VirtualClock(START)
    async with console_bot(tmp_path, clock) as (app, port):
        you, place = (
            Actor("console", "you", "you", is_admin=True),
            Place("console", "feeds", "feeds"),
        )

        async def say(text: str) -> str:
            reply = await app.engine.handle_text(you, place, text, f"t-{text}-{clock.now()}")
            assert reply is not None
            return reply.text

        day = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%d")
        await say(f'!event new "Assembly" {day} 10:00')
        shown = await say("!event feed reset")
        found = re.search(rf"http://127\.0\.0\.1:{port}/events/[A-Za-z0-9_-]+\.ics", shown)
        assert found, shown
        async with aiohttp.ClientSession() as http:
            async with http.get(found.group(0)) as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/calendar")
                body = await response.text()
            async with http.get(f"http://127.0.0.1:{port}/events/{'x' * 20}.ics") as wrong:
                assert wrong.status == 404
        parsed = IcsCalendarStream.calendar_from_ics(body)
        assert [e.summary for e in parsed.events] == ["Assembly"]
