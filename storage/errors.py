"""Errors raised by storage (kept free of the core so storage depends on nothing above it)."""

from __future__ import annotations


class StorageError(Exception):
    """Base of storage errors."""


class SchemaNotMigrated(StorageError):
    """The schema is behind the code; the message names the command that fixes it."""


class DatabaseUnavailable(StorageError):
    """The database could not be reached (not a schema problem: do not suggest a migration)."""
