"""`logoff` with timestamps on the command path and the modules each command first imported.

Wraps `python -m bot.app.cli` (as `benchmarks.module_probe` does): an import hook patches,
once they are imported, nio's `AsyncClient` (the HTTP request, the response's parse, the
client's update), aiohttp's connector (each new connection) and the Matrix adapter (the event,
the claim, the engine, the handling transaction, the send). Each step is a line on stderr,
`probe <perf_counter> <step>`; at ready and after each answered command the modules imported
since the last such line are printed too. Imports nothing of the bot itself before the CLI.

Run (from the checkout to run; benchmarks.first_command does):
    python benchmarks/first_probe.py --config CONFIG run
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import time
from typing import Any

_known: set[str] = set()


def say(step: str) -> None:
    """One probe line: the instant and the step."""
    sys.stderr.write(f"probe {time.perf_counter():.6f} {step}\n")
    sys.stderr.flush()


def new_modules(label: str) -> None:
    """The modules imported since the last call, on one probe line."""
    now = {k for k, v in sys.modules.items() if v is not None}
    fresh = sorted(now - _known)
    _known.update(now)
    say(f"modules {label} {len(fresh)} {' '.join(fresh)}")


def timed(owner: Any, name: str, label: str) -> None:
    """Wrap the coroutine method `owner.name` with begin / end probe lines."""
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        say(f"{label} begin")
        try:
            return await original(*args, **kwargs)
        finally:
            say(f"{label} end")

    setattr(owner, name, wrapper)


def patch_nio(module: Any) -> None:
    client = module.AsyncClient
    timed(client, "send", "http")
    timed(client, "create_matrix_response", "parse")
    timed(client, "receive_response", "receive")
    timed(client, "room_send", "room_send")


def patch_aiohttp(module: Any) -> None:
    connector = module.BaseConnector
    original = connector.connect

    async def connect(self: Any, req: Any, *args: Any, **kwargs: Any) -> Any:
        idle = len(self._conns.get(req.connection_key, ()))
        if not idle:
            say(f"connect new {req.url.path}")
        return await original(self, req, *args, **kwargs)

    connector.connect = connect


def patch_adapter(module: Any) -> None:
    adapter = module.MatrixAdapter
    timed(adapter, "_on_event", "event")
    timed(adapter, "_send", "send")
    timed(adapter, "_post", "post")
    runs = adapter._sync_loop

    async def sync_loop(self: Any, started: float) -> None:
        ready = self.ready
        original_set = ready.set

        def set_ready() -> None:
            original_set()
            say("ready")
            new_modules("at-ready")

        ready.set = set_ready
        engine = self.engine
        timed(engine, "handle_text", "engine")
        claims_class = type(self.claims)
        if not getattr(claims_class, "_probed", False):
            claims_class._probed = True
            timed(claims_class, "claim", "claim")
            timed(claims_class, "handle_once", "handle_once")
            original_answered = claims_class.answered

            async def answered(claims: Any, *args: Any, **kwargs: Any) -> Any:
                say("answered begin")
                try:
                    return await original_answered(claims, *args, **kwargs)
                finally:
                    say("answered end")
                    new_modules("after-command")

            claims_class.answered = answered
        await runs(self, started)

    adapter._sync_loop = sync_loop


PATCHES = {
    "nio.client.async_client": patch_nio,
    "aiohttp.connector": patch_aiohttp,
    "adapters.matrix.adapter": patch_adapter,
}


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any, patch: Any) -> None:
        self.inner, self.patch = inner, patch

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.inner.exec_module(module)
        self.patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader, PATCHES[name])
        return spec


def main() -> None:
    sys.path[0] = os.getcwd()  # the checkout it runs in, as `python -m` would have it
    sys.meta_path.insert(0, _Finder())
    sys.argv = ["logoff", *sys.argv[1:]]
    runpy.run_module("bot.app.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
