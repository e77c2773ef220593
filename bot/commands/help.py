"""The help command: a short list, or one command's usage with an example, from the registry."""

from __future__ import annotations

from bot.commands.invocation import Invocation
from bot.commands.registry import Arg, Command, Registry, describe_args
from bot.errors import UserError
from bot.messages.markup import inert
from bot.messages.replies import Reply, private


def command_help(command: Command, prefix: str) -> str:
    lines = [f"**{prefix}{command.name}** — {command.help}", command.usage_line(prefix)]
    lines.extend(describe_args(command))
    if command.details:
        lines.append(command.details)
    if command.who.value not in ("anyone", "member"):
        lines.append(f"Who: {command.who.value}.")
    return "\n".join(lines)


def overview(registry: Registry, prefix: str) -> str:
    lines = ["**Logoff** — small offline pledges, kept together. Commands:"]
    for cmd in registry.all():
        lines.append(f"`{cmd.usage(prefix)}` — {cmd.help}")
    lines.append(f"`{prefix}help <command>` shows one command with an example.")
    return "\n".join(lines)


async def help_(inv: Invocation) -> Reply:
    topic = (inv.args.get("command") or "").strip().lower().lstrip(inv.prefix)
    registry = inv.registry
    if not topic:
        return private(overview(registry, inv.prefix))
    words = topic.split()
    found = registry.find(words)
    if found:
        return private(command_help(found[0], inv.prefix))
    nouns = registry.nouns()
    if words[0] in nouns:
        return private("\n\n".join(command_help(c, inv.prefix) for c in nouns[words[0]]))
    try:
        registry.lookup(words, inv.prefix)
    except UserError as exc:
        raise UserError(exc.message.replace("the command", "a command called"), exc.usage) from None
    raise UserError(f"No help for “{inert(topic)}”.")  # pragma: no cover


def register(reg: Registry) -> None:
    reg.add(
        Command(
            ("help",),
            "The list of commands, or one command's usage",
            "help pledge new",
            help_,
            args=(Arg("command", "text", "a command name", required=False, max_len=40),),
            needs_group=False,
        )
    )
