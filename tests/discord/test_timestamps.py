"""Discord shows every marked instant as a native timestamp, in each reader's own zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from adapters.discord.render import render
from bot.messages.instants import mark
from bot.messages.replies import Reply
from bot.rules.slots import next_occurrence, parse_slot
from tests.discord.harness import RunningBot
from tests.discord_peer import DiscordPeer

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 12, 17, 0, tzinfo=UTC)
UNIX = int(START.timestamp())


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("f", f"<t:{UNIX}:f>"),
        ("t", f"<t:{UNIX}:t>"),
        ("d", f"<t:{UNIX}:D>"),
        ("on", f"<t:{UNIX}:f> (<t:{UNIX}:R>)"),
    ],
)
def test_discord_shows_every_reader_their_own_time(style: str, expected: str) -> None:
    reply = Reply(text=f"starts {mark(START, BERLIN, style, ref=START, named=True)}")
    assert render(reply).chunks == [f"starts {expected}"]


async def test_reminder_slots_on_the_board_and_in_replies_are_discord_timestamps(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    created = await bot.slash(
        peer.member, "pledge new", title="Call a neighbour", remind="thu 18:00"
    )
    now = bot.app.clock.now()
    thursday = int(next_occurrence(parse_slot("thu 18:00"), now, BERLIN).timestamp())
    assert f"Reminder: <t:{thursday}:F>." in (created.content or "")
    board = await bot.slash(peer.member, "pledge list")
    assert f"reminder <t:{thursday}:F>" in (board.content or "")
    mine = await bot.slash(peer.member, "remind", pledge="1", slot="fri 19:00")
    friday = int(next_occurrence(parse_slot("fri 19:00"), now, BERLIN).timestamp())
    assert f"Next one: <t:{friday}:f> (<t:{friday}:R>)." in (mine.content or "")
    assert "\ue001" not in (mine.content or "") + (board.content or "")
