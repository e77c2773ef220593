"""A Discord command or reaction killed after its writes, before their commit, keeps nothing;
handled once after the restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.discord_peer import DiscordPeer, StoredMessage
from tests.soak.discord_harness import DiscordSoak, PeerBot
from tests.soak.harness import connected

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


EVENT = "Tenants' assembly"


async def rsvps_and_claim(soak: DiscordSoak, key: str) -> tuple[int, str | None]:
    """RSVPs to EVENT and the state of the reaction's claim, read by a fresh connection."""
    from storage import incoming
    from storage import models as m

    async with connected(soak.url):
        # The claim first: once it reads answered, the RSVP committed before it is there to
        # count (read the other way round, a commit falling between the reads looked lost).
        claim = await incoming.get("discord", key)
        rsvps = await m.Rsvp.filter(event__title=EVENT).count()
        return rsvps, claim[0] if claim else None


async def event_card(soak: DiscordSoak, peer: DiscordPeer) -> StoredMessage:
    """`/event new` posts EVENT's card; returned once its id is stored (reactions need it)."""
    from storage import models as m

    day = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    options = {"title": EVENT, "date": day, "time": "19:00", "place": "Community hall"}
    await (await soak.ask("event new", options, peer.channel)).wait_reply(timeout=30)
    card = await peer.wait_for_message(peer.channel, lambda c: EVENT in c.text, 30, source=None)
    for _ in range(300):
        async with connected(soak.url):
            if await m.Event.filter(card_message_id=str(card.id)).exists():
                return card
        await asyncio.sleep(0.05)
    raise AssertionError("the card's message id was never stored")


@contextlib.asynccontextmanager
async def card_rig(
    where: Path, url: str
) -> AsyncIterator[tuple[DiscordPeer, DiscordSoak, PeerBot, StoredMessage]]:
    """A bot on the peer with EVENT's card posted, live; every bot stopped at the end."""
    async with DiscordPeer(patch=False) as peer:
        soak = DiscordSoak(where, peer, url)
        soak.channels = [peer.channel]
        bot = soak.add_bot()
        soak.migrate()
        try:
            bot.start(peer.port)
            await soak.wait_live(bot)
            await soak.wait_commands()
            yield peer, soak, bot, await event_card(soak, peer)
        finally:
            await soak.stop_all()


async def killed_at(soak: DiscordSoak, bot: PeerBot, point: str, act: Awaitable[None]) -> None:
    """`bot` started again to die at the crash point `point`, which `act` makes it reach."""
    bot.env["LOGOFF_CRASH_POINTS"] = f"{point}:1"
    bot.start(soak.peer.port)
    await soak.wait_live(bot)
    await act
    assert bot.proc is not None
    await asyncio.to_thread(bot.proc.wait, 60)
    assert bot.proc.returncode == -9, bot.log_text()[-3000:]
    bot.env.pop("LOGOFF_CRASH_POINTS")


async def reaction_killed_then_once(tmp_path: Path, url: str, point: str) -> None:
    """A ✅ on an event's card (Going), the process SIGKILLed at `point`: `handled` (the
    RSVP written, not committed), `reacted` (committed with its claim, not marked answered).
    Shown again to the next life (as a RESUME replays it, or a second process gets it), the
    reaction ends answered with one RSVP; the killed life kept it only if it committed."""
    async with card_rig(tmp_path / "rcrash", url) as (peer, soak, bot, card):
        key = f"reaction:{card.id}:{peer.member.id}:✅"
        await soak.stop(bot)

        await killed_at(soak, bot, point, peer.react(peer.member, card, "✅"))
        rsvps, claim = await rsvps_and_claim(soak, key)
        if point == "handled":
            assert rsvps == 0, f"a killed reaction kept its RSVP (claim {claim})"
            # The card is edited after the commit: it never showed the answer it lost.
            assert "Going 0 ·" in card.text, card.text
        else:
            assert rsvps == 1
            assert claim == "handled"
            assert "Going 1 ·" in card.text, card.text

        bot.start(peer.port)
        await soak.wait_live(bot)
        await peer.react(peer.member, card, "✅")  # the same reaction, shown again
        await peer.changed.wait_for(
            lambda: True if "Going 1 ·" in card.text else None, 30, "Going 1 on the card"
        )
        for _ in range(300):
            rsvps, claim = await rsvps_and_claim(soak, key)
            if claim == "answered":
                break
            await asyncio.sleep(0.05)
        assert claim == "answered"
        assert rsvps == 1
        assert "Traceback" not in bot.log_text(), bot.log_text()[-3000:]


@pytest.mark.parametrize("point", ["handled", "reacted"])
async def test_a_killed_reaction_is_recorded_once_when_shown_again_on_sqlite(
    tmp_path: Path, point: str
) -> None:
    await reaction_killed_then_once(tmp_path, f"sqlite://{tmp_path}/rcrash/logoff.db", point)


@pytest.mark.parametrize("point", ["handled", "reacted"])
async def test_a_killed_reaction_is_recorded_once_when_shown_again_on_postgresql(
    tmp_path: Path, postgres_url: str, point: str
) -> None:
    await reaction_killed_then_once(tmp_path, postgres_url, point)


async def answered_rsvps(soak: DiscordSoak, key: str) -> int:
    """RSVPs once the reaction `key` is answered (polled: the bot commits, then marks it)."""
    for _ in range(300):
        rsvps, claim = await rsvps_and_claim(soak, key)
        if claim == "answered":
            return rsvps
        await asyncio.sleep(0.05)
    raise AssertionError(f"the reaction {key} was never answered")


async def removal_killed_then_added_again(tmp_path: Path, url: str) -> None:
    """A ✅ taken back, the process SIGKILLed after the undo, before its commit (`unreacted`):
    the undo and the forgetting of the reaction's claim commit together or not at all. Done in
    two commits, the kill kept the claim of an undone answer, and the ✅ added again was taken
    for a replay: the card said Going 0 under the member's ✅ for good."""
    async with card_rig(tmp_path / "ucrash", url) as (peer, soak, bot, card):
        key = f"reaction:{card.id}:{peer.member.id}:✅"
        await peer.react(peer.member, card, "✅")
        assert await answered_rsvps(soak, key) == 1
        await soak.stop(bot)

        await killed_at(soak, bot, "unreacted", peer.unreact(peer.member, card, "✅"))
        # Nothing of the removal committed: the answer and its claim are both still there.
        assert await rsvps_and_claim(soak, key) == (1, "answered")

        bot.start(peer.port)
        await soak.wait_live(bot)
        await peer.unreact(peer.member, card, "✅")  # taken back, this time for good
        await peer.changed.wait_for(
            lambda: True if "Going 0 ·" in card.text else None, 30, "Going 0 on the card"
        )
        for _ in range(300):
            if await rsvps_and_claim(soak, key) == (0, None):
                break
            await asyncio.sleep(0.05)
        assert await rsvps_and_claim(soak, key) == (0, None)
        await peer.react(peer.member, card, "✅")  # added again: a new answer
        assert await answered_rsvps(soak, key) == 1
        await peer.changed.wait_for(
            lambda: True if "Going 1 ·" in card.text else None, 30, "Going 1 on the card"
        )
        assert "Traceback" not in bot.log_text(), bot.log_text()[-3000:]


async def test_a_killed_removal_keeps_its_answer_and_claim_together(
    tmp_path: Path, database_url: str
) -> None:
    await removal_killed_then_added_again(tmp_path, database_url)
