"""Answering interactions: fast replies in place, a deferral when the 3-second window is at risk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable

import discord

from bot.messages.event_card import CARD_KEY
from bot.messages.replies import Reply

from .render import Rendered, render

log = logging.getLogger("logoff.discord")

Posted = Callable[[str, Reply], Awaitable[None]]

# Discord drops an interaction not acknowledged within 3 s; answer directly when the engine is
# quicker than this (the right visibility from the start), otherwise defer and follow up.
DEFER_AFTER = 2.0
POSTED_BELOW = "Posted in the channel."
CLOSED_DM_NOTICE = (
    "I tried to send you a direct message but your DMs are closed, so I mention you in the "
    "channel instead. To get reminders privately, allow direct messages from members of this "
    "server (Privacy Settings), or use `/remind <pledge> <slot> channel`."
)


async def answer_with(
    interaction: discord.Interaction, work: Awaitable[Reply], posted: Posted | None = None
) -> None:
    """Run the engine call and show its Reply; defers first when it is slow. `posted` hears
    the id of a public answer's last message (the one with the buttons: an event's card)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    if not done:
        await interaction.response.defer(ephemeral=True, thinking=True)
    reply = await task
    message_id = await deliver(interaction, reply)
    if posted is not None and message_id is not None:
        await posted(message_id, reply)


async def deliver(interaction: discord.Interaction, reply: Reply) -> str | None:
    """Show the reply; the id of its last message when it is public (None when private)."""
    rendered = render(reply)
    count = len(rendered.chunks)
    last: str | None = None
    channel = interaction.channel
    card = CARD_KEY in reply.extra and not rendered.ephemeral
    if card and isinstance(channel, discord.abc.Messageable):
        return await _post_card(interaction, channel, rendered)
    if not interaction.response.is_done():
        sent = await interaction.response.send_message(
            **rendered.kwargs(0), ephemeral=rendered.ephemeral
        )
        last = str(sent.message_id) if sent.message_id else None
        for i in range(1, count):
            more = await interaction.followup.send(
                **rendered.kwargs(i), ephemeral=rendered.ephemeral, wait=True
            )
            last = str(more.id)
        return None if rendered.ephemeral else last
    # Deferred as private "thinking": a follow-up keeps that visibility, so a public answer is
    # posted in the channel and the private placeholder says where it went.
    if rendered.ephemeral or not isinstance(channel, discord.abc.Messageable):
        for i in range(count):
            await interaction.followup.send(**rendered.kwargs(i), ephemeral=True)
        return None
    await interaction.followup.send(POSTED_BELOW, ephemeral=True)
    for i in range(count):
        last = str((await channel.send(**rendered.kwargs(i))).id)
    return last


async def _post_card(
    interaction: discord.Interaction, channel: discord.abc.Messageable, rendered: Rendered
) -> str:
    """An event's card is edited for days: it must be the bot's own channel message, since an
    interaction's response can be edited through its token for 15 minutes only."""
    if interaction.response.is_done():
        await interaction.followup.send(POSTED_BELOW, ephemeral=True)
    else:
        await interaction.response.send_message(POSTED_BELOW, ephemeral=True)
    last = ""
    for i in range(len(rendered.chunks)):
        last = str((await channel.send(**rendered.kwargs(i))).id)
    return last


async def apologise(interaction: discord.Interaction, error: BaseException, what: str) -> None:
    """The one boundary for the unexpected: log it with context, tell the member a reference."""
    ref = secrets.token_hex(3)
    log.error(
        "discord %s failed ref=%s interaction=%s user=%s guild=%s channel=%s",
        what,
        ref,
        interaction.id,
        interaction.user.id,
        interaction.guild_id,
        interaction.channel_id,
        exc_info=error,
    )
    text = (
        f"Sorry, something went wrong on my side (reference `{ref}`). "
        "Please try again; if it keeps happening, tell whoever runs this bot."
    )
    with contextlib.suppress(discord.HTTPException):
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
