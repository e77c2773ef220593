"""Domain errors: each carries a message written for the member who typed the command."""

from __future__ import annotations


class LogoffError(Exception):
    """Base of every expected error; never shown as a stack trace."""


class UserError(LogoffError):
    """Bad input or a refused action: `message` says what was wrong, `usage` how to write it."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def __str__(self) -> str:
        return self.message


class PermissionDenied(UserError):
    """The caller may not run this command or act on this data."""


class NotFound(UserError):
    """A pledge, member or check-in named by the caller does not exist."""


class ConfigError(LogoffError):
    """The configuration is broken; `problems` lists (key, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {msg}" for key, msg in problems))


class StartRefused(LogoffError):
    """A part cannot start and retrying will not help (say, its data directory is in use)."""


class DeliveryError(LogoffError):
    """A platform refused or failed to take a message; `retryable` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
