"""Local fake Discord server ("peer") for end-to-end tests of the unmodified discord.py client."""

from .interactions import InteractionHandle, Reply
from .rest import RecordedRequest
from .scheduled_events import MANAGE_EVENTS, PeerScheduledEvent
from .server import DiscordPeer, patch_discord, run_client
from .state import (
    EPHEMERAL,
    MANAGE_GUILD,
    PeerChannel,
    PeerGuild,
    PeerRole,
    PeerUser,
    StoredMessage,
)

__all__ = [
    "EPHEMERAL",
    "MANAGE_EVENTS",
    "MANAGE_GUILD",
    "DiscordPeer",
    "InteractionHandle",
    "PeerChannel",
    "PeerGuild",
    "PeerRole",
    "PeerScheduledEvent",
    "PeerUser",
    "RecordedRequest",
    "Reply",
    "StoredMessage",
    "patch_discord",
    "run_client",
]
