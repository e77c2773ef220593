"""Matrix adapter (matrix-nio): `MatrixAdapter` serves one account; nio imported lean."""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

KEY_EXPORT = "nio.crypto.key_export"


def _key_export_on_first_use() -> types.ModuleType:
    """A stand-in for nio's room-key export module while nio is imported.

    nio's Olm machine imports it for `export_keys` / `import_keys` (a passphrase-encrypted file
    of room keys, which Logoff never writes or reads), and with it pycryptodome's key
    derivation and hash modules: ~0.5 MiB at every encrypted start. Its two functions import
    the real module when called."""
    stand_in = types.ModuleType(KEY_EXPORT)

    def forward(name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(importlib.import_module(KEY_EXPORT), name)(*args, **kwargs)

        call.__name__ = name
        return call

    stand_in.encrypt_and_save = forward("encrypt_and_save")  # type: ignore[attr-defined]
    stand_in.decrypt_and_read = forward("decrypt_and_read")  # type: ignore[attr-defined]
    return stand_in


def import_nio(encryption: bool) -> None:
    """Import matrix-nio; without encryption, as if its e2e extra were not installed.

    nio decides once, at import, whether `vodozemac` is installed (`importlib.util.find_spec`);
    if it is, `import nio` loads the whole crypto layer (vodozemac, the peewee key store) even
    when the client never encrypts: ~6 MiB and tens of ms at start for nothing. A `None` entry
    in `sys.modules` is Python's own way to say "not available"; it is removed right after, so
    nothing else in the process is affected. Without effect when nio is already imported (tests
    that run encrypted and plain bots in one process keep the full nio). With encryption, the
    crypto layer is imported without its key-export module (`_key_export_on_first_use`).
    """
    if "nio" in sys.modules:
        return
    if encryption:
        stand_in = sys.modules[KEY_EXPORT] = _key_export_on_first_use()
        try:
            import nio
        finally:
            if sys.modules.get(KEY_EXPORT) is stand_in:
                del sys.modules[KEY_EXPORT]  # the real module for whoever calls or imports it
        return
    blocked = "vodozemac" not in sys.modules
    if blocked:
        sys.modules["vodozemac"] = None  # type: ignore[assignment]
    try:
        import nio  # noqa: F401
    finally:
        if blocked:
            sys.modules.pop("vodozemac", None)
