"""Who and where a Discord interaction or reaction comes from, as the core's Actor and Place."""

from __future__ import annotations

import discord

from bot.actors import Actor, Place

PLATFORM = "discord"


def actor_of(interaction: discord.Interaction) -> Actor:
    """The caller; admin means Manage Server in this guild (never in a DM)."""
    user = interaction.user
    is_admin = interaction.guild_id is not None and interaction.permissions.manage_guild
    return Actor(PLATFORM, str(user.id), user.display_name, is_admin=is_admin)


def place_of(interaction: discord.Interaction) -> Place:
    """The channel a group lives in, or the DM with the bot."""
    channel = interaction.channel
    channel_id = interaction.channel_id or (channel.id if channel else 0)
    name = getattr(channel, "name", None) or ""
    return Place(PLATFORM, str(channel_id), name=name, is_direct=interaction.guild_id is None)


def reaction_actor(payload: discord.RawReactionActionEvent, name: str) -> Actor:
    return Actor(PLATFORM, str(payload.user_id), name, is_admin=False)


def reaction_place(payload: discord.RawReactionActionEvent) -> Place:
    return Place(PLATFORM, str(payload.channel_id), is_direct=payload.guild_id is None)


async def member_name(client: discord.Client, guild_id: int | None, user_id: int) -> str:
    """A member's display name for events that carry only their id (a reaction removed,
    Interested): the cache, else one REST call, else the id."""
    guild = client.get_guild(guild_id) if guild_id is not None else None
    if guild is None:
        return str(user_id)
    member = guild.get_member(user_id)
    if member is None:
        try:
            member = await guild.fetch_member(user_id)
        except discord.HTTPException:
            return str(user_id)
    return member.display_name
