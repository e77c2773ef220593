"""The fake Discord peer works with a plain discord.py Client and CommandTree."""

# ruff: noqa: ASYNC109 -- explicit timeout= parameters are the fixture's public API

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands

from tests.discord_peer import EPHEMERAL, MANAGE_GUILD, DiscordPeer, run_client
from tests.discord_peer.gateway import PRIVILEGED_INTENTS


class Calls:
    """Records what the bot's callbacks saw."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.changed = asyncio.Event()

    def add(self, name: str, value: object = None) -> None:
        self.events.append((name, value))
        self.changed.set()

    async def wait(self, name: str, timeout: float = 5.0) -> object:
        async def poll() -> object:
            while True:
                for event, value in self.events:
                    if event == name:
                        return value
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(poll(), timeout)


class PledgeView(discord.ui.View):
    """A persistent view with one custom_id button."""

    def __init__(self, calls: Calls) -> None:
        super().__init__(timeout=None)
        self.calls = calls

    @discord.ui.button(label="Done", custom_id="pledge:done", style=discord.ButtonStyle.green)
    async def done(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.calls.add("clicked", interaction.user.id)
        await interaction.response.send_message("marked done", ephemeral=True)


def build_tree(client: discord.Client, calls: Calls) -> app_commands.CommandTree:
    tree = app_commands.CommandTree(client)
    pledge = app_commands.Group(name="pledge", description="Pledges")

    async def complete_topic(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        topics = ["sleep", "screens", "sport"]
        return [app_commands.Choice(name=t, value=t) for t in topics if t.startswith(current)]

    @pledge.command(name="new", description="Make a pledge")
    @app_commands.describe(topic="What", days="How long")
    @app_commands.autocomplete(topic=complete_topic)
    async def new(interaction: discord.Interaction, topic: str, days: int = 7) -> None:
        perms = interaction.permissions.manage_guild
        calls.add("new", (topic, days, perms))
        await interaction.response.send_message(f"pledged {topic} for {days}d", ephemeral=True)

    @pledge.command(name="slow", description="Deferred answer")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done thinking")
        await interaction.followup.send("second", ephemeral=True)

    @pledge.command(name="board", description="Post a board")
    async def board(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("board", view=PledgeView(calls))

    tree.add_command(pledge)
    return tree


def make_client(intents: discord.Intents | None = None) -> discord.Client:
    return discord.Client(intents=intents or discord.Intents.default())


@pytest.fixture
async def peer() -> AsyncIterator[DiscordPeer]:
    async with DiscordPeer() as p:
        yield p


async def test_client_becomes_ready_with_guild(peer: DiscordPeer) -> None:
    async with run_client(make_client()) as client:
        guild = client.get_guild(peer.guild.id)
        assert guild is not None
        assert guild.get_channel(peer.channel.id) is not None
        assert guild.owner_id == peer.owner.id
        assert guild.me is not None
        assert guild.me.id == peer.bot.id
        assert client.user is not None
        assert client.user.id == peer.bot.id
        assert client.application_id == peer.application_id
        assert peer.intents is not None
        assert not peer.intents & PRIVILEGED_INTENTS
        assert peer.unknown_routes == []


async def test_command_tree_sync_stores_commands(peer: DiscordPeer) -> None:
    client = make_client()
    tree = build_tree(client, Calls())
    async with run_client(client):
        guild = discord.Object(peer.guild.id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
    stored = peer.command("pledge", peer.guild)
    assert stored is not None
    assert [c.id for c in synced] == [int(stored["id"])]
    subs = {o["name"]: o for o in stored["options"]}
    assert set(subs) == {"new", "slow", "board"}
    topic = next(o for o in subs["new"]["options"] if o["name"] == "topic")
    assert topic["autocomplete"] is True


async def _synced(
    peer: DiscordPeer, calls: Calls
) -> tuple[discord.Client, app_commands.CommandTree]:
    client = make_client()
    tree = build_tree(client, calls)
    tree.copy_global_to(guild=discord.Object(peer.guild.id))
    return client, tree


async def test_slash_ephemeral_reply_and_autocomplete(peer: DiscordPeer) -> None:
    calls = Calls()
    client, tree = await _synced(peer, calls)
    async with run_client(client):
        await tree.sync(guild=discord.Object(peer.guild.id))
        handle = await peer.slash(
            peer.admin, peer.channel, "pledge", subcommand="new", options={"topic": "sleep"}
        )
        reply = await handle.wait_reply(timeout=5)
        assert reply.type == 4
        assert reply.content == "pledged sleep for 7d"
        assert reply.flags & EPHEMERAL
        assert reply.ephemeral
        assert await calls.wait("new") == ("sleep", 7, True)

        handle = await peer.slash(
            peer.member, peer.channel, "pledge", subcommand="new", options={"topic": "x", "days": 3}
        )
        await handle.wait_reply()
        assert calls.events[-1] == ("new", ("x", 3, False))

        auto = await peer.autocomplete(
            peer.member, peer.channel, "pledge", subcommand="new", focused="topic",
            options={"topic": "s"},
        )  # fmt: skip
        choices = await auto.wait_choices()
        assert [c["value"] for c in choices] == ["sleep", "screens", "sport"]


async def test_deferred_response_and_followups(peer: DiscordPeer) -> None:
    client, tree = await _synced(peer, Calls())
    async with run_client(client):
        await tree.sync(guild=discord.Object(peer.guild.id))
        handle = await peer.slash(peer.member, peer.channel, "pledge", subcommand="slow")
        callback = await handle.wait_callback()
        assert callback.type == 5
        assert callback.is_deferral
        first = await handle.wait_followup()
        assert first.content == "done thinking"
        assert first.ephemeral
        second = await handle.wait_followup(index=1)
        assert second.content == "second"
        assert second.ephemeral
        assert (await handle.wait_reply()).content == "done thinking"


async def test_persistent_view_click_runs_callback(peer: DiscordPeer) -> None:
    calls = Calls()
    client, tree = await _synced(peer, calls)
    async with run_client(client):
        await tree.sync(guild=discord.Object(peer.guild.id))
        client.add_view(PledgeView(calls))
        channel = client.get_channel(peer.channel.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("Pledge board", view=PledgeView(calls))
        msg = await peer.wait_for_message(peer.channel, lambda m: m.content == "Pledge board")
        assert msg.custom_ids == ["pledge:done"]
        click = await peer.click(peer.member, msg, "pledge:done")
        reply = await click.wait_reply()
        assert reply.content == "marked done"
        assert reply.ephemeral
        assert await calls.wait("clicked") == peer.member.id

        board = await peer.slash(peer.member, peer.channel, "pledge", subcommand="board")
        board_msg = (await board.wait_reply()).message
        assert board_msg is not None
        assert not board_msg.ephemeral
        click2 = await peer.click(peer.admin, board_msg, "pledge:done")
        assert (await click2.wait_reply()).content == "marked done"


async def test_rate_limited_send_arrives_once(peer: DiscordPeer) -> None:
    async with run_client(make_client()) as client:
        channel = client.get_channel(peer.channel.id)
        assert isinstance(channel, discord.TextChannel)
        peer.rate_limit("/channels/{channel_id}/messages", count=1, retry_after=0.2)
        sent = await asyncio.wait_for(channel.send("hello <@1>"), 5)
        assert sent.content == "hello <@1>"
        assert peer.rate_limited == ["POST /channels/{channel_id}/messages"]
        posts = [r for r in peer.requests if r.route == "/channels/{channel_id}/messages"]
        assert [r.status for r in posts] == [429, 200]
        assert [m.content for m in peer.channel_messages(peer.channel)] == ["hello <@1>"]


@pytest.mark.parametrize("abrupt", [False, True])
async def test_dropped_websocket_resumes_and_replays(peer: DiscordPeer, abrupt: bool) -> None:
    calls = Calls()
    client, tree = await _synced(peer, calls)
    resumed = asyncio.Event()
    client.event(_on_resumed(resumed))
    async with run_client(client):
        await tree.sync(guild=discord.Object(peer.guild.id))
        await peer.drop_connection(abrupt=abrupt)
        handle = await peer.slash(
            peer.member, peer.channel, "pledge", subcommand="new", options={"topic": "sleep"}
        )
        reply = await handle.wait_reply(timeout=5)
        assert reply.content == "pledged sleep for 7d"
        await asyncio.wait_for(resumed.wait(), 5)
        assert len(peer.gateway.resumes) == 1
        assert len(peer.gateway.identifies) == 1


def _on_resumed(event: asyncio.Event):  # type: ignore[no-untyped-def]
    async def on_resumed() -> None:
        event.set()

    return on_resumed


async def test_dm_to_closed_user_is_forbidden(peer: DiscordPeer) -> None:
    async with run_client(make_client()) as client:
        user = await client.fetch_user(peer.closed_dm_user.id)
        with pytest.raises(discord.Forbidden) as info:
            await user.send("hi")
        assert info.value.code == 50007
        open_user = await client.fetch_user(peer.member.id)
        await open_user.send("hi there")
        dm = peer.dm_channel(peer.member)
        assert [m.content for m in peer.channel_messages(dm)] == ["hi there"]


async def test_unknown_route_is_recorded(peer: DiscordPeer) -> None:
    async with run_client(make_client()) as client:
        with pytest.raises(discord.NotFound):
            await client.fetch_sticker(1)
        assert [r.path for r in peer.unknown_routes] == ["/stickers/1"]


async def test_manage_guild_role_is_configured(peer: DiscordPeer) -> None:
    assert peer.guild.permissions_of(peer.admin.id) & MANAGE_GUILD
    assert not peer.guild.permissions_of(peer.member.id) & MANAGE_GUILD


async def test_attachments_mentions_and_edits(peer: DiscordPeer) -> None:
    async with run_client(make_client()) as client:
        channel = client.get_channel(peer.channel.id)
        assert isinstance(channel, discord.TextChannel)
        file = discord.File(io.BytesIO(b"report"), filename="report.txt")
        content = f"<@{peer.member.id}> <@{peer.admin.id}>"
        mentions = discord.AllowedMentions(users=[discord.Object(peer.member.id)], everyone=False)
        sent = await channel.send(content, file=file, allowed_mentions=mentions)
        assert sent.attachments[0].filename == "report.txt"
        msg = peer.message_by_id[sent.id]
        assert msg.files == [("report.txt", b"report")]
        assert msg.pinged_user_ids == [peer.member.id]
        await sent.edit(content="edited")
        await sent.add_reaction("✅")
        assert msg.content == "edited"
        assert msg.reactions
        await sent.delete()
        assert msg.deleted


class NoteModal(discord.ui.Modal, title="Note"):
    note = discord.ui.TextInput(label="Note", custom_id="note:text")

    def __init__(self, calls: Calls) -> None:
        super().__init__(custom_id="note:modal")
        self.calls = calls

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.calls.add("note", self.note.value)
        await interaction.response.send_message("noted", ephemeral=True)


async def test_modal_submit_and_update_message(peer: DiscordPeer) -> None:
    calls = Calls()
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="note", description="Write a note")
    async def note(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(NoteModal(calls))

    class Toggle(discord.ui.View):
        @discord.ui.button(label="Off", custom_id="toggle")
        async def toggle(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            button.label = "On"
            await interaction.response.edit_message(content="toggled", view=self)

    @tree.command(name="toggle", description="A toggle")
    async def toggle(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("toggle me", view=Toggle())

    async with run_client(client):
        await tree.sync()
        shown = await peer.slash(peer.member, None, "note")
        assert (await shown.wait_callback()).type == 9
        submitted = await peer.submit_modal(peer.member, shown, {"note:text": "hello"})
        assert (await submitted.wait_reply()).content == "noted"
        assert await calls.wait("note") == "hello"

        posted = await peer.slash(peer.member, peer.channel, "toggle")
        message = (await posted.wait_reply()).message
        assert message is not None
        click = await peer.click(peer.member, message, "toggle")
        update = await click.wait_reply()
        assert update.type == 7
        assert update.content == "toggled"
        assert message.components[0]["components"][0]["label"] == "On"


async def test_a_lost_answer_is_retried_and_the_nonce_keeps_it_to_one_message(
    peer: DiscordPeer,
) -> None:
    async with run_client(make_client()) as client:
        channel = client.get_channel(peer.channel.id)
        assert isinstance(channel, discord.TextChannel)
        peer.lose_responses("/channels/{channel_id}/messages", count=1)
        sent = await asyncio.wait_for(channel.send("once", nonce="same-nonce"), 5)
        again = await channel.send("once", nonce="same-nonce")
        posts = [r.status for r in peer.requests if r.route == "/channels/{channel_id}/messages"]
        assert posts == [502, 200, 200]
        assert sent.id == again.id
        assert [m.content for m in peer.channel_messages(peer.channel)] == ["once"]
