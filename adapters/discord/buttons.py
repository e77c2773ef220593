"""One-tap answer buttons whose custom id is the core's encoded action (survives restarts)."""

from __future__ import annotations

import re
from typing import Any, Protocol, cast

import discord

from bot.messages.actions import PREFIX


class TapHandler(Protocol):
    async def answer_tap(self, interaction: discord.Interaction, action: str) -> None: ...


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(PREFIX) + r":.+"
):
    """Any button whose custom id starts with `lo1:`; discord.py rebuilds it from the id alone."""

    def __init__(self, button: discord.ui.Button[Any]) -> None:
        super().__init__(button)

    @classmethod
    def make(
        cls, label: str, action: str, style: discord.ButtonStyle, emoji: str | None = None
    ) -> AnswerButton:
        return cls(discord.ui.Button(label=label[:80], style=style, custom_id=action, emoji=emoji))

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> AnswerButton:
        assert isinstance(item, discord.ui.Button)
        return cls(item)

    @property
    def action(self) -> str:
        return self.item.custom_id or ""

    async def callback(self, interaction: discord.Interaction) -> None:
        await cast(TapHandler, interaction.client).answer_tap(interaction, self.action)
