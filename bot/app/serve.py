"""The one serve path: the scheduler and each adapter supervised, restarted, stopped on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import early_stop
from bot.clock import VirtualClock
from bot.errors import ConfigError, StartRefused
from bot.scheduling import group_plans
from bot.scheduling.scheduler import Scheduler

log = logging.getLogger("logoff.serve")

RESTART_FIRST = 1.0  # seconds before the first restart of a service that failed
RESTART_MAX = 60.0  # the longest wait between restarts
HEALTHY_AFTER = 120.0  # a service that ran this long before failing starts a fresh backoff
STOP_GRACE = 3.0  # seconds a service gets to stop cleanly before it is cancelled
CONNECT_WAIT = 10.0  # the scheduler's first round waits this long for an adapter to connect


@dataclass
class Service:
    """One supervised part of the running bot (an adapter, or the scheduler).

    `run` is one attempt: it returns when the service ends and raises when it fails. `stop`
    asks it to end cleanly (save state, close connections); `after` runs once at the end.
    """

    name: str
    run: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]] | None = None
    ends_serving: bool = False  # its normal end ends the bot (the console at end of input)
    after: Callable[[], Awaitable[None]] | None = None
    handle: Any = None  # the adapter object, for tests and tools


def restart_delay(failures: int) -> float:
    """1 s, 2 s, 4 s ... up to a minute."""
    return float(min(RESTART_MAX, RESTART_FIRST * 2 ** max(0, min(failures - 1, 16))))


class Fatal(Exception):
    """A service failed in a way a restart cannot cure (a refused token, a bad config)."""


async def supervise(service: Service, stopping: asyncio.Event) -> None:
    """Run `service` until `stopping`; when it fails, log it once and restart it with backoff."""
    failures = 0
    while not stopping.is_set():
        started = time.monotonic()
        try:
            await service.run()
        except asyncio.CancelledError:
            raise
        except (ConfigError, StartRefused) as exc:
            log.error("%s cannot start: %s", service.name, exc)
            raise Fatal(service.name) from exc
        except Exception as exc:
            if stopping.is_set():
                return
            if time.monotonic() - started > HEALTHY_AFTER:
                failures = 0
            failures += 1
            delay = restart_delay(failures)
            # The traceback once per run of failures; the repeats in one line each.
            log.error(
                "%s failed (%s: %s); restarting it in %.3g s (failure %d in a row)",
                service.name,
                type(exc).__name__,
                exc,
                delay,
                failures,
                exc_info=failures == 1,
            )
        else:
            if service.ends_serving or stopping.is_set():
                return
            failures += 1
            delay = restart_delay(failures)
            log.warning("%s ended by itself; starting it again in %.3g s", service.name, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)


def scheduler_service(scheduler: Scheduler, connected: asyncio.Event | None) -> Service:
    """The scheduler as a service; its first round waits (a while) for an adapter to connect.

    Nothing can be sent before an Outbox is attached, and planning every group competes for
    the CPU with the adapter's login and first sync, which is what "ready" waits for.
    """

    async def run() -> None:
        if connected is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connected.wait(), CONNECT_WAIT)
        await scheduler.run()

    async def stop() -> None:
        scheduler.stop()

    return Service("scheduler", run, stop=stop, handle=scheduler)


def _on_signals(stopping: asyncio.Event) -> Callable[[], None]:
    """SIGTERM and SIGINT set `stopping`; returns how to put the old handlers back."""
    loop = asyncio.get_running_loop()
    undo: list[Callable[[], None]] = []

    def hand_over(*_: object) -> None:
        loop.call_soon_threadsafe(stopping.set)

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stopping.set)
            undo.append(functools.partial(_remove_handler, loop, sig))
        except (NotImplementedError, RuntimeError):
            # Windows (no loop signal handlers): a plain handler that hands over to the loop.
            # Outside the main thread even that is refused; the caller stops us there.
            with contextlib.suppress(ValueError, OSError):
                previous = signal.signal(sig, hand_over)
                undo.append(functools.partial(_put_back, sig, previous))

    if early_stop.requested():
        stopping.set()

    def restore() -> None:
        for step in undo:
            with contextlib.suppress(Exception):
                step()

    return restore


def _remove_handler(loop: asyncio.AbstractEventLoop, sig: signal.Signals) -> None:
    loop.remove_signal_handler(sig)


def _put_back(sig: signal.Signals, previous: Any) -> None:
    signal.signal(sig, previous)


async def serve(
    scheduler: Scheduler,
    services: Sequence[Service],
    *,
    connected: asyncio.Event | None = None,
    stopping: asyncio.Event | None = None,
) -> int:
    """Serve the scheduler and `services` until a signal, `stopping`, or a service that ends.

    Returns the exit code: 0 after a clean stop, 2 when a service could not start at all.
    """
    stopping = stopping or asyncio.Event()
    restore = _on_signals(stopping)
    everything = [scheduler_service(scheduler, connected), *services]
    tasks = {
        asyncio.create_task(supervise(s, stopping), name=f"logoff-{s.name}"): s for s in everything
    }
    stop_wait = asyncio.create_task(stopping.wait(), name="logoff-stop")
    code = 0
    try:
        done, _ = await asyncio.wait([stop_wait, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stop_wait and not task.cancelled() and task.exception() is not None:
                code = 2
        log.info("stopping")
    finally:
        stopping.set()
        await _stop_all(tasks)
        stop_wait.cancel()
        restore()
    return code


async def _stop_all(tasks: dict[asyncio.Task[None], Service]) -> None:
    """Ask every service to stop, give them STOP_GRACE seconds, then cancel what is left."""
    for service in tasks.values():
        if service.stop is not None:
            try:
                await asyncio.wait_for(service.stop(), STOP_GRACE)
            except Exception:
                log.exception("stopping %s failed", service.name)
    pending = [t for t in tasks if not t.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=STOP_GRACE)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=STOP_GRACE)
    for task, service in tasks.items():
        if task.done() and not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, Fatal):
                log.error("%s ended with %r", service.name, exc)
        if service.after is not None:
            try:
                await service.after()
            except Exception:
                log.exception("closing %s failed", service.name)


def logs_to_file(path: Path) -> Path:
    """Log lines go to `path` instead of the terminal, which is the conversation here.

    The console prints what members read; a WARNING line among it would read as part of
    the chat. The handlers' level, format and secret filters move to the file handler.
    """
    root = logging.getLogger()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in list(root.handlers):
        if isinstance(old, logging.StreamHandler) and not isinstance(old, logging.FileHandler):
            for f in old.filters:
                handler.addFilter(f)
            if old.formatter is not None:
                handler.setFormatter(old.formatter)
            root.removeHandler(old)
    root.addHandler(handler)
    return path


async def advance(scheduler: Scheduler, clock: VirtualClock, span: timedelta) -> None:
    """Move virtual time forward, doing in time order every job that fell due on the way."""
    await group_plans.plan_all(clock.now())
    await scheduler.advance_to(clock, clock.now() + span)
    await scheduler.engine.close_due()
