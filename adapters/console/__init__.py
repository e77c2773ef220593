"""The console adapter: a local terminal chat for trying every command on your own machine."""

from adapters.console.adapter import ConsoleAdapter
from adapters.console.outbox_file import OutboxFile

__all__ = ["ConsoleAdapter", "OutboxFile"]
