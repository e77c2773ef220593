"""Numbered choices the bot offered (snooze until when, confirm forget), kept across restarts."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from storage import models as m
from storage.transaction import savepoint

# A choice is answered within minutes; after this long the typed command is the way.
KEPT_FOR = timedelta(days=30)
# Old offers go at most this often (one DELETE, a write, was part of every offer: of every
# scheduled DM's preparation); `_pruned` is when this process last did it.
PRUNE_EVERY = timedelta(minutes=10)
_pruned: list[datetime] = []


@dataclass(frozen=True)
class OfferedChoiceRec:
    platform: str
    message_id: str
    owner: str  # the platform id of the one member who may answer; "" = whoever it concerns
    actions: tuple[str, ...]  # encoded actions, in the order the choices are numbered
    thread: str | None


async def record_choices(
    platform: str,
    message_id: str,
    owner: str,
    actions: tuple[str, ...],
    now: datetime,
    *,
    thread: str | None = None,
) -> None:
    """Keep one offer; offers older than KEPT_FOR go too (one DELETE, every PRUNE_EVERY)."""
    if not _pruned or not _pruned[0] <= now < _pruned[0] + PRUNE_EVERY:
        await m.OfferedChoice.filter(created_at__lt=now - KEPT_FOR).delete()
        _pruned[:] = [now]
    # The same message recorded twice (a retried hand-over): the first one stands.
    with contextlib.suppress(IntegrityError):
        async with savepoint():
            await m.OfferedChoice.create(
                platform=platform,
                message_id=message_id,
                owner=owner,
                actions=list(actions),
                thread=thread,
                created_at=now,
            )


async def find_choices(platform: str, message_id: str) -> OfferedChoiceRec | None:
    row = await m.OfferedChoice.get_or_none(platform=platform, message_id=message_id)
    if row is None:
        return None
    return OfferedChoiceRec(
        row.platform,
        row.message_id,
        row.owner,
        tuple(str(a) for a in row.actions),
        row.thread,
    )
