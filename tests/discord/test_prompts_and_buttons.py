"""Prompts with one-tap buttons: a tap counts once, a stranger's tap is refused, restarts fine."""

from __future__ import annotations

from pathlib import Path

from bot.messages.actions import Action
from bot.messages.replies import Button, MentionRef, Reply, Visibility
from bot.rules import pledge_periods as tracking
from tests.discord.harness import RunningBot, start_bot
from tests.discord_peer import DiscordPeer, StoredMessage


async def _prompt(bot: RunningBot, peer: DiscordPeer) -> StoredMessage:
    """The member's pledge and a confirmation prompt about it, posted through the Outbox."""
    await bot.slash(peer.member, "pledge new", title="Call a neighbour")
    group = await bot.group()
    member = await bot.member(peer.member)
    (pledge,) = await bot.pledges()
    period = tracking.current_period(pledge, group, bot.app.clock.now())
    buttons = tuple(
        Button(label, Action(verb, pledge.id, period.key).encode(), style=style)
        for label, verb, style in (
            ("Done", "done", "success"),
            ("Not this time", "not", "secondary"),
            ("Skip", "skip", "secondary"),
            ("Snooze", "snooze", "secondary"),
        )
    )
    reply = Reply(
        text=f"{{@{member.id}}} did you **call a neighbour** this week?",
        visibility=Visibility.PUBLIC,
        buttons=buttons,
        mentions=(MentionRef(member.id, "discord", str(peer.member.id), "member"),),
    )
    message_id = await bot.outbox.send_to_group(group, reply)
    return peer.message_by_id[int(message_id)]


async def test_a_prompt_carries_the_four_answers_and_pings_only_its_member(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    prompt = await _prompt(bot, peer)
    verbs = [cid.split(":")[1] for cid in prompt.custom_ids]
    assert verbs == ["done", "not", "skip", "snooze"]
    assert prompt.content.startswith(f"<@{peer.member.id}> did you")
    assert prompt.pinged_user_ids == [peer.member.id]
    assert not prompt.pings_everyone
    assert prompt.allowed_mentions is not None
    assert prompt.allowed_mentions.get("parse") == []


async def test_a_tap_on_done_records_a_check_in_and_a_second_tap_does_not(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    prompt = await _prompt(bot, peer)
    done = next(cid for cid in prompt.custom_ids if ":done:" in cid)
    first = await (await peer.click(peer.member, prompt, done)).wait_reply(timeout=5)
    assert first.ephemeral
    assert "✅" in (first.content or "")
    assert "1/1" in (first.content or "")
    second = await (await peer.click(peer.member, prompt, done)).wait_reply(timeout=5)
    assert second.ephemeral
    assert "already kept" in (second.content or "")
    board = await bot.slash(peer.member, "pledge list")
    assert "member ✅" in (board.content or "")
    undo = await bot.slash(peer.member, "undo", pledge="1")
    assert "went wrong" not in (undo.content or "")
    board = await bot.slash(peer.member, "pledge list")
    assert "member ✅" not in (board.content or ""), "one tap counted twice"


async def test_a_tap_by_someone_who_is_not_in_the_pledge_is_refused_privately(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    prompt = await _prompt(bot, peer)
    done = next(cid for cid in prompt.custom_ids if ":done:" in cid)
    refused = await (await peer.click(peer.admin, prompt, done)).wait_reply(timeout=5)
    assert refused.ephemeral
    assert "not yours" in (refused.content or "")
    mine = await (await peer.click(peer.member, prompt, done)).wait_reply(timeout=5)
    assert "1/1" in (mine.content or "")


async def test_snooze_offers_a_short_choice_privately(bot: RunningBot, peer: DiscordPeer) -> None:
    prompt = await _prompt(bot, peer)
    snooze = next(cid for cid in prompt.custom_ids if ":snooze:" in cid)
    choice = await (await peer.click(peer.member, prompt, snooze)).wait_reply(timeout=5)
    assert choice.ephemeral
    assert choice.message is not None
    verbs = [cid.split(":")[1] for cid in choice.message.custom_ids]
    assert verbs == ["snooze1h", "snoozetonight", "snoozetomorrow"]


async def test_buttons_keep_working_after_a_restart(peer: DiscordPeer, data_dir: Path) -> None:
    async with start_bot(peer, data_dir) as bot:
        prompt = await _prompt(bot, peer)
    async with start_bot(peer, data_dir):
        skip = next(cid for cid in prompt.custom_ids if ":skip:" in cid)
        reply = await (await peer.click(peer.member, prompt, skip)).wait_reply(timeout=5)
        assert "excused" in (reply.content or "")
