"""Keeps secrets (tokens, passwords) out of every log line, whatever logged them."""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"

# Secrets that are not in the config, e.g. a Matrix access token a library logs at debug level
# while logging in, before anyone could tell the filter its value.
_SHAPES = (
    re.compile(
        r"""(?P<head>["']?(?:access_token|refresh_token|password|token)["']?\s*[:=]\s*["']?)"""
        r"""(?P<secret>[^"'\s,}&]{4,})""",
        re.IGNORECASE,
    ),
    re.compile(r"(?P<head>Bearer\s+)(?P<secret>[A-Za-z0-9._~+/=-]{8,})"),
    re.compile(r"(?P<head>[?&]access_token=)(?P<secret>[^&\s'\"]+)"),
)


def scrub(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with every known secret and every secret-shaped value masked."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    for shape in _SHAPES:
        text = shape.sub(lambda m: m.group("head") + MASK, text)
    return text


class RedactSecrets(logging.Filter):
    """Replaces each known secret in a record's final message with a mask."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Short values would mask ordinary words; real tokens and passwords are longer.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        text = scrub(message, self.secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        if text != message:
            record.msg, record.args = text, None
        return True


def install(secrets: list[str]) -> None:
    """Attach the filter to every handler of the root logger (call after logging is set up)."""
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
