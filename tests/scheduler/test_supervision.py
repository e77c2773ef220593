"""The serve path: a database that fails at start, a failing adapter, and a clean stop."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import serve as serving
from bot.app.serve import Service, restart_delay, serve
from bot.scheduling import scheduler as scheduling
from tests.scheduler.support import rig

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


async def _until(check, within: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def test_reminders_go_out_once_a_database_that_failed_at_start_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(scheduling, "RETRY_SLEEP", 0.2)
    path = tmp_path / "logoff.sqlite3"
    async with rig(MONDAY, url=f"sqlite://{path}") as r:
        await r.say("admin", '!pledge new "Call a neighbour" per week remind "wed 18:00"')
        await r.say("ana", "!pledge join 1")
        await r.say("admin", "!pledge leave 1")
        r.clock.set(datetime(2026, 12, 2, 18, 1, tzinfo=BERLIN))  # the reminder is due
        # Another process holds the database: every write of the start-up planning fails.
        holder = sqlite3.connect(path, timeout=0)
        holder.execute("BEGIN EXCLUSIVE")
        stopping = asyncio.Event()
        task = asyncio.create_task(serve(r.scheduler, [], stopping=stopping))
        try:
            await _until(lambda: "scheduler round failed" in caplog.text)
            assert r.outbox.posted == []
            holder.rollback()  # the database is back
            await _until(lambda: bool(r.outbox.posted))
        finally:
            holder.close()
            stopping.set()
            assert await asyncio.wait_for(task, 10) == 0
    (reminder,) = r.outbox.posted
    assert "Call a neighbour" in reminder.text
    assert reminder.mentions == ["ana"]
    # One traceback for the outage, not one per retry.
    assert caplog.text.count("scheduler round failed") == 1
    assert "the scheduler works again" in caplog.text


async def test_a_failing_adapter_is_restarted_with_backoff_and_logged_once_per_outage(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(serving, "RESTART_FIRST", 0.01)
    attempts = 0
    serving_now = asyncio.Event()

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 4:
            raise ConnectionError(f"homeserver away (attempt {attempts})")
        serving_now.set()
        await asyncio.Event().wait()

    async with rig(MONDAY) as r:
        stopping = asyncio.Event()
        with caplog.at_level(logging.ERROR, logger="logoff.serve"):
            task = asyncio.create_task(
                serve(r.scheduler, [Service("flaky", flaky)], stopping=stopping)
            )
            await asyncio.wait_for(serving_now.wait(), 10)
            stopping.set()
            assert await asyncio.wait_for(task, 10) == 0
    failures = [rec for rec in caplog.records if rec.name == "logoff.serve"]
    assert [rec.getMessage().split(" (")[0] for rec in failures] == ["flaky failed"] * 3
    assert "homeserver away (attempt 1)" in failures[0].getMessage()
    assert failures[0].exc_info  # the traceback, once
    assert not any(rec.exc_info for rec in failures[1:])


async def test_stopping_asks_every_service_to_stop_and_ends_with_zero() -> None:
    stopped: list[str] = []

    def service(name: str) -> Service:
        done = asyncio.Event()

        async def run() -> None:
            await done.wait()

        async def stop() -> None:
            stopped.append(name)
            done.set()

        return Service(name, run, stop=stop)

    async with rig(MONDAY) as r:
        stopping = asyncio.Event()
        task = asyncio.create_task(
            serve(r.scheduler, [service("matrix"), service("discord")], stopping=stopping)
        )
        await asyncio.sleep(0.1)
        stopping.set()
        assert await asyncio.wait_for(task, 10) == 0
    assert stopped == ["matrix", "discord"]


async def test_a_service_that_cannot_start_ends_serving_with_exit_code_two() -> None:
    from bot.errors import ConfigError

    async def refused() -> None:
        raise ConfigError([("discord.token", "Discord refused this token")])

    async with rig(MONDAY) as r:
        code = await asyncio.wait_for(serve(r.scheduler, [Service("discord", refused)]), 10)
    assert code == 2


def test_restarts_back_off_from_a_second_to_a_minute() -> None:
    delays = [restart_delay(n) for n in range(1, 10)]
    assert delays[:3] == [1.0, 2.0, 4.0]
    assert delays == sorted(delays)
    assert max(delays) == serving.RESTART_MAX
    assert timedelta(seconds=max(delays)) <= timedelta(minutes=1)
