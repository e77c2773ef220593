"""A command re-plans only what it changed, and leaves the job table as a full re-plan would."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from benchmarks.common import StatementCounter
from bot.scheduling import group_plans
from storage import jobs as job_queries
from tests.scheduler.support import Rig, rig

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
# Sunday 25 October 2026, 02:30 UTC: Berlin has just left summer time, New York has not.
DST_SUNDAY = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("UTC"))


async def pending() -> set[tuple[str, datetime, str]]:
    rows = await job_queries.jobs_with(statuses=["pending"])
    return {(j.dedupe_key, j.due_at, json.dumps(j.payload, sort_keys=True)) for j in rows}


async def assert_plan_is_whole(r: Rig) -> set[tuple[str, datetime, str]]:
    """A full re-plan right after the command finds nothing to add, move or drop."""
    group = await r.group()
    before = await pending()
    assert await group_plans.plan_group(group.id, r.clock.now()) == 0
    assert await pending() == before
    return before


async def grow(r: Rig, n: int) -> None:
    """The group gets its n-th pledge and two more members, who join every pledge, one with a
    personal slot on the new one; so the group's plan grows with every round (a moved job is
    one UPDATE, so each pledge keeps the same number of personal slots)."""
    await r.say("admin", f'!pledge new "Pledge {n}" per week remind "wed 18:00"')
    for who in (f"m{n}a", f"m{n}b"):
        for k in range(1, n + 1):
            await r.say(who, f"!pledge join {k}")
    for k in range(1, n):
        await r.say(f"m{k}a", f"!pledge join {n}")
        await r.say(f"m{k}b", f"!pledge join {n}")
    await r.say(f"m{n}a", f"!remind {n} thu 07:30 dm")


Step = Callable[[Rig, int], Awaitable[object]]


async def _none(r: Rig, n: int) -> None:
    return None


async def _pause(r: Rig, n: int) -> None:
    await r.say("admin", f"!pledge pause {n}")


async def _new_member_joins(r: Rig, n: int) -> None:
    await r.say(f"x{n}", "!pledge join 1")
    await r.say(f"x{n}", "!remind 1 tue 19:00 dm")


async def _joined_and_left(r: Rig, n: int) -> None:
    await _new_member_joins(r, n)
    await r.say(f"x{n}", "!pledge leave 1")


# (name, set-up outside the count, the counted command, who says it, whether a job changes)
CASES: list[tuple[str, Step, str, str, bool]] = [
    ("join", _none, "!pledge join 1", "x{n}", False),
    ("rejoin", _joined_and_left, "!pledge join 1", "x{n}", True),
    ("leave", _new_member_joins, "!pledge leave 1", "x{n}", True),
    ("pause", _none, "!pledge pause {n}", "admin", True),
    ("resume", _pause, "!pledge resume {n}", "admin", True),
    ("archive", _none, "!pledge archive {n}", "admin", True),
    ("remind", _new_member_joins, "!remind 1 fri 20:15 channel", "x{n}", True),
    ("remind off", _new_member_joins, "!remind 1 off", "x{n}", True),
    ("me timezone", _new_member_joins, "!me timezone America/New_York", "x{n}", True),
    ("forget", _new_member_joins, "!forget confirm", "x{n}", True),
    ("event new", _none, '!event new "Meeting {n}" 2026-12-10 18:30', "admin", True),
    ("settings threshold", _none, "!settings threshold 0.7", "admin", False),
]


@pytest.mark.parametrize(
    ("name", "setup", "text", "who", "moves"), CASES, ids=[c[0] for c in CASES]
)
async def test_a_change_re_plans_only_itself_whatever_the_group_size(
    name: str, setup: Step, text: str, who: str, moves: bool
) -> None:
    async with rig(MONDAY) as r:
        counts = []
        for n in range(1, 7):
            await grow(r, n)
            await setup(r, n)
            speaker = who.format(n=n)
            if name == "forget":
                await r.say(speaker, "!forget")
            before = await pending()
            with StatementCounter() as sql:
                reply = await r.say(speaker, text.format(n=n))
            assert reply is not None, name
            counts.append(sql.count)
            after = await assert_plan_is_whole(r)
            assert (after != before) == moves, name
        # What the command costs does not grow with the group's pledges and members.
        assert max(counts) - min(counts) <= 1, (name, counts)


async def test_a_pause_drops_the_pledges_reminders_and_keeps_the_closes_other_pledges_share():
    async with rig(MONDAY) as r:
        for n in (1, 2):
            await grow(r, n)
        await r.say("admin", "!pledge pause 1")
        keys = {k for k, _, _ in await assert_plan_is_whole(r)}
        group = await r.group()
        assert not any(k.startswith(f"remind:g{group.id}:p1:") for k in keys)
        assert any(k.startswith(f"remind:g{group.id}:p2:") for k in keys)
        assert any(k.startswith(f"close:g{group.id}:") for k in keys)
        await r.say("admin", "!pledge archive 1")
        await r.say("admin", "!pledge archive 2")
        # No planned pledge left: its closes and the weekly summary go too.
        keys = {k for k, _, _ in await assert_plan_is_whole(r)}
        assert not any(k.startswith(("close:", "summary:", "remind:")) for k in keys), keys


async def test_the_last_participant_leaving_takes_the_weekly_summary_with_them():
    async with rig(MONDAY) as r:
        await r.say("admin", '!pledge new "Call a neighbour" per week')
        group = await r.group()
        assert any(k.startswith(f"summary:g{group.id}:") for k, _, _ in await pending())
        await r.say("admin", "!pledge leave 1")
        keys = {k for k, _, _ in await assert_plan_is_whole(r)}
        assert not any(k.startswith("summary:") for k in keys)
        await r.say("ana", "!pledge join 1")
        keys = {k for k, _, _ in await assert_plan_is_whole(r)}
        assert any(k.startswith(f"summary:g{group.id}:") for k in keys)


async def test_a_time_zone_change_on_a_dst_day_moves_the_personal_reminder_only():
    async with rig(DST_SUNDAY) as r:
        await r.say("admin", '!pledge new "Walk" per day remind "18:00"')
        await r.say("ana", "!pledge join 1")
        await r.say("ana", "!remind 1 09:00 dm")
        await r.say("ana", "!me timezone America/New_York")
        jobs = await job_queries.jobs_with(statuses=["pending"], kinds=["remind"])
        personal = sorted(j.due_at for j in jobs if "member_id" in j.payload)
        group_wide = sorted(j.due_at for j in jobs if "member_id" not in j.payload)
        # New York is still on summer time (UTC-4) on 25 October; Berlin is on UTC+1.
        assert [d.astimezone(ZoneInfo("UTC")).hour for d in personal][:1] == [13]
        assert [d.astimezone(BERLIN).hour for d in group_wide] == [18] * len(group_wide)
        await assert_plan_is_whole(r)
        # A week later New York has left summer time too; Chicago's 09:00 is 15:00 UTC.
        await r.wait(timedelta(days=7))
        # The scheduler plans each next day at its close; start from a whole plan again.
        await group_plans.plan_group((await r.group()).id, r.clock.now())
        await r.say("ana", "!me timezone America/Chicago")
        jobs = await job_queries.jobs_with(statuses=["pending"], kinds=["remind"])
        personal = sorted(j.due_at for j in jobs if "member_id" in j.payload)
        assert personal
        assert personal[0].astimezone(ZoneInfo("UTC")).hour == 15
        await assert_plan_is_whole(r)


async def test_a_time_zone_change_typed_in_a_direct_chat_moves_the_reminders_in_every_group():
    from bot.actors import Actor, Place

    async with rig(MONDAY) as r:
        await r.say("admin", '!pledge new "Walk" per day remind "18:00"')
        await r.say("ana", "!pledge join 1")
        await r.say("ana", "!remind 1 09:00 dm")
        dm = Place("test", "dm-ana", "ana", is_direct=True)
        await r.app.engine.handle_text(
            Actor("test", "ana", "ana"), dm, "!me timezone Asia/Tokyo", "dm-1"
        )
        jobs = await job_queries.jobs_with(statuses=["pending"], kinds=["remind"])
        personal = sorted(j.due_at for j in jobs if "member_id" in j.payload)
        assert personal
        assert personal[0].astimezone(ZoneInfo("UTC")).hour == 0
        await assert_plan_is_whole(r)
