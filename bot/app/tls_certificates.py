"""TLS contexts made at import that load the system's CA certificates at their first handshake."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

_real_load_default_certs = ssl.SSLContext.load_default_certs
_real_set_default_verify_paths = ssl.SSLContext.set_default_verify_paths
_lock = threading.Lock()


class LoadsOnFirstHandshake(ssl.SSLContext):
    """A context whose certificate loading waits for its first connection.

    A verifying context without its CA certificates yet refuses every server (fail closed),
    so nothing can connect before the loading is done: it is done at the first `wrap_bio`
    (asyncio's TLS) or `wrap_socket`, whichever comes first, once."""

    _pending: list[Callable[[], None]]

    def load_pending(self) -> None:
        """Run the certificate loading put off so far (nothing when none is)."""
        if not self.__dict__.get("_pending"):
            return
        with _lock:
            pending, self._pending = self._pending, []
            for load in pending:
                load()

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self.load_pending()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load_pending()
        return super().wrap_socket(*args, **kwargs)


def _put_off(context: ssl.SSLContext, load: Callable[[], None]) -> None:
    context.__class__ = LoadsOnFirstHandshake
    pending = context.__dict__.setdefault("_pending", [])
    pending.append(load)


def _load_default_certs_later(self: ssl.SSLContext, purpose: Any = ssl.Purpose.SERVER_AUTH) -> None:
    _put_off(self, lambda: _real_load_default_certs(self, purpose))


def _set_default_verify_paths_later(self: ssl.SSLContext) -> None:
    _put_off(self, lambda: _real_set_default_verify_paths(self))


@contextlib.contextmanager
def certificates_at_first_handshake() -> Iterator[None]:
    """While this is open, a context's default certificates load at its first handshake.

    aiohttp makes its two client contexts when `aiohttp.connector` is imported (a verifying
    one with the system's CA bundle, and one that verifies nothing but still reads the
    bundle's paths): reading the bundle twice, ~40-80 ms each here, at every start, also for a
    homeserver on plain http:// that never needs one. Import aiohttp (nio, discord.py, the
    HTTP listener) inside this and the bundle is read when a TLS connection first needs it.
    Only the two default loaders are put off; an explicit `load_verify_locations` is not."""
    ssl.SSLContext.load_default_certs = _load_default_certs_later  # type: ignore[method-assign]
    ssl.SSLContext.set_default_verify_paths = _set_default_verify_paths_later  # type: ignore[method-assign]
    try:
        yield
    finally:
        ssl.SSLContext.load_default_certs = _real_load_default_certs  # type: ignore[method-assign]
        ssl.SSLContext.set_default_verify_paths = _real_set_default_verify_paths  # type: ignore[method-assign]
