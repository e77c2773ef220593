"""Who is acting and where: platform identities as the core sees them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The person behind an event. `is_admin` is the platform's verdict (Manage Server, PL>=50)."""

    platform: str
    external_id: str
    display_name: str
    is_admin: bool = False


@dataclass(frozen=True)
class Place:
    """Where an event happened: a group channel/room, or a direct conversation with the bot."""

    platform: str
    external_id: str
    name: str = ""
    is_direct: bool = False
