"""The record cache: commands stop re-reading their group, member and pledges, and every change
is seen by the next command, in the same process and from another process on one PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from benchmarks.common import StatementCounter
from storage import groups, record_cache
from storage import models as m
from storage.inserts import insert_new
from storage.record_cache import GROUP, RecordCache, cache
from storage.records import GroupRec
from storage.transaction import atomic
from tests.support.session import open_session

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
ROOT = Path(__file__).resolve().parents[2]
# Reads by key of what the cache holds; the boards' joined reads of member names are not these.
CACHED_READS = ('FROM "groups"', 'FROM "members"', 'FROM "pledges"')


def _cached_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if any(t in s for t in CACHED_READS)]


async def test_a_known_group_member_and_pledges_are_not_read_again(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 2 per week')
        await s.say("!pledge list")  # the first command after the change reads them
        with StatementCounter() as sql:
            listed = await s.say("!pledge list")
        assert "Call a neighbour" in listed
        assert _cached_reads(sql.statements) == []
        # Nothing is due in the group either: no closing queries.
        assert not [t for t in sql.statements if "jobs" in t]


async def test_every_change_is_seen_by_the_next_command(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 2 per week')
        assert "(paused)" not in await s.say("!pledge list")
        await s.say("!pledge pause 1")
        assert "(paused)" in await s.say("!pledge list")
        await s.say("!pledge resume 1")
        assert "(paused)" not in await s.say("!pledge list")

        assert "timezone = Europe/Berlin" in await s.say("!settings")
        await s.say("!settings timezone America/New_York")
        assert "timezone = America/New_York" in await s.say("!settings")

        await s.say("@ana !pledge join 1")
        ana = await groups.find_member("console", "ana")
        assert ana is not None
        assert ana.timezone is None
        await s.say("@ana !me timezone Asia/Tokyo")
        ana = await groups.find_member("console", "ana")
        assert ana is not None
        assert ana.timezone == "Asia/Tokyo"

        await s.say('!pledge new "Walk to work" daily')
        assert "Walk to work" in await s.say("!pledge list")


async def test_a_rolled_back_change_leaves_the_committed_record(database_url: str):
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say("!settings")
        group = await groups.find_group("console", "console")
        assert group is not None
        assert await groups.find_group("console", "console") is group  # served from the cache

        class Abandon(Exception):
            pass

        async def half_written() -> None:
            async with atomic():
                await groups.update_group(group.id, name="half written")
                inside = await groups.find_group("console", "console")
                assert inside is not None
                assert inside.name == "half written"
                raise Abandon

        with pytest.raises(Abandon):
            await half_written()

        after = await groups.find_group("console", "console")
        assert after is not None
        assert after.name == group.name
        again = await groups.get_group(group.id)
        assert again is not None
        assert again.name == group.name

        # A committed change inside a transaction is seen once it commits.
        async with atomic():
            await groups.update_group(group.id, name="renamed")
        renamed = await groups.find_group("console", "console")
        assert renamed is not None
        assert renamed.name == "renamed"


WEEKS_READ = 'FROM "group_weeks"'


async def test_a_closed_week_is_seen_by_the_next_summary_and_grid(database_url: str):
    """A group's closed weeks are kept with its record; closing a week drops them."""
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        await s.say("!done 1")
        assert "Last closed week" not in await s.say("!summary")
        with StatementCounter() as sql:
            assert "Last closed week" not in await s.say("!summary")
            await s.say("!streak")  # no week closed yet: no picture, but the weeks are known
        assert [t for t in sql.statements if WEEKS_READ in t] == []
        await s.wait(timedelta(days=7, hours=4))  # past next Monday 12:00: the week closed
        with StatementCounter() as sql:
            summary = await s.say("!summary")
        assert "Last closed week: 100% kept." in summary
        assert len([t for t in sql.statements if WEEKS_READ in t]) == 1  # read again once
        with StatementCounter() as sql:
            assert "Last closed week: 100% kept." in await s.say("!summary")
            streak = await s.say("!streak")
        assert "Call a neighbour" in streak
        assert [t for t in sql.statements if WEEKS_READ in t] == []


def _group(gid: int, external_id: str, name: str = "g") -> GroupRec:
    return GroupRec(
        id=gid, platform="t", external_id=external_id, name=name, timezone="UTC",
        week_start=0, summary_slot="mon 18:00", prompt_slot="sun 18:00", grace_hours=12,
        quiet_hours=None, weekly_message_cap=6, threshold=0.6, name_missed=False,
        group_streak=0, best_group_streak=0, weeks_closed_through=None, archived=False,
        created_at=START,
    )  # fmt: skip


def test_a_read_that_overlapped_a_change_is_not_kept():
    local = RecordCache(max_groups=2)
    local.enabled = True
    ticket = local.ticket()
    local.drop(GROUP, 1)  # a change while the read was on its way
    local.put_group(ticket, _group(1, "a", "old"))
    assert local.group(1) is None
    local.put_group(local.ticket(), _group(1, "a", "new"))
    found = local.group_at("t", "a")
    assert found is not None
    assert found.name == "new"
    # Bounded: the least recently used goes first, and its place no longer names it.
    local.put_group(local.ticket(), _group(2, "b"))
    local.put_group(local.ticket(), _group(3, "c"))
    assert local.group_at("t", "a") is None
    assert local.group_at("t", "b") is not None
    assert local.group_at("t", "c") is not None
    # Off: nothing is served and nothing stored.
    local.enabled = False
    assert local.group(2) is None
    local.enabled = True
    off_ticket = None
    local.put_group(off_ticket, _group(4, "d"))
    assert local.group(4) is None


