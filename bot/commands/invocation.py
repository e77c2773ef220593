"""One command call and one tap as the handlers see them: who, where, when, and what they need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.actors import Actor, Place
from bot.commands.plan_change import PlanChange
from bot.errors import UserError
from bot.messages.actions import Action
from bot.messages.replies import Reply
from bot.ports import MirroredEvent
from storage.records import GroupRec, MemberRec, PledgeRec

if TYPE_CHECKING:
    from bot.commands.registry import Command, Registry


# Edit a posted message in place (the Outbox's `edit`): (group, message id, new reply).
CardHook = Callable[[GroupRec, str, Reply], Awaitable[None]]
# Mirror an event into the platform's own calendar (the Outbox's `mirror_event`).
MirrorHook = Callable[[GroupRec, MirroredEvent], Awaitable[str | None]]


@dataclass(frozen=True)
class EventServices:
    """What offline events (issue 14) reach beyond the database, given by the engine to every
    command call and tap: the platform's in-place edit of an event's card, its calendar
    mirror (None where there is none), and the public base address of the calendar feeds."""

    card_hook: CardHook | None = None
    mirror_hook: MirrorHook | None = None
    feed_base_url: str = ""


# Ask one member again later about a period: (member, pledge, group, verb, period key, now).
Snooze = Callable[[MemberRec, PledgeRec, GroupRec, str, str, datetime], Awaitable[datetime]]


@dataclass
class Invocation:
    command: Command
    actor: Actor
    place: Place
    member: MemberRec
    group: GroupRec | None
    now: datetime
    event_key: str
    # How commands are written where this call came from (`!` typed, `/` on Discord).
    prefix: str
    registry: Registry
    default_timezone: str
    args: dict[str, Any] = field(default_factory=dict)
    services: EventServices = field(default_factory=EventServices)
    # Set by a `replans` command: what it changed, so only that is planned again.
    plan: PlanChange = field(default_factory=PlanChange)

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
        return parse_timezone(name or self.default_timezone)

    def usage(self) -> str:
        return self.command.usage_line(self.prefix)


@dataclass(frozen=True)
class Tap:
    """A tap on a button (or an answering reaction). For a pledge's tap, `pledge` and `group`
    are set and the member takes part in it; `snooze` is None where no scheduler runs."""

    action: Action
    actor: Actor
    place: Place
    member: MemberRec
    now: datetime
    event_key: str
    prefix: str
    pledge: PledgeRec | None = None
    group: GroupRec | None = None
    snooze: Snooze | None = None
    services: EventServices = field(default_factory=EventServices)

    def on_pledge(self) -> tuple[PledgeRec, GroupRec]:
        assert self.pledge is not None, "a pledge's tap"
        assert self.group is not None, "a pledge's tap"
        return self.pledge, self.group
