"""One command call as the handlers see it: who, where, when, and the typed arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.actors import Actor, Place
from bot.errors import UserError
from storage.records import GroupRec, MemberRec

if TYPE_CHECKING:
    from bot.commands.registry import Command
    from bot.engine.engine import Engine


@dataclass
class Invocation:
    engine: Engine
    command: Command
    actor: Actor
    place: Place
    member: MemberRec
    group: GroupRec | None
    now: datetime
    event_key: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.engine.prefix

    def need_group(self) -> GroupRec:
        if self.group is None:
            raise UserError(
                "This works in a group channel or room, not in a direct chat with me.",
                "Run it in the channel where your group's pledges live.",
            )
        return self.group

    @property
    def tz(self) -> ZoneInfo:
        """The zone to show times in: the member's own, else the group's, else the default."""
        from bot.rules.localtime import parse_timezone

        name = self.member.timezone or (self.group.timezone if self.group else None)
        return parse_timezone(name or self.engine.defaults.timezone)

    def usage(self) -> str:
        return self.command.usage_line(self.prefix)
