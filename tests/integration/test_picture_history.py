"""The summary picture's weeks, read through the real engine on SQLite and PostgreSQL.

Six weeks are played on the bot's clock by typing commands as members (a weekly, a daily and
a monthly pledge), the scheduler closes them, and the queries must give back what was typed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from benchmarks.common import StatementCounter
from bot.messages import picture_data
from bot.messages.summary_picture import Mark
from storage import groups, record_cache
from storage.records import GroupRec
from tests.support.session import ConsoleSession, open_session

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # a Monday
MONDAYS = [date(2026, 11, 30) + timedelta(weeks=n) for n in range(6)]


def weekly(week: int) -> list[str]:
    """Wednesday's answers to "Call a neighbour" (pledge 1) in week `week` (0-5)."""
    return [
        ["!done 1", "@ana !done 1"],  # bo joined after the week began: excused
        ["!done 1", "@ana !done 1", "@bo !done 1"],
        ["!done 1", "@bo !done 1", "@ana !skip 1 visiting family"],
        ["!done 1"],
        ["!done 1", "@ana !done 1", "@bo !done 1"],
        ["@ana !done 1", "@bo !done 1"],
    ][week]


async def play(s: ConsoleSession, names: Sequence[str] = ("ana", "bo")) -> None:
    ana, bo = names
    await s.say('!pledge new "Call a neighbour" per week')
    await s.say(f'@{ana} !pledge new "Walk without a phone" per day')
    await s.say(f'@{ana} !pledge new "Visit the library" per month')
    await s.say(f"@{ana} !pledge join 1")
    await s.say(f"@{bo} !pledge join 1")
    # Answers at 14:00, after the previous day's grace window: never ambiguous.
    await s.wait(timedelta(hours=5))
    for week in range(6):
        for day in range(7):
            if day == 2:
                for line in weekly(week):
                    out = await s.say(line.replace("@ana", f"@{ana}").replace("@bo", f"@{bo}"))
                    assert "Call a neighbour" in out, out
            if day != 6 and week != 3:  # every day but Sunday, and not at all in week 3
                assert "Walk without a phone" in await s.say(f"@{ana} !done 2")
            if week == 0 and day == 2:
                assert "Visit the library" in await s.say(f"@{ana} !done 3")
            await s.wait(timedelta(days=1))
    await s.wait(timedelta(hours=1))  # past Monday 12:00: the sixth week has closed


async def _group() -> GroupRec:
    group = await groups.find_group("console", "console")
    assert group is not None
    return group


def _pct(shares: Sequence[float | None]) -> list[int | None]:
    return [None if s is None else round(s * 100) for s in shares]


