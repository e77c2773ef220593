"""Messages the bot starts: reminders and summaries in the channel, DMs, fallbacks, rate limits."""

from __future__ import annotations

import asyncio

import pytest

from adapters.discord.respond import CLOSED_DM_NOTICE
from bot.errors import DeliveryError
from bot.messages.boards import render_summary
from bot.messages.replies import MentionRef, Reply, Visibility
from tests.discord.harness import RunningBot
from tests.discord_peer import DiscordPeer, PeerUser

MESSAGES = "/channels/{channel_id}/messages"


async def _mention(bot: RunningBot, user: PeerUser) -> MentionRef:
    member = await bot.member(user)
    return MentionRef(member.id, "discord", str(user.id), user.username)


async def test_a_reminder_reaches_the_channel_pinging_exactly_its_members(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge new", title="Knock on 10 doors")
    await bot.slash(peer.admin, "pledge join", pledge="1")
    await bot.slash(peer.closed_dm_user, "pledge list")
    refs = (await _mention(bot, peer.member), await _mention(bot, peer.admin))
    reply = Reply(
        text=f"⏰ {{@{refs[0].member_id}}} {{@{refs[1].member_id}}}: **Knock on 10 doors** "
        "is due this week. @everyone",
        visibility=Visibility.PUBLIC,
        mentions=refs,
    )
    message_id = await bot.outbox.send_to_group(await bot.group(), reply)
    message = peer.message_by_id[int(message_id)]
    assert message.channel_id == peer.channel.id
    assert message.source == "channel"
    assert sorted(message.pinged_user_ids) == sorted([peer.member.id, peer.admin.id])
    assert peer.closed_dm_user.id not in message.pinged_user_ids
    assert not message.pings_everyone


async def test_the_weekly_summary_arrives_in_the_channel_and_celebrates_by_name(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge new", title="Call a neighbour")
    await bot.slash(peer.member, "done", pledge="1")
    group = await bot.group()
    text, mentions = await render_summary(group, bot.app.clock.now())
    reply = Reply(text=text, visibility=Visibility.PUBLIC, mentions=mentions)
    message_id = await bot.outbox.send_to_group(group, reply)
    message = peer.message_by_id[int(message_id)]
    assert message.channel_id == peer.channel.id
    assert "Call a neighbour" in message.content
    assert "{@" not in message.content
    assert "Kept so far: member" in message.content
    # the summary pings exactly whom the core mentions (it names, and pings nobody, today)
    expected = [int(m.external_id) for m in mentions]
    assert sorted(message.pinged_user_ids) == sorted(expected)
    assert not message.pings_everyone


async def test_a_dm_reaches_the_member(bot: RunningBot, peer: DiscordPeer) -> None:
    await bot.slash(peer.member, "pledge list")
    member = await bot.member(peer.member)
    reply = Reply(text="⏰ Your reminder: **Call a neighbour**.", visibility=Visibility.PUBLIC)
    message_id = await bot.outbox.send_to_member(member, reply, await bot.group())
    dm = peer.dm_channel(peer.member)
    assert [m.id for m in peer.channel_messages(dm)] == [int(message_id)]
    assert [m for m in peer.channel_messages(peer.channel) if m.source == "channel"] == []


async def test_closed_dms_fall_back_to_a_mention_and_the_member_is_told_once_privately(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    user = peer.closed_dm_user
    await bot.slash(user, "pledge list")
    member = await bot.member(user)
    reply = Reply(text="⏰ Your reminder: **Call a neighbour**.", visibility=Visibility.PUBLIC)
    message_id = await bot.outbox.send_to_member(member, reply, await bot.group())
    fallback = peer.message_by_id[int(message_id)]
    assert fallback.channel_id == peer.channel.id
    assert fallback.pinged_user_ids == [user.id]
    assert "Your reminder" in fallback.content
    # a second reminder falls back again, but the explanation comes only once
    await bot.outbox.send_to_member(member, reply, await bot.group())
    first = await bot.invoke(user, "pledge list")
    notice = await first.wait_followup(timeout=5)
    assert notice.ephemeral
    assert notice.content == CLOSED_DM_NOTICE
    second = await bot.invoke(user, "pledge list")
    await second.wait_reply(timeout=5)
    await asyncio.sleep(0.1)
    assert [r for r in second.replies if r.kind == "followup"] == []
    with pytest.raises(DeliveryError) as refused:
        await bot.outbox.send_to_member(member, reply, None)
    assert not refused.value.retryable


async def test_a_rate_limited_message_is_delayed_but_arrives_exactly_once(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge list")
    peer.rate_limit(MESSAGES, count=1, retry_after=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = Reply(text="Weekly summary", visibility=Visibility.PUBLIC)
    await asyncio.wait_for(bot.outbox.send_to_group(await bot.group(), reply), 5)
    assert loop.time() - started >= 0.25
    assert [r.status for r in peer.requests if r.route == MESSAGES] == [429, 200]
    posted = [m for m in peer.channel_messages(peer.channel) if m.source == "channel"]
    assert [m.content for m in posted] == ["Weekly summary"]


async def test_a_message_discord_refuses_is_reported_as_not_retryable(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge list")
    group = await bot.group()
    gone = type(group)(**{**group.__dict__, "external_id": "123456789012345678"})
    with pytest.raises(DeliveryError) as failed:
        await bot.outbox.send_to_group(gone, Reply(text="hello", visibility=Visibility.PUBLIC))
    assert not failed.value.retryable


async def test_a_scheduled_message_sent_again_after_a_lost_answer_is_posted_once(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge list")
    group = await bot.group()
    reply = Reply(
        text="⏰ Reminder",
        visibility=Visibility.PUBLIC,
        extra={"idempotency_key": f"send:g{group.id}:remind:week:2026-11-30"},
    )
    peer.lose_responses(MESSAGES, count=1)
    first = await asyncio.wait_for(bot.outbox.send_to_group(group, reply), 5)
    # the scheduler's own retry (say after a timeout) carries the same key
    second = await bot.outbox.send_to_group(group, reply)
    assert first == second
    posted = [m for m in peer.channel_messages(peer.channel) if m.source == "channel"]
    assert [m.content for m in posted] == ["⏰ Reminder"]
