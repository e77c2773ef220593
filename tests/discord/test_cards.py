"""Reminders, questions and the pledge board as Discord cards (components v2), on the peer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.messages.notices import PROMPT, REMIND, Notice, render
from bot.messages.replies import Reply
from bot.rules import pledge_periods as tracking
from tests.discord.harness import RunningBot, start_bot
from tests.discord_peer import DiscordPeer, StoredMessage
from tests.discord_peer.limits import IS_COMPONENTS_V2, message_problems
from tests.discord_peer.state import walk_components

TITLES = ("Call a neighbour", "Knock on 10 doors", "Attend a meeting", "Fix a bike", "Cook", "Walk")


async def _notice(bot: RunningBot, peer: DiscordPeer, pledges: int, kind: str = REMIND) -> Reply:
    """A batched reminder about `pledges` pledges, each with the member in it."""
    for title in TITLES[:pledges]:
        await bot.slash(peer.member, "pledge new", title=title)
    group = await bot.group()
    member = await bot.member(peer.member)
    now = bot.app.clock.now()
    notices = [
        Notice(kind, member, p, tracking.current_period(p, group, now), dm=False)
        for p in await bot.pledges()
    ]
    return render(kind, notices, dm=False)


async def _posted(bot: RunningBot, peer: DiscordPeer, reply: Reply) -> StoredMessage:
    message_id = await bot.outbox.send_to_group(await bot.group(), reply)
    return peer.message_by_id[int(message_id)]


def _types(message: StoredMessage) -> list[int]:
    return [c["type"] for c in walk_components(message.components)]


def _sections(message: StoredMessage) -> list[dict[str, Any]]:
    return [c for c in walk_components(message.components) if c["type"] == 9]


async def test_a_reminder_about_two_pledges_is_one_card_with_done_beside_each_pledge(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    card = await _posted(bot, peer, await _notice(bot, peer, 2))
    assert card.is_card
    assert card.content == ""
    assert card.components[0]["type"] == 17  # one container
    sections = _sections(card)
    # beside its pledge's line a button needs no title; the plain form keeps it
    assert [s["accessory"]["label"] for s in sections] == ["Done", "Done"]
    assert "Call a neighbour" in sections[0]["components"][0]["content"]
    assert "Knock on 10 doors" in sections[1]["components"][0]["content"]
    verbs = [cid.split(":")[1] for cid in card.custom_ids]
    assert verbs == ["done", "not", "skip", "snooze"] * 2
    assert card.pinged_user_ids == [peer.member.id, peer.member.id] or card.pinged_user_ids == [
        peer.member.id
    ]
    assert not card.pings_everyone
    assert "A nudge" in card.text
    assert message_problems(card.payload | {"flags": card.flags}) == []


async def test_a_tap_on_a_cards_done_counts_once_and_still_works_after_a_restart(
    peer: DiscordPeer, data_dir: Path
) -> None:
    async with start_bot(peer, data_dir) as bot:
        card = await _posted(bot, peer, await _notice(bot, peer, 2, PROMPT))
    async with start_bot(peer, data_dir) as bot:
        done = _sections(card)[1]["accessory"]["custom_id"]
        first = await (await peer.click(peer.member, card, done)).wait_reply(timeout=5)
        assert first.ephemeral
        assert "1/1" in (first.content or "")
        again = await (await peer.click(peer.member, card, done)).wait_reply(timeout=5)
        assert "already kept" in (again.content or "")
        board = await bot.slash(peer.member, "pledge list")
        assert "member ✅" in (board.content or "")


async def test_too_many_pledges_for_one_card_stay_plain_text_with_buttons(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    five = await _posted(bot, peer, await _notice(bot, peer, 5))
    assert five.is_card
    assert len(_types(five)) <= 40
    six = await _posted(bot, peer, await _notice(bot, peer, 6))
    assert not six.is_card
    assert "Walk" in six.content
    assert all(c["type"] == 1 for c in six.components)
    assert len(six.custom_ids) == 24
    assert "Skip · Walk" in [c.get("label") for c in walk_components(six.components)]


async def test_a_reminder_by_direct_message_keeps_the_plain_form(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    reply = await _notice(bot, peer, 2)
    message_id = await bot.outbox.send_to_member(await bot.member(peer.member), reply, None)
    dm = peer.message_by_id[int(message_id)]
    assert not dm.is_card
    assert "Call a neighbour" in dm.content
    assert [c["type"] for c in dm.components] == [1, 1]


async def test_the_pledge_board_is_a_card_with_one_block_per_pledge(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge new", title="Call a neighbour", remind="thu 18:00")
    await bot.slash(peer.member, "pledge new", title="Knock on 10 doors")
    board = await bot.slash(peer.member, "pledge list")
    assert board.ephemeral
    assert board.flags & IS_COMPONENTS_V2
    texts = [c["content"] for c in walk_components(board.components) if c["type"] == 10]
    assert len(texts) == 2
    assert texts[0].startswith("`1` **Call a neighbour**")
    assert "member" in texts[0]
    assert "<t:" in texts[0]
    assert texts[1].startswith("`2` **Knock on 10 doors**")


async def test_every_payload_the_bot_sends_keeps_to_discords_limits(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    """A tour of what members see; the peer checks every body against limits.py."""
    card = await _posted(bot, peer, await _notice(bot, peer, 5, PROMPT))
    await _posted(bot, peer, await _notice(bot, peer, 6))
    snooze = next(cid for cid in card.custom_ids if ":snooze:" in cid)
    await (await peer.click(peer.member, card, snooze)).wait_reply(timeout=5)
    done = next(cid for cid in card.custom_ids if ":done:" in cid)
    await (await peer.click(peer.member, card, done)).wait_reply(timeout=5)
    for name in ("pledge list", "help", "summary", "streak"):
        await bot.slash(peer.member, name)
    form = await bot.invoke(peer.member, "pledge new")
    await form.wait_callback(timeout=5)
    await bot.slash(peer.member, "pledge new", title="x" * 120, per="day", remind="18:00")
    assert peer.refused_payloads == []
    assert len(peer.checked_payloads) >= 10
    assert any(int(p.get("flags") or 0) & IS_COMPONENTS_V2 for p in peer.checked_payloads)
    assert all(message_problems(p) == [] for p in peer.checked_payloads if "title" not in p)
