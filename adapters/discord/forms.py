"""Create by form: a command declared with a form opens a Discord modal built from its arguments.

`/pledge new` typed without its required options opens a modal: one labelled field per
argument (a radio group for a short list of choices, a text input otherwise). Submitting it runs
the command exactly as the typed options would, so the engine checks the values and answers a
bad one with the same clear message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.commands.registry import Arg, Command

from .respond import apologise

log = logging.getLogger("logoff.discord")

CommandRunner = Callable[[discord.Interaction, tuple[str, ...], dict[str, str]], Awaitable[None]]

MAX_FIELDS = 5  # a modal holds at most five labelled components
MAX_LABEL = 45
MAX_DESCRIPTION = 100
MAX_PLACEHOLDER = 100
FORM_PREFIX = "lo1form:"


def wants_form(command: Command, raw: dict[str, str]) -> bool:
    """Run without a required option: the member gets the form instead of an error."""
    return bool(command.form) and any(a.required and a.name not in raw for a in command.args)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(arg: Arg) -> discord.ui.Item[Any]:
    custom_id = f"field:{arg.name}"
    if arg.kind == "choice" and 2 <= len(arg.choices) <= 10:
        options = [discord.RadioGroupOption(label=c, value=c) for c in arg.choices]
        return discord.ui.RadioGroup(custom_id=custom_id, options=options, required=arg.required)
    return discord.ui.TextInput(
        custom_id=custom_id,
        style=discord.TextStyle.short,
        required=arg.required,
        max_length=min(arg.max_len, 4000) if arg.kind == "text" else 40,
        placeholder=_cut(arg.placeholder or arg.shape(), MAX_PLACEHOLDER),
    )


class CommandForm(discord.ui.Modal):
    """The modal for one command; its answers go to the engine like typed options."""

    def __init__(self, command: Command, run: CommandRunner) -> None:
        super().__init__(
            title=_cut(command.form, MAX_LABEL),
            custom_id=_cut(FORM_PREFIX + "_".join(command.path), 100),
            timeout=15 * 60,
        )
        self.command = command
        self.run = run
        self.fields: dict[str, discord.ui.Item[Any]] = {}
        for arg in command.args[:MAX_FIELDS]:
            item = _field(arg)
            self.fields[arg.name] = item
            label = arg.name.capitalize() + ("" if arg.required else " (optional)")
            self.add_item(
                discord.ui.Label(
                    text=_cut(label, MAX_LABEL),
                    description=_cut(arg.help, MAX_DESCRIPTION),
                    component=item,
                )
            )

    def values(self) -> dict[str, str]:
        """What the member filled in, as the raw strings typed options would carry."""
        raw: dict[str, str] = {}
        for name, item in self.fields.items():
            value = (
                item.value
                if isinstance(item, discord.ui.TextInput | discord.ui.RadioGroup)
                else None
            )
            if value is not None and str(value).strip():
                raw[name] = str(value).strip()
        return raw

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await self.run(interaction, self.command.path, self.values())

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await apologise(interaction, error, f"form {self.command.name}")


async def open_form(interaction: discord.Interaction, command: Command, run: CommandRunner) -> None:
    await interaction.response.send_modal(CommandForm(command, run))
