"""Keeps secrets (tokens, passwords) out of every log line, whatever logged them."""

from __future__ import annotations

import logging

MASK = "[redacted]"


class RedactSecrets(logging.Filter):
    """Replaces each known secret in a record's final message with a mask."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Short values would mask ordinary words; real tokens and passwords are longer.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = message
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, MASK)
        if text != message:
            record.msg, record.args = text, None
        return True


def install(secrets: list[str]) -> None:
    """Attach the filter to every handler of the root logger (call after logging is set up)."""
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
