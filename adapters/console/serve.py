"""`logoff run` on the console with an outbox file or without input: serve until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.console.adapter import ConsoleAdapter
from adapters.console.outbox_file import OutboxFile
from bot.rules.localtime import parse_timezone

if TYPE_CHECKING:
    from bot.app.bootstrap import App

log = logging.getLogger("logoff.console")

SCHEDULER_RESTART = 5.0  # seconds before a scheduler that died (e.g. database gone) starts again


async def _supervise(app: App, stop: asyncio.Event) -> None:
    """Run the scheduler; if it dies (its start-up planning needs the database), start it again."""
    from bot.app.serve import attach_scheduler

    while not stop.is_set():
        scheduler = app.scheduler or attach_scheduler(app)
        try:
            await scheduler.run()
            return
        except asyncio.CancelledError:
            scheduler.stop()
            raise
        except Exception:
            log.exception("the scheduler stopped; starting it again in %.0f s", SCHEDULER_RESTART)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SCHEDULER_RESTART)


async def serve_console(
    app: App, user: str, *, outbox_file: Path | None = None, read_input: bool = True
) -> int:
    """The console adapter as the scheduler's Outbox; stdin commands unless `read_input` is off.

    Ends at end of input (when reading it), or on SIGTERM/SIGINT.
    """
    config = app.config
    if config.matrix.enabled or config.discord.enabled:
        print(
            "--outbox-file and --no-input serve the console adapter only; "
            "disable [matrix] and [discord] to use them.",
            file=sys.stderr,
        )
        return 2
    from bot.app.serve import attach_scheduler

    box = OutboxFile(outbox_file) if outbox_file else None
    console = ConsoleAdapter(app.engine, user, parse_timezone(config.bot.timezone), outbox_file=box)
    app.attach_outbox("console", console)
    attach_scheduler(app)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Not every loop or platform supports signal handlers (Windows, non-main threads):
        # there Ctrl-C still ends the process through KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    scheduler_task = asyncio.create_task(_supervise(app, stop), name="logoff-scheduler")
    waits = [asyncio.create_task(stop.wait(), name="logoff-stop")]
    if read_input:
        waits.append(asyncio.create_task(console.run(), name="logoff-console-input"))
    where = f", sends to {outbox_file}" if outbox_file else ""
    print(
        f"Logoff console — scheduler running{where}; "
        + ("type commands, end with Ctrl-D." if read_input else "stop with SIGTERM or Ctrl-C."),
        flush=True,
    )
    try:
        await asyncio.wait([*waits, scheduler_task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if app.scheduler is not None:
            app.scheduler.stop()
        for task in (*waits, scheduler_task):
            task.cancel()
        for task in (*waits, scheduler_task):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        for sig in handled:
            loop.remove_signal_handler(sig)
        if box is not None:
            box.close()
    return 0
