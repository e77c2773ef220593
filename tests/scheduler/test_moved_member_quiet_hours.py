"""A member who moves after their channel ping was planned is not pinged in their new night.

Found by the model (hypothesis seed 122421938422712693022440338190773545309): cy, in Tokyo,
had her part of a month's question held to 08:00 Berlin; she moved to New York during the
night, and the held message pinged her at 02:00 on her new clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.session import ConsoleSession, open_session

BERLIN = ZoneInfo("Europe/Berlin")
# The bot's virtual clock starts here, the Friday before October's last day; nothing below
# reads the real clock.
START = datetime(2026, 10, 30, 12, 0, tzinfo=BERLIN)
MOVED = datetime(2026, 11, 1, 0, 1, tzinfo=UTC)  # 01:01 in Berlin, 20:01 EDT in New York


@pytest.fixture
async def group() -> AsyncIterator[ConsoleSession]:
    """A monthly pledge; cy lives in Tokyo, ana on the group's clock."""
    async with open_session("sqlite://:memory:", START, "Europe/Berlin") as s:
        await s.say('!pledge new "Tidy" per month')
        await s.say("@cy !me timezone Asia/Tokyo")
        await s.say("@cy !pledge join 1")
        await s.say("@ana !pledge join 1")
        yield s


async def move_to_new_york(s: ConsoleSession) -> str:
    """Until cy moves: the month's question at 18:00 Berlin names ana, not cy (02:00 in
    Tokyo); cy's part is held for her morning, which the group's quiet hours push to 08:00."""
    before = await s.wait(MOVED - s.clock.now())
    assert "[Sat 31 Oct 18:00] #console:" in before, before
    assert "How did it go? (October 2026)" in before, before
    assert "@ana" in before, before
    assert "@cy" not in before, before
    await s.say("@cy !me timezone America/New_York")
    return before


async def test_the_held_ping_waits_for_her_morning_in_the_new_zone(group: ConsoleSession):
    s = group
    await s.say("!settings grace-hours 24")  # October takes answers until 2 Nov 00:00
    await move_to_new_york(s)
    after = await s.wait(timedelta(hours=14))
    assert "[Sun 01 Nov 08:00]" not in after, after  # 02:00 EST on her new clock
    # 08:00 EST (US clocks went back at 06:00 UTC) is 14:00 in Berlin.
    assert "[Sun 01 Nov 14:00] #console:" in after, after
    assert "@cy" in after, after


async def test_a_held_ping_her_new_morning_would_bring_after_the_close_is_not_sent(
    group: ConsoleSession,
):
    s = group
    await move_to_new_york(s)  # October closes at 12:00 Berlin, 06:00 EST
    after = await s.wait(timedelta(hours=14))
    assert "@cy" not in after, after
