"""Slash commands built from the registry: synced once, answered publicly or privately, guarded."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app.bootstrap import sync_discord_commands
from bot.app.cli import main as logoff
from bot.commands import build_registry
from bot.commands.registry import Role
from tests.discord.harness import RunningBot, make_config, start_bot
from tests.discord_peer import MANAGE_GUILD, DiscordPeer
from tests.discord_peer.gateway import PRIVILEGED_INTENTS

SUBCOMMAND, USER, STRING, INTEGER = 1, 6, 3, 4


def _command_puts(peer: DiscordPeer) -> list[str]:
    return [r.path for r in peer.requests if r.method == "PUT" and r.path.endswith("/commands")]


async def test_the_synced_commands_match_the_registry(bot: RunningBot, peer: DiscordPeer) -> None:
    registry = build_registry()
    synced = {c["name"]: c for c in peer.commands_in(None)}
    expected_top = {c.path[0] for c in registry.all()}
    assert set(synced) == expected_top
    for command in registry.all():
        top = synced[command.path[0]]
        if len(command.path) == 2:
            leaf = next(o for o in top["options"] if o["name"] == command.path[1])
            assert leaf["type"] == SUBCOMMAND
        else:
            leaf = top
            admin = MANAGE_GUILD if command.who is Role.ADMIN else None
            perms = top["default_member_permissions"]
            assert (int(perms) if perms is not None else None) == admin, command.name
        options = leaf.get("options", [])
        assert {o["name"] for o in options} == {a.name for a in command.args}, command.name
        required = [o["required"] for o in options]
        assert required == sorted(required, reverse=True), f"required first in /{command.name}"
        assert all(o["description"] for o in options)
        for arg in command.args:
            option = next(o for o in options if o["name"] == arg.name)
            # a command with a form takes its options optionally: without them the form opens
            assert option.get("required", False) == (arg.required and not command.form)
            if arg.kind == "pledge":
                assert option["autocomplete"] is True
            if arg.kind == "member":
                assert option["type"] == USER
            if arg.kind == "int":
                assert option["type"] == INTEGER
                assert (option.get("min_value"), option.get("max_value")) == (
                    arg.minimum,
                    arg.maximum,
                )
            if arg.kind == "choice":
                assert [c["value"] for c in option["choices"]] == list(arg.choices)
    pledge_subs = {o["name"] for o in synced["pledge"]["options"]}
    assert pledge_subs == {c.path[1] for c in registry.nouns()["pledge"]}
    assert peer.intents is not None
    assert not peer.intents & PRIVILEGED_INTENTS


async def test_a_second_start_with_the_same_commands_does_not_sync_again(
    peer: DiscordPeer, data_dir: Path
) -> None:
    async with start_bot(peer, data_dir):
        pass
    assert len(_command_puts(peer)) == 1
    async with start_bot(peer, data_dir) as running:
        reply = await running.slash(peer.member, "help")
        assert "pledge new" in (reply.content or "")
    assert len(_command_puts(peer)) == 1
    scopes = await sync_discord_commands(make_config(data_dir))
    assert scopes == [f"{peer.application_id}:global"]
    assert len(_command_puts(peer)) == 2


async def test_configured_guilds_get_their_own_commands(peer: DiscordPeer, data_dir: Path) -> None:
    async with start_bot(peer, data_dir, guilds=(peer.guild.id,)) as running:
        assert peer.command("pledge", peer.guild) is not None
        assert peer.commands_in(None) == []
        reply = await running.slash(peer.member, "pledge new", title="Call a neighbour")
        assert "Call a neighbour" in (reply.content or "")


async def test_a_new_pledge_is_announced_publicly_and_the_list_is_private(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    created = await bot.slash(
        peer.member, "pledge new", title="Attend one local meeting", per="week", times=1
    )
    assert not created.ephemeral
    assert "Attend one local meeting" in (created.content or "")
    assert created.message is not None
    assert created.message.pinged_user_ids == []
    listed = await bot.slash(peer.member, "pledge list")
    assert listed.ephemeral
    assert "Attend one local meeting" in (listed.content or "")


async def test_every_command_answers_as_a_slash_interaction(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.admin, "pledge new", title="Call a neighbour")
    await bot.slash(peer.member, "pledge new", title="Knock on doors", times=2)
    calls: list[tuple[object, str, dict[str, object]]] = [
        (peer.member, "help", {}),
        (peer.member, "help", {"command": "pledge new"}),
        (peer.member, "pledge list", {}),
        (peer.member, "pledge join", {"pledge": "1"}),
        (peer.member, "done", {"pledge": "Call", "note": "with Sam"}),
        (peer.admin, "vouch", {"member": peer.member, "pledge": "1"}),
        (peer.member, "undo", {"pledge": "1"}),
        (peer.member, "skip", {"pledge": "2", "reason": "ill this week"}),
        (peer.member, "streak", {"member": peer.admin}),
        (peer.member, "summary", {}),
        (peer.member, "remind", {"pledge": "1", "slot": "thu 18:00", "delivery": "dm"}),
        (peer.member, "offline", {"duration": "2h"}),
        (peer.member, "me timezone", {"zone": "Europe/Paris"}),
        (peer.admin, "settings", {}),
        (peer.admin, "settings", {"key": "timezone", "value": "Europe/Paris"}),
        (peer.member, "pledge pause", {"pledge": "2"}),
        (peer.member, "pledge resume", {"pledge": "2"}),
        (peer.member, "pledge leave", {"pledge": "1"}),
        (peer.member, "pledge archive", {"pledge": "2"}),
        (peer.member, "export", {}),
        (peer.member, "forget", {}),
    ]
    for user, name, options in calls:
        reply = await bot.slash(user, name, **options)  # type: ignore[arg-type]
        content = reply.content or ""
        assert content.strip(), f"/{name} gave an empty reply"
        assert "went wrong" not in content, f"/{name}: {content}"
    settings = await bot.slash(peer.admin, "settings", key="timezone", value="Europe/Berlin")
    assert not settings.ephemeral
    summary = await bot.slash(peer.member, "summary")
    assert summary.ephemeral


async def test_an_admin_command_from_a_member_without_manage_server_is_refused(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    await bot.slash(peer.member, "pledge list")
    refused = await bot.slash(peer.member, "settings", key="timezone", value="Asia/Tokyo")
    assert refused.ephemeral
    assert "Only group admins" in (refused.content or "")
    group = await bot.group()
    assert group.timezone == "Europe/Berlin"
    allowed = await bot.slash(peer.admin, "settings", key="timezone", value="Asia/Tokyo")
    assert "Asia/Tokyo" in (allowed.content or "")
    assert (await bot.group()).timezone == "Asia/Tokyo"


async def test_bad_input_is_explained_privately(bot: RunningBot, peer: DiscordPeer) -> None:
    reply = await bot.slash(peer.member, "done", pledge="nothing like this")
    assert reply.ephemeral
    assert "No pledge here matches" in (reply.content or "")


async def test_autocomplete_offers_the_pledges_of_this_channel(
    bot: RunningBot, peer: DiscordPeer
) -> None:
    other = peer.add_channel(peer.guild, "elsewhere")
    await bot.slash(peer.member, "pledge new", title="Call a neighbour")
    await bot.slash(peer.member, "pledge new", title="Knock on 10 doors")
    await bot.slash(peer.member, "pledge new", channel=other, title="Cook for the crew")
    everything = await peer.autocomplete(peer.member, peer.channel, "done", focused="pledge")
    choices = await everything.wait_choices(timeout=5)
    assert [c["value"] for c in choices] == ["1", "2"]
    assert [c["name"] for c in choices] == ["1 · Call a neighbour", "2 · Knock on 10 doors"]
    typed = await peer.autocomplete(
        peer.member, peer.channel, "pledge", subcommand="join", focused="pledge",
        options={"pledge": "kno"},
    )  # fmt: skip
    assert [c["name"] for c in await typed.wait_choices(timeout=5)] == ["2 · Knock on 10 doors"]
    there = await peer.autocomplete(peer.member, other, "undo", focused="pledge")
    assert [c["name"] for c in await there.wait_choices(timeout=5)] == ["1 · Cook for the crew"]


async def test_logoff_discord_sync_pushes_the_commands_even_when_unchanged(
    peer: DiscordPeer, data_dir: Path
) -> None:
    async with start_bot(peer, data_dir):
        pass
    config = data_dir.parent / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{data_dir}"\n[discord]\nenabled = true\ntoken = "peer-token"\n',
        encoding="utf-8",
    )
    # the CLI entry point runs its own event loop, so call it from a worker thread
    code = await asyncio.wait_for(
        asyncio.to_thread(logoff, ["discord-sync", "--config", str(config)]), 10
    )
    assert code == 0
    assert len(_command_puts(peer)) == 2
    assert len(peer.gateway.identifies) == 1, "the sync does not open the gateway"
