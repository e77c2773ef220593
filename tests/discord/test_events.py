"""Offline events end to end on Discord: one-tap RSVP, the card edited in place, the reminder to
Going and Maybe only and "did you make it?" after, through the real scheduler and the peer."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ical.calendar_stream import IcsCalendarStream

from bot.clock import VirtualClock
from bot.scheduling.scheduler import Scheduler
from storage import events as event_queries
from tests.discord.harness import RunningBot, start_bot
from tests.discord_peer import DiscordPeer, PeerUser, StoredMessage

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


def _scheduler(bot: RunningBot, clock: VirtualClock) -> Scheduler:
    jobs = bot.app.scheduler  # on the bot's virtual clock; it also edits cards in place
    assert jobs is not None
    return jobs


async def _new_event(bot: RunningBot, peer: DiscordPeer) -> StoredMessage:
    after = peer.last_message_id()
    await bot.slash(
        peer.member,
        "event new",
        title="Tenants' assembly",
        date="2026-12-03",
        time="19:00",
        place="Community hall",
    )
    card = await peer.wait_for_message(
        peer.channel, lambda m: "Tenants' assembly" in m.content, source=None, after=after
    )
    # The card's id is stored right after it is posted; a reaction needs it to map back.
    for _ in range(200):
        if await event_queries.find_by_card("discord", str(card.id)) is not None:
            return card
        await asyncio.sleep(0.02)
    raise AssertionError("the card's message id was never recorded")


def _public(peer: DiscordPeer) -> list[StoredMessage]:
    return [m for m in peer.channel_messages(peer.channel) if not m.ephemeral]


def _button(card: StoredMessage, verb: str) -> str:
    return next(cid for cid in card.custom_ids if cid.split(":")[1] == verb)


async def _tap(peer: DiscordPeer, user: PeerUser, card: StoredMessage, verb: str) -> str:
    reply = await (await peer.click(user, card, _button(card, verb))).wait_reply(timeout=5)
    assert reply.ephemeral, "an answer to a tap is for the one who tapped"
    return reply.content or ""


async def _card_shows(peer: DiscordPeer, card: StoredMessage, text: str) -> None:
    await peer.changed.wait_for(lambda: True if text in card.content else None, 15, text)


async def test_taps_answer_once_each_and_the_card_counts_them_in_place(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        _scheduler(bot, clock)
        card = await _new_event(bot, peer)
        assert [cid.split(":")[1] for cid in card.custom_ids] == ["going", "maybe", "cant"]
        assert "Going 0" in card.content
        # The bot's own channel message, editable for as long as the event lasts (an
        # interaction's response is editable through its token for 15 minutes only).
        assert card.source == "channel"
        messages = len(_public(peer))
        assert "going" in (await _tap(peer, peer.member, card, "going")).lower()
        await _tap(peer, peer.admin, card, "maybe")
        await _tap(peer, peer.owner, card, "cant")
        await _card_shows(peer, card, "Going 1 · 🤔 Maybe 1 · ❌ Can't 1")
        await _tap(peer, peer.member, card, "going")  # a second tap changes nothing
        assert "Going 1 ·" in card.content
        assert len(_public(peer)) == messages, "an answer posted a message in the channel"
        assert card.edits, "the card was not edited in place"
        assert all(e["allowed_mentions"]["parse"] == [] for e in card.edits)
    # The buttons are persistent: after a restart a tap still answers and edits the same card.
    async with start_bot(peer, data_dir, clock) as bot:
        _scheduler(bot, clock)
        await _tap(peer, peer.owner, card, "going")
        await _card_shows(peer, card, "Going 2 · 🤔 Maybe 1 · ❌ Can't 0")


async def test_the_reminder_and_the_question_reach_going_and_maybe_only(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        jobs = _scheduler(bot, clock)
        card = await _new_event(bot, peer)
        await _tap(peer, peer.member, card, "going")
        await _tap(peer, peer.admin, card, "maybe")
        await _tap(peer, peer.owner, card, "cant")
        after = peer.last_message_id()
        await jobs.advance_to(clock, datetime(2026, 12, 3, 18, 0, tzinfo=BERLIN))
        reminder = await peer.wait_for_message(
            peer.channel, lambda m: "Tenants' assembly" in m.content, after=after
        )
        assert sorted(reminder.pinged_user_ids) == sorted([peer.member.id, peer.admin.id])
        assert peer.owner.id not in reminder.mentioned_user_ids
        assert not reminder.custom_ids
        after = peer.last_message_id()
        await jobs.advance_to(clock, datetime(2026, 12, 4, 12, 0, tzinfo=BERLIN))
        question = await peer.wait_for_message(
            peer.channel, lambda m: "make it" in m.content, after=after
        )
        assert sorted(question.pinged_user_ids) == sorted([peer.member.id, peer.admin.id])
        assert [cid.split(":")[1] for cid in question.custom_ids] == ["went", "missed"]
        went = await (
            await peer.click(peer.member, question, _button(question, "went"))
        ).wait_reply(timeout=5)
        assert went.ephemeral
        assert "made it" in (went.content or "")
        # Nothing else went to the channel: one reminder, one question, for three answers.
        bot_posts = [
            m
            for m in peer.channel_messages(peer.channel)
            if m.source == "channel" and m.id > card.id
        ]
        assert len(bot_posts) == 2


async def test_a_check_mark_reaction_on_the_card_is_going_and_removing_it_takes_it_back(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        _scheduler(bot, clock)
        card = await _new_event(bot, peer)
        await peer.react(peer.member, card, "✅")
        await _card_shows(peer, card, "Going 1 ·")
        assert "member" in card.content
        await peer.unreact(peer.member, card, "✅")  # taking it back takes the Going back
        await _card_shows(peer, card, "Going 0 ·")
        await peer.react(peer.member, card, "✅")  # the same reaction again: a new answer
        await _card_shows(peer, card, "Going 1 ·")
        assert "member" in (await bot.member(peer.member)).display_name


async def test_the_ics_file_is_attached_privately_and_an_independent_parser_reads_it(
    peer: DiscordPeer, data_dir: Path
) -> None:
    clock = VirtualClock(MONDAY)
    async with start_bot(peer, data_dir, clock) as bot:
        await _new_event(bot, peer)
        reply = await bot.slash(peer.member, "event ics", event="1")
        assert reply.ephemeral
        assert reply.message is not None
        ((name, data),) = reply.message.files
        assert name.endswith(".ics")
        (event,) = IcsCalendarStream.calendar_from_ics(data.decode("utf-8")).events
        assert event.summary == "Tenants' assembly"
        assert event.location == "Community hall"
        assert event.dtstart == datetime(2026, 12, 3, 19, 0, tzinfo=BERLIN)
