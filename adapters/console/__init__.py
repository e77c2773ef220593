"""The console adapter: a local terminal chat for trying every command on your own machine."""

from adapters.console.adapter import ConsoleAdapter
from adapters.console.serve import serve_console

__all__ = ["ConsoleAdapter", "serve_console"]
