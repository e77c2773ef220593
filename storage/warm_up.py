"""First-query and first-commit costs, paid after ready in the background, not by a command."""

from __future__ import annotations

from storage import board_reads, groups, incoming, pledges
from storage import models as m
from storage.dialect import is_postgres
from storage.transaction import atomic

# The models a command or a tap reads or writes on its way (claim, group, member, pledges,
# check-ins, the reply's sent record, jobs for re-planning).
_MODELS = (
    m.Group,
    m.Member,
    m.Pledge,
    m.Participation,
    m.CheckIn,
    m.Vouch,
    m.Outcome,
    m.GroupWeek,
    m.Job,
    m.SentMessage,
    m.IncomingEvent,
    m.OfferedChoice,
    m.Event,
    m.Rsvp,
)


async def warm_up() -> None:
    """Read nothing (keys no row has) through each model and the command path's lookups.

    Tortoise builds a model's executor and SQL templates on its first query, and SQLite
    loads the schema and index pages on the first read: the first command after a start
    paid for all of it. Reads only, so it is harmless beside anything else.
    """
    for model in _MODELS:
        await model.filter(id=0).first()
    await groups.find_group("", "")
    await groups.find_member("", "")
    await pledges.group_pledges(0, ("active", "paused"))
    await board_reads.board_rows([0], None, [""], [""])
    await incoming.get("", "")
    await restart_journal()


async def restart_journal() -> None:
    """SQLite: the first commit after the database is opened, made here, with no change.

    In WAL mode the first commit of a new connection starts the write-ahead log over: it
    writes the log's header and syncs it to disk (5-18 ms here), and the first command after
    a start paid for that in its commit. Writing the database's `user_version` back unchanged
    is a commit that changes nothing. Nothing on PostgreSQL."""
    if is_postgres():
        return
    async with atomic() as conn:
        rows = await conn.execute_query_dict("PRAGMA user_version")
        version = int(rows[0]["user_version"])
        await conn.execute_query(f"PRAGMA user_version = {version}")
