"""Messages the bot posted (prompts, reminders), so reactions on them map back to a period."""

from __future__ import annotations

import contextlib
from datetime import datetime

from tortoise.exceptions import IntegrityError

from storage import models as m
from storage.records import SentMessageRec
from storage.transaction import savepoint


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