# -- several processes on one PostgreSQL ----------------------------------------------------


class SecondEngine:
    """tests/support/engine_process.py in a process of its own."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the second engine ended"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def say(self, name: str, text: str) -> dict[str, Any]:
        return self.ask({"as": name, "text": text, "admin": name == "you"})


@contextmanager
def second_engine(url: str) -> Iterator[SecondEngine]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.engine_process", url, START.isoformat()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready == {"ready": True, "on": True}
        yield SecondEngine(process)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _ask(engine: SecondEngine, name: str, text: str) -> dict[str, Any]:
    # The second process answers while this one's event loop (and its LISTEN) stays free.
    return await asyncio.to_thread(engine.say, name, text)


async def test_a_change_in_one_process_is_seen_by_the_next_command_of_another(postgres_url: str):
    async with open_session(postgres_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 2 per week')
        await s.say("@ana !pledge join 1")
        with second_engine(postgres_url) as other:
            first = await _ask(other, "you", "!pledge list")
            assert "(paused)" not in first["text"]
            second = await _ask(other, "you", "!pledge list")
            assert second["hits"] > first["hits"]  # the other process reads from its cache

            await s.say("!pledge pause 1")
            paused = await _ask(other, "you", "!pledge list")
            assert "(paused)" in paused["text"]

            await _ask(other, "you", "!settings")
            await s.say("!settings timezone America/New_York")
            settings = (await _ask(other, "you", "!settings"))["text"]
            assert "= America/New_York — the group" in settings

            assert (await asyncio.to_thread(other.ask, {"member": "ana"}))["timezone"] is None
            await s.say("@ana !me timezone Asia/Tokyo")
            seen = await asyncio.to_thread(other.ask, {"member": "ana"})
            assert seen["timezone"] == "Asia/Tokyo"

            # And the other way round: this process sees what the other one changed.
            await s.say("!pledge list")
            await _ask(other, "you", "!pledge resume 1")
            assert "(paused)" not in await s.say("!pledge list")
            await _ask(other, "you", '!pledge new "Walk to work" daily')
            assert "Walk to work" in await s.say("!pledge list")


async def test_a_week_closed_by_one_process_is_seen_by_another(postgres_url: str):
    async with open_session(postgres_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" per week')
        await s.say("!done 1")
        with second_engine(postgres_url) as other:
            first = await _ask(other, "you", "!summary")  # its clock stays at START
            assert "Last closed week" not in first["text"]
            again = await _ask(other, "you", "!summary")
            assert again["hits"] > first["hits"]
            await s.wait(timedelta(days=7, hours=4))  # this process closes the week
            seen = await _ask(other, "you", "!summary")
            assert "Last closed week: 100% kept." in seen["text"]
            assert "Group streak: 1 week" in seen["text"]


async def test_while_the_listen_connection_is_down_the_cache_is_off(postgres_url: str):
    async with open_session(postgres_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 2 per week')
        with second_engine(postgres_url) as other:
            await _ask(other, "you", "!pledge list")
            # Cut this process's LISTEN connection from the server side.
            listener = record_cache._listener.connection
            assert listener is not None
            assert cache.enabled
            pid = listener.get_server_pid()
            killer = await database_raw(postgres_url)
            try:
                await killer.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await killer.close()
            # The next command finds the connection gone: off, so it reads the database.
            await _ask(other, "you", "!pledge pause 1")
            assert "(paused)" in await s.say("!pledge list")
            for _ in range(200):
                if cache.enabled:
                    break
                await asyncio.sleep(0.05)
            assert cache.enabled, "the LISTEN connection did not come back"
            await s.say("!pledge list")
            await _ask(other, "you", "!pledge resume 1")
            assert "(paused)" not in await s.say("!pledge list")


async def database_raw(url: str) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    return await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))


async def test_a_place_not_seen_is_read_in_one_statement(database_url: str):
    """storage.place_reads: a command in a group and from a member the process has not seen
    (the cache cleared) reads the group, its pledges, its due instant and the member in one
    statement, and the next command there reads none of them."""
    async with open_session(database_url, START, "Europe/Berlin") as s:
        await s.say('!pledge new "Call a neighbour" times 2 per week')
        cache.clear()
        with StatementCounter() as sql:
            listed = await s.say("!pledge list")
        assert "Call a neighbour" in listed
        assert len([t for t in sql.statements if "g__id" in t]) == 1
        assert _cached_reads(sql.statements) == []
        assert not [t for t in sql.statements if "jobs" in t and "g__id" not in t]
        with StatementCounter() as again:
            assert await s.say("!pledge list") == listed
        assert not [t for t in again.statements if "g__id" in t]


async def test_a_new_member_is_inserted_in_one_statement_and_once(database_url: str):
    """storage.inserts.insert_new: the row, or None when its key exists; inside a transaction
    a conflict leaves it usable (no savepoint: PostgreSQL aborts on a failed statement)."""
    async with open_session(database_url, START, "Europe/Berlin"):
        with StatementCounter() as sql:
            made = await groups.ensure_member("console", "new", "New", START)
        assert made.display_name == "New"
        assert [t.split(" ", 1)[0] for t in sql.statements] == ["SELECT", "INSERT"]
        async with atomic():
            again = await insert_new(
                m.Member,
                ("platform", "external_id"),
                platform="console",
                external_id="new",
                display_name="Other",
                created_at=START,
            )
            assert again is None
            assert (await groups.ensure_member("console", "new", "New", START)).id == made.id
        found = await groups.find_member("console", "new")
        assert found is not None
        assert (found.id, found.display_name) == (made.id, "New")
