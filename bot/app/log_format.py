"""The log line formats: plain text for a terminal, or one JSON object per line (`log_format`)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from bot import log_context

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ABOUT_FIELDS = ("platform", "group")


class JsonLines(logging.Formatter):
    """time, level, logger, message, platform and group where known, exception when raised.

    It formats what the handler's filters left, so bot.app.redaction's masking applies: the
    message is the masked one and `exc_text` the masked traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        about = log_context.current()
        for name in ABOUT_FIELDS:
            value = getattr(record, name, None) or about.get(name)
            if value:
                line[name] = str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def formatter(name: str) -> logging.Formatter:
    return JsonLines() if name == "json" else logging.Formatter(PLAIN)


def install(name: str) -> None:
    """Give every handler of the root logger the format `name` ("plain" or "json")."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter(name))
