"""Stand-ins for modules nio imports for features Logoff never uses: the real ones on first use."""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

KEY_EXPORT = "nio.crypto.key_export"
# nio's own sans-I/O HTTP client (`HttpClient`, `nio.http`) speaks HTTP/1.1 through h11 and
# HTTP/2 through h2 (with hpack and hyperframe); `AsyncClient` goes through aiohttp and never
# touches them. nio uses them only inside functions, so stand-ins are enough at import:
# 34 modules, ~1.4 MiB at every start.
HTTP_LIBRARIES = ("h2", "h2.connection", "h2.events", "h11")
PROXY = "aiohttp_socks"
CIPHERS = (
    "Crypto",
    "Crypto.Random",
    "Crypto.Cipher",
    "Crypto.Cipher.AES",
    "Crypto.Hash",
    "Crypto.Hash.SHA256",
    "Crypto.Util",
    "Crypto.Util.Counter",
)


class OnFirstUse(types.ModuleType):
    """A module whose first attribute lookup imports the real one (or its submodule)."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") or sys.modules.get(self.__name__) is self:
            # Dunder lookups (import machinery, pickling) and any use while nio is still
            # being imported: not the real module's, so no import from here.
            raise AttributeError(f"{self.__name__}.{attribute} (a stand-in)")
        real = importlib.import_module(self.__name__)
        try:
            return getattr(real, attribute)
        except AttributeError:
            return importlib.import_module(f"{self.__name__}.{attribute}")


def key_export() -> types.ModuleType:
    """nio's room-key export module, for the Olm machine's `from .key_export import ...`.

    It serves `export_keys` / `import_keys` (a passphrase-encrypted file of room keys, which
    Logoff never writes or reads) and brings pycryptodome's key derivation and hashes: ~0.5
    MiB at every encrypted start. The two functions import the real module when called."""
    stand_in = types.ModuleType(KEY_EXPORT)

    def forward(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(importlib.import_module(KEY_EXPORT), name)(*args, **kwargs)

        call.__name__ = name
        return call

    stand_in.encrypt_and_save = forward("encrypt_and_save")  # type: ignore[attr-defined]
    stand_in.decrypt_and_read = forward("decrypt_and_read")  # type: ignore[attr-defined]
    return stand_in


def proxy_connector() -> types.ModuleType:
    """aiohttp_socks, for nio's `from aiohttp_socks import ProxyConnector`.

    nio makes a `ProxyConnector` only for a client given a SOCKS or HTTP proxy, which Logoff
    never gives it; the import brings aiohttp_socks and python_socks (~30 modules, 25-50 ms
    at every start here). The stand-in's `from_url` imports the real class when called."""
    stand_in = types.ModuleType(PROXY)

    class ProxyConnector:
        """Imports aiohttp_socks' real `ProxyConnector` on first use."""

        @staticmethod
        def from_url(url: str, **kwargs: Any) -> Any:
            return importlib.import_module(PROXY).ProxyConnector.from_url(url, **kwargs)

    stand_in.ProxyConnector = ProxyConnector  # type: ignore[attr-defined]
    return stand_in


def attachment_ciphers() -> dict[str, types.ModuleType]:
    """pycryptodome's modules nio's attachment encryption names at import, for a plain client.

    `nio.crypto.attachments` (and its async twin) encrypt and decrypt files for encrypted
    rooms, which a client without encryption never does; their module-level imports load
    pycryptodome's native libraries (~12-40 ms at every start here). The names they take
    are stand-ins that import the real module on first use; `SHA256.SHA256Hash` is named in
    a signature, so that one attribute is given at once (the annotation only)."""
    held = {name: OnFirstUse(name) for name in CIPHERS}
    held["Crypto.Hash.SHA256"].SHA256Hash = object  # type: ignore[attr-defined]
    return held


def stand_ins(encryption: bool) -> dict[str, types.ModuleType | None]:
    """What `sys.modules` holds while nio is imported (None: "not installed", Python's way)."""
    held: dict[str, types.ModuleType | None] = {
        name: OnFirstUse(name) for name in HTTP_LIBRARIES if name not in sys.modules
    }
    if PROXY not in sys.modules:
        held[PROXY] = proxy_connector()
    if encryption:
        held[KEY_EXPORT] = key_export()
    else:
        if "vodozemac" not in sys.modules:
            held["vodozemac"] = None
        if not any(name in sys.modules for name in CIPHERS):
            held.update(attachment_ciphers())
    return held
