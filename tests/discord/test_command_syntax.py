"""On Discord every text names commands as slash commands: `/pledge join`, never `!pledge join`.

One flow through help, pledges, events and settings on the peer; every string sent is checked.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import VirtualClock
from bot.commands import build_registry
from tests.discord.harness import start_bot
from tests.discord_peer import DiscordPeer

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
# `!` then a command's first word, as the console and Matrix write them.
WORDS = sorted({c.path[0] for c in build_registry().all()}, key=len, reverse=True)
TYPED = re.compile(r"!(?:" + "|".join(WORDS) + r")\b")


def _texts(peer: DiscordPeer) -> list[str]:
    """Every string the bot sent to Discord: message bodies, embeds, interaction answers."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for request in peer.requests:
        walk(request.json)
    return found


async def test_no_text_sent_to_discord_names_a_command_the_way_it_is_typed_elsewhere(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        await bot.slash(peer.admin, "help")
        await bot.slash(peer.member, "pledge list")  # empty: "Start one: …"
        await bot.slash(peer.member, "streak")  # no pledges yet: "… shows what you can join"
        await bot.slash(peer.member, "pledge new", title="Call a neighbour", remind="thu 18:00")
        # Event texts too: the card, its RSVP answer, the list, the show, reminder and ask.
        await bot.slash(
            peer.member,
            "event new",
            title="Tenants' assembly",
            date="2026-12-05",
            time="19:00",
            place="Community hall",
            pledge="1",
        )
        card = await peer.wait_for_message(
            peer.channel,
            lambda m: "Tenants' assembly" in m.content and bool(m.custom_ids),
            source=None,
            timeout=5,
        )
        going = next(cid for cid in card.custom_ids if cid.split(":")[1] == "going")
        await (await peer.click(peer.member, card, going)).wait_reply(timeout=5)
        await bot.slash(peer.member, "event list")
        await bot.slash(peer.member, "event show", event="1")
        await bot.slash(peer.admin, "settings")
        await bot.slash(peer.member, "done", pledge="1", when="last week")  # no last week
        await bot.app.scheduler.advance_to(clock, datetime(2026, 12, 3, 18, 5, tzinfo=BERLIN))
        reminder = await peer.wait_for_message(
            peer.channel,
            lambda m: (
                peer.member.id in m.pinged_user_ids and any(":done:" in c for c in m.custom_ids)
            ),
            timeout=5,
        )
        done = next(cid for cid in reminder.custom_ids if ":done:" in cid)
        stranger = await (await peer.click(peer.admin, reminder, done)).wait_reply(timeout=5)
        assert "/pledge join 1" in (stranger.content or "")  # "Join it with …" as Discord writes it
        await (await peer.click(peer.member, reminder, done)).wait_reply(timeout=5)
        await bot.slash(peer.member, "undo", pledge="1")
        await bot.app.scheduler.advance_to(clock, clock.now() + timedelta(days=6))
        await bot.slash(peer.member, "summary")
    texts = _texts(peer)
    assert any("/pledge" in t for t in texts)
    assert any("Did you make it to" in t for t in texts)  # the event flow reached its end
    typed = [t for t in texts if TYPED.search(t)]
    assert typed == []
    assert not any("\ue000" in t for t in texts)  # the prefix marker never leaks
