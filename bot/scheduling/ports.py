"""The protocol adapters implement for messages the bot starts (reminders, prompts, summaries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.messages.replies import Reply
from storage.records import GroupRec, MemberRec


class Outbox(Protocol):
    """Send a message; return the platform's message id once the platform accepted it.

    Raise `bot.errors.DeliveryError` when it did not (retryable or not); the scheduler retries.
    A `Reply` with buttons is a question: its buttons carry encoded actions (bot.messages.actions).
    """

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str: ...

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str: ...

    async def edit(self, group: GroupRec, message_id: str, reply: Reply) -> None:
        """Replace a message the bot posted in the group's channel (issue 14: an event's card
        after an RSVP). Discord edits the message; Matrix sends an `m.replace` event."""
        ...


# -- offline events (issue 14): optional abilities an adapter's Outbox may have ---------------


@dataclass(frozen=True)
class MirroredEvent:
    """What a platform's own calendar needs of an offline event (Discord scheduled events)."""

    event_id: int
    title: str
    starts_at: datetime  # aware UTC
    ends_at: datetime  # aware UTC
    place: str = ""
    description: str = ""
    cancelled: bool = False
    creator: MemberRec | None = None  # told once, privately, when the platform refuses
    mirror_id: str | None = None  # the platform's copy, once there is one


@runtime_checkable
class EventMirror(Protocol):
    """Mirror an event into the platform's native calendar; best effort, never raises.
    Returns the platform's id of the copy (kept on the event), or None when there is none."""

    async def mirror_event(self, group: GroupRec, event: MirroredEvent) -> str | None: ...
