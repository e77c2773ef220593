"""Messages the bot posted (prompts, reminders), so reactions on them map back to a period.

A row an adapter writes before the send, when the platform has not given the message an id
yet, stands under the message's idempotency key (`pending_id`); `attach_posted` moves it, and
a numbered-choices offer written the same way (storage.choices), under the id once it is
known: right after the send, or when a reconcile found the message on the platform after a
crash between the send and that step. A tap on the message then works either way. The adapter
that wrote such rows is the one that attaches them (Matrix: adapters.matrix), once per send;
the scheduler's record of the send (storage.scheduling.record_sent_many) leaves them alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime

from tortoise.exceptions import IntegrityError

from storage import models as m
from storage.records import SentMessageRec
from storage.transaction import savepoint

PENDING = "key:"


def pending_id(key: str) -> str:
    """Where a row written before its send stands until the message id is known."""
    return (PENDING + key)[:255]


def _rec(row: m.SentMessage) -> SentMessageRec:
    return SentMessageRec(
        id=row.id,
        platform=row.platform,
        message_id=row.message_id,
        group_id=row.group_id_ref,
        pledge_id=row.pledge_id_ref,
        period_key=row.period_key,
        kind=row.kind,
    )


async def record_sent(
    platform: str,
    message_id: str,
    kind: str,
    now: datetime,
    *,
    group_id: int | None = None,
    pledge_id: int | None = None,
    period_key: str | None = None,
) -> None:
    # The same message recorded twice (a retried hand-over): once is enough.
    with contextlib.suppress(IntegrityError):
        async with savepoint():
            await m.SentMessage.create(
                platform=platform,
                message_id=message_id,
                kind=kind,
                group_id_ref=group_id,
                pledge_id_ref=pledge_id,
                period_key=period_key,
                created_at=now,
            )


async def find_sent(platform: str, message_id: str) -> SentMessageRec | None:
    row = await m.SentMessage.get_or_none(platform=platform, message_id=message_id)
    return _rec(row) if row else None


async def attach_posted(posted: Iterable[tuple[str, str, str]]) -> None:
    """(platform, idempotency key, message id) of messages a platform accepted: rows written
    for them before the send (prompts here, offers of choices) now stand under the message id.
    One SELECT per table, and a write for each row found. Called once per send, by the
    adapter that wrote the rows."""
    pending = {(platform, pending_id(key)): mid for platform, key, mid in posted if key and mid}
    if not pending:
        return
    ids = sorted({pid for _, pid in pending})
    model: type[m.SentMessage] | type[m.OfferedChoice]
    for model in (m.SentMessage, m.OfferedChoice):
        rows = await model.filter(message_id__in=ids).values_list("id", "platform", "message_id")
        for row_id, platform, pid in rows:
            message_id = pending.get((str(platform), str(pid)))
            if message_id is None:
                continue
            try:
                async with savepoint():
                    await model.filter(id=row_id).update(message_id=message_id)
            except IntegrityError:  # recorded under its id already: that row stands
                await model.filter(id=row_id).delete()
