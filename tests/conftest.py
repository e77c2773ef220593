"""Shared fixtures: real databases (SQLite, PostgreSQL), a virtual clock, and a console session."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.support.session import ConsoleSession, open_session

pytest_plugins = ["tests.conftest_services"]

START = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture
async def session() -> AsyncIterator[ConsoleSession]:
    """A console session on a migrated in-memory SQLite database at Mon 30 Nov 2026 09:00 Berlin."""
    async with open_session("sqlite://:memory:", START, "Europe/Berlin") as s:
        yield s


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """The same test body against a SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/logoff.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def migrated_db(database_url: str) -> AsyncIterator[None]:
    """`database_url` migrated and open for the test's own storage calls, closed after it."""
    from storage import database

    await database.migrate(database_url, keep_open=True)
    try:
        yield
    finally:
        await database.close_database()


_ = io
