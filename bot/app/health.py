"""Liveness and readiness of a running app: what /health and /ready answer, and why."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from storage import health as db_health

if TYPE_CHECKING:
    from bot.app.bootstrap import App

# The task both run paths give the scheduler (bot.app.serve, adapters.console.serve).
SCHEDULER_TASK = "logoff-scheduler"
TICK = 1.0  # how often the loop-lag probe wakes
LOOP_STALL = 10.0  # a loop that woke this late, or not for this long, is not healthy
DB_TIMEOUT = 3.0  # a database that takes longer than this to answer SELECT 1 is not ready
CONSOLE = "console"


@runtime_checkable
class ReportsConnection(Protocol):
    """An Outbox that knows whether its platform connection is up (Matrix, Discord)."""

    def connection_problem(self) -> str | None:
        """None when connected; otherwise what is wrong, in words for the person running it."""


@dataclass
class Verdict:
    """One answer of /health or /ready: whether all is well, and the body that says why."""

    ok: bool
    body: dict[str, Any] = field(default_factory=dict)


def enabled_platforms(app: App) -> list[str]:
    """The platforms this app serves: each enabled one, or the console when none is."""
    config = app.config
    on = [
        n for n, e in (("matrix", config.matrix.enabled), ("discord", config.discord.enabled)) if e
    ]
    return on or [CONSOLE]


def platform_problem(app: App, platform: str) -> str | None:
    outbox = app.outboxes.get(platform)
    if outbox is None:
        return "not connected (starting, or its adapter stopped)"
    if isinstance(outbox, ReportsConnection):
        return outbox.connection_problem()
    return None


def scheduler_task() -> asyncio.Task[Any] | None:
    for task in asyncio.all_tasks():
        if task.get_name() == SCHEDULER_TASK and not task.done():
            return task
    return None


class Health:
    """Watches the event loop and answers both questions for one app."""

    def __init__(self, app: App, *, db_timeout: float = DB_TIMEOUT) -> None:
        self.app = app
        self.db_timeout = db_timeout
        self.started = time.monotonic()
        self.loop_lag = 0.0
        self._last_tick = self.started
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Health:
        self._ticker = asyncio.create_task(self._tick(), name="logoff-loop-probe")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker

    async def _tick(self) -> None:
        # Monotonic time, not the bot's clock: this measures the loop, not the calendar.
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK)
            self._last_tick = time.monotonic()
            self.loop_lag = max(0.0, self._last_tick - before - TICK)

    def liveness(self) -> Verdict:
        """The process answers and its loop turns (the probe woke recently and on time)."""
        silent = time.monotonic() - self._last_tick
        body: dict[str, Any] = {
            "status": "ok",
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "loop_lag_seconds": round(self.loop_lag, 3),
        }
        problems = []
        if self._ticker is None or self._ticker.done():
            problems.append("the loop probe is not running")
        elif silent > LOOP_STALL + TICK:
            problems.append(f"the event loop has not turned for {silent:.1f} s")
        if self.loop_lag > LOOP_STALL:
            problems.append(f"the event loop was blocked for {self.loop_lag:.1f} s")
        if problems:
            body["status"] = "unhealthy"
            body["problems"] = problems
        return Verdict(not problems, body)

    async def readiness(self) -> Verdict:
        """Database reachable, every enabled platform connected, the scheduler keeping up."""
        checks: dict[str, dict[str, Any]] = {}
        checks["database"] = await self._database()
        for platform in enabled_platforms(self.app):
            problem = platform_problem(self.app, platform)
            checks[f"platform:{platform}"] = (
                {"ok": True} if problem is None else {"ok": False, "problem": problem}
            )
        checks["scheduler"] = await self._scheduler(checks["database"]["ok"])
        problems = [f"{name}: {c['problem']}" for name, c in checks.items() if not c["ok"]]
        body: dict[str, Any] = {"status": "ready" if not problems else "not ready"}
        if problems:
            body["problems"] = problems
        body["checks"] = checks
        return Verdict(not problems, body)

    async def _database(self) -> dict[str, Any]:
        try:
            await asyncio.wait_for(db_health.ping(), self.db_timeout)
        except TimeoutError:
            return {"ok": False, "problem": f"no answer within {self.db_timeout:g} s"}
        except Exception as exc:
            return {"ok": False, "problem": f"unreachable ({type(exc).__name__}: {exc})"}
        return {"ok": True}

    async def backlog(self) -> db_health.Backlog | None:
        """The due jobs, or None when the database cannot say."""
        try:
            return await asyncio.wait_for(db_health.backlog(self.app.clock.now()), self.db_timeout)
        except Exception:
            return None

    async def _scheduler(self, database_ok: bool) -> dict[str, Any]:
        limit = self.app.config.http.ready_max_lag_seconds
        scheduler = self.app.scheduler
        if scheduler_task() is None or scheduler is None or not scheduler.running:
            return {"ok": False, "problem": "not running"}
        if not database_ok:
            return {"ok": False, "problem": "cannot read its jobs (the database is unreachable)"}
        backlog = await self.backlog()
        if backlog is None:
            return {"ok": False, "problem": "cannot read its jobs"}
        now = self.app.clock.now()
        lag = (now - backlog.oldest_due_at).total_seconds() if backlog.oldest_due_at else 0.0
        state: dict[str, Any] = {
            "ok": lag <= limit,
            "lag_seconds": round(max(lag, 0.0), 1),
            "max_lag_seconds": limit,
            "due_jobs": backlog.due,
            "queued_jobs": backlog.pending,
        }
        if lag > limit:
            state["problem"] = (
                f"{backlog.due} job(s) due and not handled; the oldest has waited {lag:.0f} s "
                f"(more than {limit} s): the scheduler is stalled or far behind"
            )
        return state
