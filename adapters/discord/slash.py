"""Slash commands built from the core's registry: a group per noun, typed options, autocomplete."""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Literal, Optional

import discord
from discord import app_commands

from bot.commands.registry import Arg, Command, Registry, Role

MAX_DESCRIPTION = 100
MAX_STRING = 6000

CommandRunner = Callable[[discord.Interaction, tuple[str, ...], dict[str, str]], Awaitable[None]]
Completer = Callable[
    [discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]
]
AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def option_type(arg: Arg) -> Any:
    """The annotation discord.py turns into the option's type, bounds and choices."""
    kind: Any
    if arg.kind == "member":
        kind = discord.User
    elif arg.kind == "int":
        if arg.minimum is None and arg.maximum is None:
            kind = int
        else:
            kind = app_commands.Range[int, arg.minimum, arg.maximum]
    elif arg.kind == "float":
        kind = float
    elif arg.kind == "choice" and arg.choices:
        kind = Literal[arg.choices]
    else:
        kind = app_commands.Range[str, 1, min(arg.max_len, MAX_STRING)]
    return kind if arg.required else Optional[kind]  # noqa: UP045 -- typing form discord.py reads


def raw_value(value: Any) -> str | None:
    """An option's value as the raw string the engine converts (members by their user id)."""
    if value is None:
        return None
    if isinstance(value, discord.abc.User):
        return str(value.id)
    return str(value)


def _callback(command: Command, run: CommandRunner) -> Callable[..., Coroutine[Any, Any, None]]:
    path = command.path
    names = [a.name for a in command.args]

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        raw = {n: v for n in names if (v := raw_value(values.get(n))) is not None}
        await run(interaction, path, raw)

    # Discord wants required options first; discord.py reads the options from this signature.
    ordered = sorted(command.args, key=lambda a: not a.required)
    params = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    params += [
        inspect.Parameter(
            a.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=option_type(a),
            default=inspect.Parameter.empty if a.required else None,
        )
        for a in ordered
    ]
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = "_".join(path)
    return callback


def _leaf(
    command: Command,
    run: CommandRunner,
    completers: Mapping[str, Completer],
    parent: app_commands.Group | None,
) -> app_commands.Command[Any, ..., Any]:
    func = _callback(command, run)
    if command.args:
        func = app_commands.describe(**{a.name: _short(a.help) for a in command.args})(func)
    # Every argument of a kind the adapter can complete (pledges, events) gets autocomplete.
    completed = {a.name: completers[a.kind] for a in command.args if a.kind in completers}
    if completed:
        func = app_commands.autocomplete(**completed)(func)
    if parent is None:
        if command.who is Role.ADMIN:
            func = app_commands.default_permissions(manage_guild=True)(func)
        if command.needs_group:
            func = app_commands.guild_only()(func)
    return app_commands.Command(
        name=command.path[-1],
        description=_short(command.help),
        callback=func,
        parent=parent,
        extras={"path": command.path},
    )


def build_commands(
    registry: Registry, run: CommandRunner, completers: Mapping[str, Completer]
) -> list[AppCommand]:
    """Every registry command as a top-level slash command or a subcommand of its noun's group;
    `completers` by argument kind (e.g. "pledge", "event") give those options autocomplete."""
    nouns = registry.nouns()
    built: list[AppCommand] = []
    for noun, members in nouns.items():
        admin_only = all(c.who is Role.ADMIN for c in members)
        group = app_commands.Group(
            name=noun,
            description=_short(f"{noun.capitalize()}: " + ", ".join(c.path[1] for c in members)),
            guild_only=all(c.needs_group for c in members),
            default_permissions=discord.Permissions(manage_guild=True) if admin_only else None,
        )
        for command in members:
            group.add_command(_leaf(command, run, completers, group))
        built.append(group)
    for command in registry.all():
        if len(command.path) == 1:
            if command.path[0] in nouns:
                raise ValueError(f"/{command.path[0]} is both a command and a group")
            built.append(_leaf(command, run, completers, None))
    return built


def command_digest(tree: app_commands.CommandTree[Any]) -> str:
    """A stable hash of exactly what a sync would upload."""
    payload = sorted(
        (c.to_dict(tree) for c in tree.get_commands()), key=lambda c: str(c.get("name"))
    )
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
