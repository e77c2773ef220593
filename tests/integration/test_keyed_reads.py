"""Fixed key reads (storage/keyed_reads.py) find what Tortoise finds, on both backends."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from storage import convert, groups, keyed_reads, pledges
from storage import models as m
from storage.records import GroupRec, MemberRec, PledgeRec
from tests.support.session import open_session

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def _fields(row: object, model: type[m.Model]) -> dict[str, object]:
    return {name: getattr(row, name) for name in model._meta.fields_db_projection}


async def _console_place() -> tuple[GroupRec, MemberRec, PledgeRec]:
    """The console's group, its one member and the group's first active pledge."""
    group = await groups.find_group("console", "console")
    member = await groups.find_member("console", "you")
    assert group is not None
    assert member is not None
    return group, member, (await pledges.group_pledges(group.id, ("active",)))[0]


async def test_a_key_read_finds_the_row_tortoise_finds(database_url: str) -> None:
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        await s.say("!done 1")
        group, member, pledge = await _console_place()
        cases = [
            (m.Group, {"platform": "console", "external_id": "console"}),
            (m.Group, {"id": group.id}),
            (m.Member, {"platform": "console", "external_id": "you"}),
            (m.Pledge, {"id": pledge.id}),
            (m.Participation, {"pledge_id": pledge.id, "member_id": member.id}),
        ]
        checkin = await m.CheckIn.first()
        assert checkin is not None
        cases.append(
            (
                m.CheckIn,
                {"participation_id": checkin.participation_id, "event_key": checkin.event_key},
            )
        )  # type: ignore[attr-defined]
        for model, key in cases:
            expected = await model.get(**key)
            found = await keyed_reads.first(model, **key)
            assert found is not None, (model, key)
            assert _fields(found, model) == _fields(expected, model), (model, key)
        # Datetimes come back aware (UTC) and equal to Tortoise's, booleans as booleans.
        part = await keyed_reads.first(m.Participation, pledge_id=pledge.id, member_id=member.id)
        assert part is not None
        assert convert.participation(part) == await pledges.participation_of(pledge.id, member.id)
        assert part.next_close_at.tzinfo is not None
        assert part.active is True
        # Nothing found: None, as `get_or_none` gives.
        assert await keyed_reads.first(m.Member, platform="console", external_id="nobody") is None
        assert await keyed_reads.first(m.Participation, pledge_id=pledge.id, member_id=0) is None


async def test_rows_keep_their_order_and_limit(database_url: str) -> None:
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        await s.say('!pledge new "Walk" per week')
        await s.say('!pledge new "Read" per week')
        group = await groups.find_group("console", "console")
        assert group is not None
        for i, key in enumerate(("week:2026-11-09", "week:2026-11-23", "week:2026-11-16")):
            await m.GroupWeek.create(group_id=group.id, week_key=key, kept=i, closed_at=START)
        newest = await keyed_reads.rows(m.GroupWeek, order="-week_key", limit=2, group_id=group.id)
        assert [w.week_key for w in newest] == ["week:2026-11-23", "week:2026-11-16"]
        numbers = await keyed_reads.rows(m.Pledge, order="number", group_id=group.id)
        assert [p.number for p in numbers] == [1, 2, 3]
        expected = await m.GroupWeek.filter(group_id=group.id).order_by("-week_key").limit(2)
        assert [_fields(w, m.GroupWeek) for w in newest] == [
            _fields(w, m.GroupWeek) for w in expected
        ]
