"""A scheduled message Discord accepted before a crash is not posted again, nonce window or not."""

from __future__ import annotations

from adapters.discord.outbox import DiscordOutbox
from bot.messages.actions import Action
from bot.messages.replies import Button, Reply, Visibility
from tests.discord.harness import RunningBot
from tests.discord_peer import DiscordPeer, PeerChannel, StoredMessage

MESSAGES = "/channels/{channel_id}/messages"


def _posted(peer: DiscordPeer, channel: PeerChannel) -> list[StoredMessage]:
    return [m for m in peer.channel_messages(channel) if m.source == "channel"]


def _prompt(key: str, period: str = "week:2026-11-30") -> Reply:
    buttons = tuple(
        Button(label, Action(verb, 1, period).encode())
        for label, verb in (("Done", "done"), ("Not this time", "not"))
    )
    return Reply(
        text="How did it go? (this week)\n• **Knock on 10 doors**",
        visibility=Visibility.PUBLIC,
        buttons=buttons,
        extra={"idempotency_key": key},
    )


def _restarted(bot: RunningBot) -> DiscordOutbox:
    """The outbox of a new process: nothing of the old one's memory."""
    return DiscordOutbox(bot.client, bot.client.closed_dms)


async def test_a_message_accepted_before_a_crash_is_found_after_the_nonce_window(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge list")
    group = await bot.group()
    reply = _prompt(f"send:g{group.id}:prompt:week:2026-11-30")
    first = await bot.outbox.send_to_group(group, reply)
    peer.nonce_window = 0.0  # the restart came later than Discord remembers nonces
    outbox = _restarted(bot)
    key = f"send:g{group.id}:prompt:week:2026-11-30"
    assert await outbox.find_sent(key, group, None) is None  # the send looks first
    again = await outbox.send_to_group(group, reply)
    assert again == first
    assert len(_posted(peer, peer.channel)) == 1
    reads = [r for r in peer.requests if r.route == MESSAGES and r.method == "GET"]
    assert reads, "it looked in the channel's history"


async def test_a_dm_accepted_before_a_crash_is_found_in_the_dm(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge list")
    group = await bot.group()
    member = await bot.member(peer.member)
    key = f"send:g{group.id}:m{member.id}:remind:week:2026-11-30"
    reply = Reply(
        text="⏰ A nudge to log off", visibility=Visibility.PUBLIC, extra={"idempotency_key": key}
    )
    first = await bot.outbox.send_to_member(member, reply, group)
    peer.nonce_window = 0.0
    outbox = _restarted(bot)
    await outbox.find_sent(key, group, member)
    assert await outbox.send_to_member(member, reply, group) == first
    assert len(_posted(peer, peer.dm_channel(peer.member))) == 1


async def test_a_message_that_never_arrived_is_posted_once_after_the_look(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge list")
    group = await bot.group()
    key = f"send:g{group.id}:prompt:week:2026-11-30"
    # last week's prompt of the same pledge reads the same but its buttons name its week
    await bot.outbox.send_to_group(
        group, _prompt(f"send:g{group.id}:prompt:week:2026-11-23", "week:2026-11-23")
    )
    outbox = _restarted(bot)
    await outbox.find_sent(key, group, None)
    sent = await outbox.send_to_group(group, _prompt(key))
    posted = _posted(peer, peer.channel)
    assert len(posted) == 2
    assert posted[-1].id == int(sent)


async def test_without_the_look_a_resend_after_the_nonce_window_would_post_twice(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    """What the look is for: Discord's own dedupe ends with its nonce window."""
    await bot.slash(peer.member, "pledge list")
    group = await bot.group()
    reply = _prompt(f"send:g{group.id}:prompt:week:2026-11-30")
    await bot.outbox.send_to_group(group, reply)
    assert len(_posted(peer, peer.channel)) == 1
    await _restarted(bot).send_to_group(group, reply)  # within the window: the nonce holds
    assert len(_posted(peer, peer.channel)) == 1
    peer.nonce_window = 0.0
    await _restarted(bot).send_to_group(group, reply)  # not asked to look first
    assert len(_posted(peer, peer.channel)) == 2


async def test_a_long_message_cut_short_by_a_crash_gets_only_its_missing_part(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge list")
    group = await bot.group()
    key = f"send:g{group.id}:summary:week:2026-11-23"
    lines = [
        f"• line {i:04d} of the weekly summary, long enough to need two messages" for i in range(60)
    ]
    reply = Reply(
        text="\n".join(lines), visibility=Visibility.PUBLIC, extra={"idempotency_key": key}
    )
    await bot.outbox.send_to_group(group, reply)
    posted = _posted(peer, peer.channel)
    assert len(posted) >= 2
    await peer.delete_message(posted[-1])  # as if the process died before the last part
    peer.nonce_window = 0.0
    outbox = _restarted(bot)
    await outbox.find_sent(key, group, None)
    last = await outbox.send_to_group(group, reply)
    now = _posted(peer, peer.channel)
    assert [m.id for m in now[:-1]] == [m.id for m in posted[:-1]]
    assert now[-1].id == int(last)
    assert now[-1].content == posted[-1].content
