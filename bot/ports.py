"""The protocol adapters implement for messages the bot starts (reminders, prompts, summaries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.messages.replies import Reply
from storage.records import GroupRec, MemberRec

# Where a message's idempotency key travels: `reply.extra[IDEMPOTENCY_KEY]`, the job's own
# dedupe-derived key (`send:g7:...`), the same on every attempt, in every process.
IDEMPOTENCY_KEY = "idempotency_key"


def idempotency_key(reply: Reply) -> str:
    return str(reply.extra.get(IDEMPOTENCY_KEY, ""))


class Outbox(Protocol):
    """Send a message; return the platform's message id once the platform accepted it.

    Raise `bot.errors.DeliveryError` when it did not (retryable or not); the scheduler retries.
    A `Reply` with buttons is a question: its buttons carry encoded actions (bot.messages.actions).

    Exactly once: every scheduled reply carries its key (`idempotency_key(reply)`). A send must
    be idempotent on it where the platform allows (a Matrix transaction id derived from it on
    the same device, a Discord nonce with `enforce_nonce`) and must leave the key where
    `find_sent` can see it (Matrix: in the event content). Before the scheduler sends a job
    again that may have been accepted already (it was handed over before a crash, a database
    outage or a lease takeover) it calls `find_sent`; a message id found there is recorded as
    sent and nothing is posted.
    """

    async def send_to_group(self, group: GroupRec, reply: Reply) -> str: ...

    async def send_to_member(
        self, member: MemberRec, reply: Reply, fallback: GroupRec | None
    ) -> str: ...

    async def find_sent(self, key: str, group: GroupRec, member: MemberRec | None) -> str | None:
        """The id of a message sent earlier with `key` (to the member's DM, or to `group`,
        where a DM may have fallen back to), or None when the platform shows none. A message
        sent in several parts of which only some are there is not sent: None, and the send of
        `key` that follows posts only the parts missing. Raise `DeliveryError` when the
        platform cannot be asked now."""
        ...

    async def edit(self, group: GroupRec, message_id: str, reply: Reply) -> None:
        """Replace a message the bot posted in the group's channel (issue 14: an event's card
        after an RSVP). Discord edits the message; Matrix sends an `m.replace` event."""
        ...


@runtime_checkable
class SendAhead(Protocol):
    """Optional: the part of a scheduled send that may run before its due instant.

    The scheduler prepares a round ahead of its due instant; for each message it will send it
    calls this after the handed-over mark and before it waits for the instant, with the reply
    and target the send gets. What it stores must be harmless if the send then fails (the
    send's retry does it again). Matrix: what the message's numbered choices mean."""

    async def prepare_send(
        self, group: GroupRec, member: MemberRec | None, reply: Reply
    ) -> None: ...


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
