"""Helpers for the health tests: GET a listener's answer, and wait until it says something."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from bot.app.bootstrap import App, console_service, open_app
from bot.app.config import BotConfig, Config, HttpConfig
from bot.app.serve import serve
from bot.clock import VirtualClock
from storage import database
from tests.services.postgres import free_port

WAIT = 30.0
MAX_LAG = 60
REPO = Path(__file__).resolve().parents[2]
LOGOFF = (sys.executable, "-m", "bot.app.cli")


def start_bot(
    config: Path, log: Path, launcher: tuple[str, ...] = LOGOFF
) -> subprocess.Popen[bytes]:
    """`logoff migrate`, then `logoff run --no-input` (the console adapter, no stdin) in the
    background, its output in `log`; `launcher` is how `logoff` is started."""
    command = [*launcher, "--config", str(config)]
    subprocess.run([*command, "migrate"], cwd=REPO, check=True, capture_output=True)
    with log.open("wb") as out:
        return subprocess.Popen(
            [*command, "run", "--no-input"], cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        )


async def get(port: int, path: str) -> tuple[int, Any]:
    """(status, JSON body or text) of GET http://127.0.0.1:port/path."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


async def wait_for(
    port: int, path: str, wanted: Callable[[int, Any], bool], seconds: float = WAIT
) -> tuple[int, Any]:
    """Ask again until `wanted(status, body)`; fail with the last answer after `seconds`."""
    deadline = time.monotonic() + seconds
    last: tuple[int, Any] | str = "no answer yet"
    while time.monotonic() < deadline:
        try:
            last = await get(port, path)
            if wanted(*last):
                return last
        except (aiohttp.ClientError, TimeoutError) as exc:
            last = repr(exc)
        await asyncio.sleep(0.2)
    raise AssertionError(f"GET {path} never gave the wanted answer in {seconds} s; last: {last}")


def problems(body: Any) -> str:
    return " | ".join(body.get("problems", [])) if isinstance(body, dict) else str(body)


@contextlib.asynccontextmanager
async def console_bot(tmp_path: Path, clock: VirtualClock) -> AsyncIterator[tuple[App, int]]:
    """The console bot as `logoff run --no-input` serves it, with the listener on a free port."""
    port = free_port()
    config = Config(
        bot=BotConfig(data_dir=tmp_path / "data", timezone="Europe/Berlin"),
        http=HttpConfig(address=f"127.0.0.1:{port}", ready_max_lag_seconds=MAX_LAG),
    )
    await database.migrate(config.db_url)
    async with open_app(config, clock) as app:
        service = console_service(app, "you", ZoneInfo("Europe/Berlin"), read_input=False)
        serving = asyncio.create_task(
            serve(app.scheduler, [service], connected=app.connected, stopping=asyncio.Event())
        )
        try:
            yield app, port
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
