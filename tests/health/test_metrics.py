"""/metrics counts what the bot did; without the `metrics` extra the bot runs the same."""

from __future__ import annotations

import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.clock import VirtualClock
from storage import jobs as job_queries
from tests.conftest import START
from tests.health.support import console_bot, get, start_bot, wait_for
from tests.services.postgres import free_port

parser = pytest.importorskip("prometheus_client.parser")  # the dev install has the extra
REPO = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition text by (name, sorted labels)."""
    found = {}
    for family in parser.text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def say(app: App, line: str) -> None:
    await app.outboxes["console"].handle_line(line)  # type: ignore[attr-defined]


async def test_metrics_count_commands_answers_sends_and_hold_backs_without_naming_anyone(
    tmp_path: Path,
):
    clock = VirtualClock(START)
    async with console_bot(tmp_path, clock) as (app, port):
        await wait_for(port, "/ready", lambda s, _: s == 200)
        await say(app, '!pledge new "Call a neighbour" per week')
        await say(app, "@ana !pledge join 1")
        await say(app, "!pledge join 99")  # refused: no such pledge
        prompt = (await job_queries.jobs_with(["pending"], ["prompt"]))[0]  # the first week's

        # The week's question falls due at 18:00; at 22:30 it is inside the quiet hours.
        clock.set(prompt.due_at + timedelta(hours=4, minutes=30))
        assert app.scheduler is not None
        app.scheduler.wake()

        def held(status: int, text: object) -> bool:
            return value(str(text), "logoff_messages_held_back_total", reason="quiet_hours") >= 1

        await wait_for(port, "/metrics", held)
        released = await job_queries.next_due_at()
        assert released is not None
        clock.set(released + timedelta(minutes=1))  # the quiet hours are over
        app.scheduler.wake()

        def sent(status: int, text: object) -> bool:
            return (
                value(str(text), "logoff_messages_sent_total", platform="console", kind="prompt")
                >= 1
            )

        await wait_for(port, "/metrics", sent)
        await say(app, "@ana !done 1 called Sam")
        status, text = await get(port, "/metrics")
        assert status == 200
        text = str(text)
        assert value(text, "logoff_answers_total", kind="done") == 1
        ok = value(text, "logoff_command_seconds_count", via="text", outcome="ok")
        assert ok >= 3
        assert value(text, "logoff_command_seconds_count", via="text", outcome="refused") == 1
        assert value(text, "logoff_platform_connected", platform="console") == 1
        assert value(text, "logoff_database_up") == 1
        assert value(text, "logoff_ready") == 1
        assert ("logoff_scheduler_lag_seconds", ()) in samples(text)
        assert value(text, "logoff_scheduler_queued_jobs") >= 1
        # Labels are kinds, platforms, reasons and outcomes; nobody is named or counted alone.
        labels = {k for (_, pairs) in samples(text) for k, _ in pairs}
        assert labels <= {"platform", "kind", "reason", "via", "outcome", "where", "le"}
        assert "ana" not in text
        assert "Call a neighbour" not in text


# The real `logoff run --no-input`, with prometheus-client made unimportable first: as if the
# extra were not installed.
WITHOUT_EXTRA = """
import sys
sys.modules["prometheus_client"] = None
from bot.app.cli import main
sys.argv = ["logoff", *sys.argv[1:]]
sys.exit(main())
"""


async def test_without_the_metrics_extra_the_bot_runs_the_same_and_metrics_says_how(
    tmp_path: Path,
):
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n[http]\naddress = "{port}"\n', encoding="utf-8"
    )
    log = tmp_path / "bot.log"
    bot = start_bot(config, log, (sys.executable, "-c", WITHOUT_EXTRA))
    try:
        _, body = await wait_for(port, "/ready", lambda s, _: s == 200)
        assert body["status"] == "ready"
        status, body = await get(port, "/metrics")
        assert status == 404
        assert "pip install 'logoff[metrics]'" in body["error"]
        assert (await get(port, "/health"))[0] == 200
    finally:
        bot.send_signal(signal.SIGINT)
        bot.wait(timeout=30)
    assert bot.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert "metrics: off, install the metrics extra" in log.read_text()
