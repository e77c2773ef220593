"""The HTTP listener: /health, /ready, /metrics, and routes other parts add (e.g. a calendar feed).

Off unless `[http] address` is set. It runs inside the bot's own event loop on aiohttp (already
there for discord.py and matrix-nio), so /health answering at all shows that the loop turns.

Adding a route: build a `Route(path, handler)` whose handler takes the aiohttp request and
returns a response, and pass it in `routes` to `serve_http` from the composition root, e.g.
`Route("/events/{group}.ics", ics_feed)`. The listener owns no business rule; a route does its
own checks and answers plain HTTP errors (404, 403) itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.app.config import parse_http_address
from bot.app.health import Health, Verdict
from bot.app.metrics import CONTENT_TYPE, EXTRA_HINT, PrometheusMeter
from bot.clock import Clock

if TYPE_CHECKING:
    from bot.app.bootstrap import App

log = logging.getLogger("logoff.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One path the listener answers; `method` is GET unless said otherwise."""

    path: str
    handler: Handler
    method: str = "GET"


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, indent=None, sort_keys=False),
        content_type="application/json",
    )


def _verdict(verdict: Verdict) -> web.Response:
    return _json(200 if verdict.ok else 503, verdict.body)


def event_feed_route(clock: Clock) -> Route:
    """A group's ICS feed at its secret address (bot.app.event_feed answers it)."""
    from bot.app.event_feed import FEED_PATH, render_feed

    async def feed(request: web.Request) -> web.StreamResponse:
        answer = await render_feed(request.match_info["secret"], clock.now())
        return web.Response(
            status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type}
        )

    return Route(FEED_PATH, feed)


def core_routes(health: Health, meter: PrometheusMeter | None) -> list[Route]:
    async def liveness(_: web.Request) -> web.Response:
        return _verdict(health.liveness())

    async def readiness(_: web.Request) -> web.Response:
        return _verdict(await health.readiness())

    async def metrics(_: web.Request) -> web.Response:
        if meter is None:
            return _json(404, {"error": f"metrics are off: {EXTRA_HINT}"})
        body = await meter.render(health)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return [Route("/health", liveness), Route("/ready", readiness), Route("/metrics", metrics)]


class HttpListener:
    """An aiohttp site on one address; `port` is the bound one (useful with port 0)."""

    def __init__(self, host: str, port: int, routes: Sequence[Route]) -> None:
        self.host, self.port = host, port
        web_app = web.Application()
        for route in routes:
            web_app.router.add_route(route.method, route.path, route.handler)
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = site._server  # the bound socket tells the real port when 0 was asked
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self._runner.cleanup()


@contextlib.asynccontextmanager
async def serve_http(app: App, routes: Sequence[Route] = ()) -> AsyncIterator[HttpListener | None]:
    """Serve the listener for the app's lifetime when `[http] address` is set (None otherwise)."""
    if not app.config.http.address:
        yield None
        return
    host, port = parse_http_address(app.config.http.address)
    meter = app.engine.meter if isinstance(app.engine.meter, PrometheusMeter) else None
    async with Health(app) as health:
        listener = HttpListener(host, port, [*core_routes(health, meter), *routes])
        try:
            await listener.start()
        except OSError as exc:
            log.error(
                "cannot listen on %s: %s; health and metrics are off", app.config.http.address, exc
            )
            yield None
            return
        log.info(
            "listening on http://%s:%d (/health, /ready, /metrics%s)",
            host,
            listener.port,
            "" if meter else ": off, " + EXTRA_HINT,
        )
        try:
            yield listener
        finally:
            await listener.stop()
