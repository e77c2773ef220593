"""What readiness asks the database: is it reachable, and how far behind are the due jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.connection import get_connection
from tortoise.functions import Count, Min

from storage import models as m

# Claimed jobs count too: a round that hangs in a send keeps its claims while they age.
WAITING = ("pending", "claimed")


@dataclass(frozen=True)
class Backlog:
    """Jobs due now and not yet handled: how many, and since when the oldest has waited."""

    due: int
    oldest_due_at: datetime | None
    pending: int  # every job still to do, due or not (the queue depth)


async def ping() -> None:
    """One round trip; raises whatever the driver raises when the database does not answer."""
    await get_connection("default").execute_query("SELECT 1")


async def backlog(now: datetime) -> Backlog:
    due = (
        await m.Job.filter(status__in=list(WAITING), due_at__lte=now)
        .annotate(n=Count("id"), first=Min("due_at"))
        .values_list("n", "first")
    )
    count, first = due[0] if due else (0, None)
    pending = await m.Job.filter(status__in=list(WAITING)).count()
    return Backlog(due=int(count or 0), oldest_due_at=first, pending=pending)
