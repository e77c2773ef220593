"""Slash commands built from the registry: synced once, answered publicly or privately, guarded."""

from __future__ import annotations

from pathlib import Path

from adapters.discord import sync_commands
from bot.commands import build_registry
from bot.registry import Role
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
            assert option.get("required", False) == arg.required
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
    scopes = await sync_commands(make_config(data_dir))
    assert scopes == [f"{peer.application_id}:global"]
    assert len(_command_puts(peer)) == 2


async def test_configured_guilds_get_their_own_commands(peer: DiscordPeer, data_dir: Path) -> None:
    async with start_bot(peer, data_dir, guilds=(peer.guild.id,)) as running:
        assert peer.command("pledge", peer.guild) is not None
        assert peer.commands_in(None) == []
        reply = await running.slash(peer.member, "pledge new", title="Call a neighbour")
        assert "Call a neighbour" in (reply.content or "")
