"""/health and /ready through real failures: a stalled scheduler, a stopped PostgreSQL, Synapse."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

from bot.app.bootstrap import open_app, platform_services
from bot.app.config import BotConfig, Config, HttpConfig
from bot.app.serve import serve
from bot.clock import VirtualClock
from storage import database
from storage import jobs as job_queries
from tests.conftest import START
from tests.health.support import MAX_LAG, console_bot, get, problems, start_bot, wait_for
from tests.matrix.harness import new_bot_account
from tests.services.postgres import PostgresServer, free_port
from tests.services.synapse import SynapseServer

REPO = Path(__file__).resolve().parents[2]


def ready(status: int, body: object) -> bool:
    return status == 200


def not_ready(status: int, body: object) -> bool:
    return status == 503


async def test_a_stalled_scheduler_fails_ready_with_its_lag_and_passes_again_once_it_turns(
    tmp_path: Path,
):
    clock = VirtualClock(START)
    async with console_bot(tmp_path, clock) as (app, port):
        _, body = await wait_for(port, "/ready", ready)
        assert body["checks"]["scheduler"]["lag_seconds"] == 0
        await app.outboxes["console"].handle_line('!pledge new "Call a neighbour" per week')  # type: ignore[attr-defined]
        due = await job_queries.next_due_at()
        assert due is not None
        # The scheduler sleeps until its next job by real time; moving the bot's clock past
        # that job without waking it is exactly what a scheduler stuck in a round looks like.
        clock.set(due + timedelta(seconds=MAX_LAG * 2))
        status, body = await get(port, "/ready")
        assert status == 503, body
        scheduler = body["checks"]["scheduler"]
        assert scheduler["ok"] is False
        assert scheduler["lag_seconds"] >= MAX_LAG * 2
        assert scheduler["due_jobs"] >= 1
        assert "stalled or far behind" in problems(body)
        assert body["checks"]["database"] == {"ok": True}
        assert body["checks"]["platform:console"] == {"ok": True}
        alive, health = await get(port, "/health")
        assert alive == 200, health  # the process lives; only readiness is lost
        assert health["status"] == "ok"

        assert app.scheduler is not None
        app.scheduler.wake()
        _, body = await wait_for(port, "/ready", ready)
        assert body["status"] == "ready"


async def test_a_scheduler_that_stopped_is_reported_not_running(tmp_path: Path):
    async with console_bot(tmp_path, VirtualClock(START)) as (app, port):
        await wait_for(port, "/ready", ready)
        assert app.scheduler is not None
        app.scheduler.stop()  # its task ends, as when it crashed for good
        _, body = await wait_for(port, "/ready", not_ready)
        assert body["checks"]["scheduler"] == {"ok": False, "problem": "not running"}


async def test_a_stopped_postgresql_fails_ready_and_it_passes_again_when_it_is_back(
    tmp_path: Path, private_postgres: PostgresServer
):
    url = private_postgres.create_database("health")
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n[database]\nurl = "{url}"\n'
        f'[http]\naddress = "127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    log = tmp_path / "bot.log"
    bot = start_bot(config, log)
    try:
        _, body = await wait_for(port, "/ready", ready)
        assert body["checks"]["database"] == {"ok": True}

        private_postgres.pause()
        _, body = await wait_for(port, "/ready", not_ready)
        assert body["checks"]["database"]["ok"] is False
        assert "database: unreachable" in problems(body) or "no answer" in problems(body)
        alive, _ = await get(port, "/health")
        assert alive == 200

        private_postgres.resume()
        _, body = await wait_for(port, "/ready", ready, seconds=60)
        assert body["status"] == "ready"
        assert bot.poll() is None, log.read_text()
    finally:
        bot.send_signal(signal.SIGINT)
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait()
    assert bot.returncode == 0, log.read_text()
    assert "listening on http://127.0.0.1" in log.read_text()


async def test_a_stopped_synapse_fails_ready_for_matrix_and_it_passes_again_when_it_is_back(
    synapse_server: SynapseServer, tmp_path: Path
):
    account = new_bot_account(synapse_server, tmp_path)
    port = free_port()
    config = dataclasses.replace(
        account.config(synapse_server), http=HttpConfig(address=f"127.0.0.1:{port}")
    )
    account.data_dir.mkdir(parents=True, exist_ok=True)
    await database.migrate(config.db_url)
    try:
        async with open_app(config) as app:
            serving = asyncio.create_task(
                serve(app.scheduler, platform_services(app), connected=app.connected)
            )
            try:
                _, body = await wait_for(port, "/ready", ready)
                assert body["checks"]["platform:matrix"] == {"ok": True}

                synapse_server.stop()
                _, body = await wait_for(port, "/ready", not_ready)
                matrix = body["checks"]["platform:matrix"]
                assert matrix["ok"] is False
                assert "not synced with the homeserver" in matrix["problem"]
                assert body["checks"]["database"] == {"ok": True}

                synapse_server.start()
                _, body = await wait_for(port, "/ready", ready, seconds=60)
                assert body["checks"]["platform:matrix"] == {"ok": True}
            finally:
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
    finally:
        if not synapse_server.running:
            synapse_server.start()


async def test_without_an_address_nothing_listens(tmp_path: Path):
    config = Config(bot=BotConfig(data_dir=tmp_path / "data"))
    await database.migrate(config.db_url)
    async with open_app(config) as app:
        assert app.config.http.address == ""
        assert type(app.engine.meter).__name__ == "NoMeter"
