"""First-query costs paid at start (while the first sync is in flight), not by the first command."""

from __future__ import annotations

from storage import board_reads, groups, incoming, pledges
from storage import models as m

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
