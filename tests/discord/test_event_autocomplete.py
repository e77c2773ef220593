"""On Discord the event options complete from the channel's events (coming ones first, matched by
title), and every event text, the card edited in place included, shows the slash syntax."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import VirtualClock
from bot.commands import build_registry
from storage import events as event_queries
from tests.discord.harness import RunningBot, start_bot
from tests.discord_peer import DiscordPeer, PeerChannel, PeerUser, StoredMessage

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


async def _plan(bot: RunningBot, peer: DiscordPeer, title: str, date: str, time: str) -> None:
    after = peer.last_message_id()
    await bot.slash(peer.member, "event new", title=title, date=date, time=time)
    card = await peer.wait_for_message(
        peer.channel, lambda m: title in m.content, source=None, after=after
    )
    for _ in range(200):  # the card's id is stored right after it is posted
        if await event_queries.find_by_card("discord", str(card.id)) is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the card's message id was never recorded")


async def _offered(
    peer: DiscordPeer,
    command: str,
    typed: str = "",
    subcommand: str | None = None,
    channel: PeerChannel | None = None,
    user: PeerUser | None = None,
) -> list[dict[str, str]]:
    handle = await peer.autocomplete(
        user or peer.member,
        channel or peer.channel,
        command,
        subcommand=subcommand,
        focused="event",
        options={"event": typed},
    )
    return list(await handle.wait_choices(timeout=5))


async def test_event_options_are_synced_with_autocomplete(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    synced = {c["name"]: c for c in peer.commands_in(None)}
    with_event = [c for c in build_registry().all() if any(a.kind == "event" for a in c.args)]
    assert {c.name for c in with_event} >= {
        "going", "maybe", "not-going", "went", "missed",
        "event show", "event cancel", "event edit", "event ics",
    }  # fmt: skip
    for command in with_event:
        top = synced[command.path[0]]
        leaf = (
            next(o for o in top["options"] if o["name"] == command.path[1])
            if len(command.path) == 2
            else top
        )
        option = next(o for o in leaf["options"] if o["name"] == "event")
        assert option["autocomplete"] is True, command.name


async def test_autocomplete_offers_coming_events_first_and_matches_titles(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        await _plan(bot, peer, "Tenants' assembly", "2026-12-03", "19:00")
        await _plan(bot, peer, "Garden day", "2026-12-01", "10:00")
        await _plan(bot, peer, "Tenants' picnic", "2026-12-10", "12:00")
        soonest_first = await _offered(peer, "going")
        assert [c["value"] for c in soonest_first] == ["2", "1", "3"]
        assert soonest_first[0]["name"] == "2 · Garden day · Tue 1 Dec 10:00"
        assert [c["value"] for c in await _offered(peer, "maybe", "ten")] == ["1", "3"]
        assert [c["value"] for c in await _offered(peer, "not-going", "picnic")] == ["3"]
        assert [c["value"] for c in await _offered(peer, "event", "3", "show")] == ["3"]
        assert [c["value"] for c in await _offered(peer, "event", "gard", "cancel")] == ["2"]
        assert await _offered(peer, "going", "nothing like it") == []
        elsewhere = peer.add_channel(peer.guild, "elsewhere")
        assert await _offered(peer, "going", channel=elsewhere) == []
        # After the garden day, "went" offers it first; "going" still the coming ones first.
        clock.set(datetime(2026, 12, 1, 13, 0, tzinfo=BERLIN))
        assert [c["value"] for c in await _offered(peer, "went")] == ["2", "1", "3"]
        assert [c["value"] for c in await _offered(peer, "going")] == ["1", "3", "2"]
        # A cancelled one is no longer offered.
        await bot.slash(peer.member, "event cancel", event="3")
        assert [c["value"] for c in await _offered(peer, "missed")] == ["2", "1"]
        # Long past events drop out of the list (numbers still work when typed).
        clock.set(clock.now() + timedelta(days=30))
        assert await _offered(peer, "went") == []


async def test_event_texts_show_slash_commands_also_on_the_card_edited_in_place(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        after = peer.last_message_id()
        await bot.slash(peer.member, "event new", title="Assembly", date="2026-12-03", time="19:00")
        card: StoredMessage = await peer.wait_for_message(
            peer.channel, lambda m: "Assembly" in m.content, source=None, after=after
        )
        assert "`/going 1`" in card.content
        assert "`/event ics 1`" in card.content
        assert "!going" not in card.content
        for _ in range(200):
            if await event_queries.find_by_card("discord", str(card.id)) is not None:
                break
            await asyncio.sleep(0.02)
        going = next(cid for cid in card.custom_ids if cid.split(":")[1] == "going")
        await (await peer.click(peer.admin, card, going)).wait_reply(timeout=5)
        await peer.changed.wait_for(lambda: True if "Going 1" in card.content else None, 15, "1")
        assert "`/going 1`" in card.content, "the card edited in place lost the slash syntax"
        assert "!going" not in card.content
        early = await bot.slash(peer.member, "went", event="1")
        assert "`/going 1`" in (early.content or "")
        assert "!going" not in (early.content or "")
        clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=BERLIN))
        late = await bot.slash(peer.member, "going", event="1")
        assert "`/went 1`" in (late.content or "")
        assert "`/missed 1`" in (late.content or "")
        listing = await bot.slash(peer.member, "event list")
        assert "!" not in (listing.content or "")
