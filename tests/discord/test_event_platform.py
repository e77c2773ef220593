"""Events on Discord through the peer: an in-place edit, and the Guild Scheduled Event mirror."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.messages.replies import Button, Reply, Visibility
from bot.ports import MirroredEvent
from storage.records import GroupRec, MemberRec
from tests.discord.harness import RunningBot, start_bot
from tests.discord_peer import MANAGE_EVENTS, DiscordPeer, StoredMessage

BERLIN = ZoneInfo("Europe/Berlin")


def _card(text: str) -> Reply:
    buttons = tuple(
        Button(label, f"lo1:test{i}:0:", emoji=emoji)
        for i, (label, emoji) in enumerate((("Going", "✅"), ("Maybe", "🤔"), ("Can't", "❌")))
    )
    return Reply(text=text, visibility=Visibility.PUBLIC, buttons=buttons)


async def _group(bot: RunningBot, peer: DiscordPeer) -> tuple[GroupRec, MemberRec]:
    await bot.slash(peer.member, "pledge list")  # the channel's group and the member exist
    return await bot.group(), await bot.member(peer.member)


def _event(bot: RunningBot, creator: MemberRec, **changes: object) -> MirroredEvent:
    start = bot.app.clock.now() + timedelta(days=3)
    fields: dict[str, object] = {
        "event_id": 7,
        "title": "Tenants' assembly",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "place": "Community hall, Main St 4",
        "description": "Bring a neighbour.",
        "creator": creator,
    }
    fields.update(changes)
    return MirroredEvent(**fields)  # type: ignore[arg-type]


def _allow_events(peer: DiscordPeer) -> None:
    role = peer.add_role(peer.guild, "Events", MANAGE_EVENTS)
    peer.add_member(peer.guild, peer.bot, [role])


async def test_an_edit_rewrites_the_same_message_keeps_its_buttons_and_pings_nobody(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    group, _ = await _group(bot, peer)
    message_id = await bot.outbox.send_to_group(group, _card("**Assembly** · 0 going"))
    count = len(peer.channel_messages(peer.channel))
    await bot.outbox.edit(group, message_id, _card("**Assembly** · 1 going"))
    message = peer.message_by_id[int(message_id)]
    assert message.content == "**Assembly** · 1 going"
    assert message.payload["edited_timestamp"] is not None
    assert len(message.custom_ids) == 3
    assert len(peer.channel_messages(peer.channel)) == count, "an edit posted a new message"
    assert message.edits[-1]["allowed_mentions"]["parse"] == []


async def test_an_edit_of_a_deleted_message_is_a_final_delivery_error(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    from bot.errors import DeliveryError

    group, _ = await _group(bot, peer)
    message_id = await bot.outbox.send_to_group(group, _card("soon gone"))
    await peer.delete_message(peer.message_by_id[int(message_id)])
    with pytest.raises(DeliveryError) as refused:
        await bot.outbox.edit(group, message_id, _card("edited"))
    assert not refused.value.retryable


async def test_an_event_is_mirrored_edited_and_cancelled_as_a_scheduled_event(
    peer: DiscordPeer, data_dir: Path
) -> None:
    _allow_events(peer)
    async with start_bot(peer, data_dir) as bot:
        await _mirror_edit_cancel_delete(bot, peer)
    assert not peer.unknown_routes


async def _mirror_edit_cancel_delete(bot: RunningBot, peer: DiscordPeer) -> None:
    group, creator = await _group(bot, peer)
    mirror_id = await bot.outbox.mirror_event(group, _event(bot, creator))
    mirror = await peer.scheduled_events.wait_for(peer.guild)
    assert mirror_id == str(mirror.id)
    assert mirror.name == "Tenants' assembly"
    assert mirror.location == "Community hall, Main St 4"
    assert mirror.payload["entity_type"] == 3
    assert mirror.end is not None
    assert mirror.end - mirror.start == timedelta(hours=2)
    moved = _event(bot, creator, place="Library", title="Moved", mirror_id=mirror_id)
    assert await bot.outbox.mirror_event(group, moved) == mirror_id
    assert (mirror.location, mirror.name) == ("Library", "Moved")
    cancelled = _event(bot, creator, cancelled=True, mirror_id=mirror_id)
    assert await bot.outbox.mirror_event(group, cancelled) == mirror_id
    assert mirror.status == 4
    # Deleted by hand in Discord: forgotten, not recreated.
    await peer.scheduled_events.delete_by_hand(mirror)
    assert await bot.outbox.mirror_event(group, moved) is None
    assert not peer.scheduled_events.in_guild(peer.guild)


async def test_without_manage_events_the_creator_is_told_once_privately(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    group, creator = await _group(bot, peer)
    await bot.outbox.mirror_event(group, _event(bot, creator))
    await bot.outbox.mirror_event(group, _event(bot, creator, event_id=8))
    dm = peer.dm_channel(peer.member)
    told = await peer.wait_for_message(dm, lambda m: "Manage Events" in m.content)
    assert "Tenants' assembly" in told.content
    assert len(peer.channel_messages(dm)) == 1, "the permission notice came twice"
    assert not peer.scheduled_events.in_guild(peer.guild)
    assert all("Manage Events" not in m.content for m in peer.channel_messages(peer.channel))


async def _event_new(bot: RunningBot, peer: DiscordPeer) -> StoredMessage:
    """`/event new` three days from the bot's today (Discord refuses events in the past)."""
    day = (bot.app.clock.now().astimezone(BERLIN) + timedelta(days=3)).date()
    after = peer.last_message_id()
    await bot.slash(
        peer.member,
        "event new",
        title="Street party",
        date=day.isoformat(),
        time="16:00",
        length="3h",
        place="Linden Square",
    )
    return await peer.wait_for_message(
        peer.channel, lambda m: "Street party" in m.content, source=None, after=after
    )


async def test_event_commands_drive_the_mirror_and_interested_counts_as_maybe(
    peer: DiscordPeer, data_dir: Path
) -> None:
    _allow_events(peer)
    async with start_bot(peer, data_dir) as bot:
        card = await _event_new(bot, peer)
        mirror = await peer.scheduled_events.wait_for(peer.guild)
        assert (mirror.name, mirror.location) == ("Street party", "Linden Square")
        assert mirror.end is not None
        assert mirror.end - mirror.start == timedelta(hours=3)
        await peer.scheduled_events.mark_interested(peer.admin, mirror)
        await peer.changed.wait_for(lambda: True if "Maybe 1" in card.content else None, 5, "")
        assert "admin" in card.content
        await peer.scheduled_events.unmark_interested(peer.admin, mirror)
        await peer.changed.wait_for(lambda: True if "Maybe 0" in card.content else None, 5, "")
        await bot.slash(peer.member, "event edit", event="1", place="Town hall")
        assert mirror.location == "Town hall"
    async with start_bot(peer, data_dir) as bot:  # the mirror's id is kept on the event
        await bot.slash(peer.member, "event cancel", event="1")
        assert mirror.status == 4
        assert len(peer.scheduled_events.in_guild(peer.guild)) == 1
    assert not peer.unknown_routes


async def test_event_new_without_manage_events_tells_the_creator_once(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await _event_new(bot, peer)
    dm = peer.dm_channel(peer.member)
    told = await peer.wait_for_message(dm, lambda m: "Manage Events" in m.content)
    assert "Street party" in told.content
    await _event_new(bot, peer)
    assert len(peer.channel_messages(dm)) == 1
    assert not peer.scheduled_events.in_guild(peer.guild)
