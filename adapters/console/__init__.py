"""The console adapter: a local terminal chat for trying every command on your own machine."""

from adapters.console.adapter import ConsoleAdapter

__all__ = ["ConsoleAdapter"]
