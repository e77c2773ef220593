"""log_format = "json": one JSON object per line, with platform and group, secrets masked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx1yZ2.not-a-real-token-but-long-enough"
# The real set-up of `logoff run` (bot.app.cli), then lines as the engine and a library log them.
SCRIPT = f"""
import logging
from bot import log_context
from bot.app import cli
from bot.app.config import load_config

config, problems = load_config(None)
assert not problems, problems
cli._logging(config)
log = logging.getLogger("logoff.engine")
log.info("plain line")
with log_context.about("matrix", "!room:example.org"):
    log.warning("sending with %s", "{TOKEN}")
try:
    raise RuntimeError("boom {TOKEN}")
except RuntimeError:
    logging.getLogger("nio.client").exception("request failed")
logging.getLogger("logoff.discord").info("tap", extra={{"platform": "discord"}})
"""


def run(log_format: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGOFF_")}
    env["LOGOFF_DISCORD_TOKEN"] = TOKEN
    if log_format:
        env["LOGOFF_BOT_LOG_FORMAT"] = log_format
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def test_json_lines_carry_time_level_logger_message_and_where_with_secrets_masked():
    lines = run("json")
    records = [json.loads(line) for line in lines]  # every line is one object
    assert [r["message"] for r in records] == [
        "plain line",
        "sending with [redacted]",
        "request failed",
        "tap",
    ]
    first, about, failed, tap = records
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "info"
    assert first["logger"] == "logoff.engine"
    assert first["time"].endswith("+00:00")
    assert (about["platform"], about["group"], about["level"]) == (
        "matrix",
        "!room:example.org",
        "warning",
    )
    assert "RuntimeError: boom [redacted]" in failed["exception"]
    assert "platform" not in failed  # outside the context: nothing made up
    assert tap["platform"] == "discord"
    assert TOKEN not in "\n".join(lines)


def test_plain_text_stays_the_default_and_is_masked_too():
    lines = run(None)
    assert lines[0].endswith(" INFO logoff.engine: plain line")
    assert "sending with [redacted]" in lines[1]
    assert TOKEN not in "\n".join(lines)
    assert not lines[0].startswith("{")