async def test_the_group_picture_shows_what_members_answered_week_by_week(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await play(s)
        group = await _group()
        record_cache.cache.clear()  # the cold cost: no pledge list cached by the commands
        with StatementCounter() as sql:
            data = await picture_data.group_weeks(group)
        assert sql.count == 3
    assert data is not None
    assert data.weeks[-6:] == tuple(MONDAYS)
    assert data.weeks[0] == MONDAYS[0] - timedelta(weeks=6)
    assert data.before == 6
    by_title = {p.title: p for p in data.pledges}
    assert list(by_title) == ["Call a neighbour", "Walk without a phone", "Visit the library"]
    # Weekly: kept / (kept + missed); an excused answer is not counted.
    assert _pct(by_title["Call a neighbour"].shares[6:]) == [100, 100, 100, 33, 100, 67]
    # Daily: six of seven days, and none in week 3.
    assert _pct(by_title["Walk without a phone"].shares[6:]) == [86, 86, 86, 0, 86, 86]
    # Monthly: December on each week whose middle lies in it; January has not closed.
    assert _pct(by_title["Visit the library"].shares[6:]) == [100, 100, 100, 100, 100, None]
    assert all(share is None for p in data.pledges for share in p.shares[:6])
    # The whole group, as the group streak counts it: each participation once a week, with the
    # share of its periods kept (a daily pledge's week weighs as much as a weekly pledge's).
    # Week 0: 2 calls kept (bo excused) + 6/7 walks, of 3 = 95 %; week 3: 1 of 3 calls, no
    # walk, of 4 = 25 %; week 4 adds December's library visit (kept); week 5 has 2 of 3 calls.
    assert _pct(data.overall[6:]) == [95, 96, 95, 25, 97, 71]
    assert data.met[6:] == (True, True, True, False, True, True)
    assert (data.streak, data.streak_weeks, data.threshold) == (2, 2, 0.6)


async def test_a_members_grid_shows_only_their_own_weeks(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await play(s)
        group = await _group()
        ana = await groups.find_member("console", "ana")
        bo = await groups.find_member("console", "bo")
        carl = await groups.ensure_member("console", "carl", "carl", s.clock.now())
        assert ana is not None
        assert bo is not None
        record_cache.cache.clear()
        with StatementCounter() as sql:
            grid = await picture_data.member_weeks(group, ana.id)
        assert sql.count == 3
        bo_grid = await picture_data.member_weeks(group, bo.id)
        assert await picture_data.member_weeks(group, carl.id) is None
        picture = await picture_data.member_picture(group, ana.id)
    assert grid is not None
    assert bo_grid is not None
    assert picture is not None
    rows = {p.title: [r.mark for r in p.weeks[6:]] for p in grid.pledges}
    K, M, E, P, OPEN = Mark.KEPT, Mark.MISSED, Mark.EXCUSED, Mark.PART, Mark.OPEN
    assert rows == {
        "Call a neighbour": [K, K, E, M, K, K],
        "Walk without a phone": [P, P, P, M, P, P],
        "Visit the library": [K, K, K, K, K, OPEN],
    }
    daily = next(p for p in grid.pledges if p.cadence == "day")
    assert [(r.kept, r.missed) for r in daily.weeks[6:]] == [(6, 1)] * 3 + [(0, 7)] + [(6, 1)] * 2
    assert all(r.mark is Mark.ABSENT for p in grid.pledges for r in p.weeks[:6])
    assert [p.title for p in bo_grid.pledges] == ["Call a neighbour"]
    assert [r.mark for r in bo_grid.pledges[0].weeks[6:]] == [E, K, K, M, K, K]
    assert "Call a neighbour (once a week): kept in 4 weeks, excused in 1" in picture.alt
    assert Image.open(io.BytesIO(picture.png)).size == (picture.width, picture.height)


async def _group_png(url: str, names: Sequence[str]) -> tuple[bytes, str, str]:
    async with open_session(url, START, "Europe/Berlin") as s:
        await play(s, names)
        data = await picture_data.group_weeks(await _group())
        picture = await picture_data.group_picture(await _group())
    assert picture is not None
    return picture.png, picture.alt, repr(data)


async def test_the_group_picture_names_no_member(tmp_path: object):
    """The same answers from members with other names give the very same picture."""
    first = await _group_png(f"sqlite://{tmp_path}/a.db", ("ana", "bo"))
    second = await _group_png(f"sqlite://{tmp_path}/b.db", ("Zuzanna", "Oluwaseun"))
    assert first[0] == second[0]
    assert first[1] == second[1]
    for name in ("Zuzanna", "Oluwaseun"):
        assert name not in second[1]
        assert name not in second[2]


async def test_no_picture_before_the_first_week_closes(session: ConsoleSession):
    await session.say('!pledge new "Call a neighbour" per week')
    await session.say("!done 1")
    group = await _group()
    assert await picture_data.group_weeks(group) is None
    assert await picture_data.group_picture(group) is None
    you = await groups.find_member("console", "you")
    assert you is not None
    assert await picture_data.member_picture(group, you.id) is None
    await session.wait(timedelta(days=7, hours=4))  # Monday 13:00: the week has closed
    data = await picture_data.group_weeks(group)
    assert data is not None
    assert data.before == 11
    assert _pct(data.pledges[0].shares) == [None] * 11 + [100]


@pytest.mark.parametrize("members", [3, 30])
async def test_the_queries_cost_the_same_statements_at_any_group_size(members: int):
    async with open_session("sqlite://:memory:", START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        for n in range(members):
            await s.say(f"@m{n} !pledge join 1")
        await s.wait(timedelta(days=7, hours=5))
        await s.say("!done 1")
        for n in range(members):
            await s.say(f"@m{n} !done 1")
        await s.wait(timedelta(days=7))
        group = await _group()
        member = await groups.find_member("console", "m0")
        assert member is not None
        record_cache.cache.clear()  # the cold cost at every size
        with StatementCounter() as group_sql:
            data = await picture_data.group_weeks(group)
        record_cache.cache.clear()
        with StatementCounter() as member_sql:
            await picture_data.member_weeks(group, member.id)
    assert data is not None
    assert _pct(data.pledges[0].shares[-1:]) == [100]
    assert (group_sql.count, member_sql.count) == (3, 3)


async def test_an_archived_pledge_stays_in_the_grid_of_its_weeks(database_url: str):
    """The grid reads the live pledges the board holds, and the archived ones only when the
    member has outcomes of one in the weeks shown."""
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        await s.say('!pledge new "Walk to work" per week')
        await s.say("!done 1")
        await s.wait(timedelta(days=7, hours=4))  # the week closed: kept
        assert "is archived" in await s.say("!pledge archive 1")
        group = await _group()
        you = await groups.find_member("console", "you")
        assert you is not None
        record_cache.cache.clear()
        await s.say("!pledge list")  # the live pledges, not the archived, in the record cache
        with StatementCounter() as sql:
            grid = await picture_data.member_weeks(group, you.id)
        assert grid is not None
        assert [p.title for p in grid.pledges] == ["Call a neighbour", "Walk to work"]
        assert grid.pledges[0].weeks[-1].mark is Mark.KEPT
        assert sql.count == 3  # the weeks, the member's outcomes, the pledges archived too
        await s.say('!pledge new "Read a book" per week')
        await s.say("!pledge join 3")
        await s.say("!pledge list")
        with StatementCounter() as sql:
            again = await picture_data.member_weeks(group, you.id)
        assert again is not None
        titles = [p.title for p in again.pledges]
        assert titles == ["Call a neighbour", "Walk to work", "Read a book"]
        assert sql.count == 2  # the weeks are kept; a new pledge dropped the pledge lists
