"""Messages the bot posted (prompts, reminders), so reactions on them map back to a period.

A row an adapter writes before the send, when the platform has not given the message an id
yet, stands under the message's idempotency key (`pending_id`); `attach_posted` moves it, and
a numbered-choices offer written the same way (storage.choices), under the id once it is
known: right after the send, or when a reconcile found the message on the platform after a
crash between the send and that step. A tap on the message then works either way.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from tortoise.exceptions import IntegrityError

from storage import models as m
from storage.records import SentMessageRec
from storage.transaction import in_a_transaction, savepoint

PENDING = "key:"
# (platform, pending id) -> message id, for keys this process attached outside a transaction:
# the scheduler's `record_sent_many` right after the adapter's own `attach_posted` of the same
# send skips them (it found nothing there). A row written under the key again drops the entry.
ATTACHED_KEPT = 500
_attached: OrderedDict[tuple[str, str], str] = OrderedDict()
_pending_writes = [0]  # rows written under a pending id so far (one running while attaching?)


def pending_id(key: str) -> str:
    """Where a row written before its send stands until the message id is known."""
    return (PENDING + key)[:255]


def pending_written(platform: str, message_id: str) -> None:
    """A row is being written under `message_id`: when that is a pending id, its key has
    something to attach again."""
    if message_id.startswith(PENDING):
        _pending_writes[0] += 1
        _attached.pop((platform, message_id), None)


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
    pending_written(platform, message_id)
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
    One SELECT per table when nothing is pending; none for a key this process attached
    already (the adapter right after the send, then the scheduler recording it)."""
    pending: dict[tuple[str, str], str] = {}
    for platform, key, mid in posted:
        where = (platform, pending_id(key))
        if key and mid and _attached.get(where) != mid:
            pending[where] = mid
    if not pending:
        return
    writes = _pending_writes[0]
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
    # Committed (a rollback cannot bring the pending rows back), and no pending row written
    # meanwhile that this call may have missed.
    if not in_a_transaction() and writes == _pending_writes[0]:
        for where, message_id in pending.items():
            _attached[where] = message_id
            _attached.move_to_end(where)
        while len(_attached) > ATTACHED_KEPT:
            _attached.popitem(last=False)
