"""Matrix adapter (matrix-nio): `MatrixAdapter` serves one account; nio imported lean."""

from __future__ import annotations

import sys

from adapters.matrix.stand_ins import stand_ins
from bot.app.tls_certificates import certificates_at_first_handshake


def import_nio(encryption: bool) -> None:
    """Import matrix-nio; without encryption, as if its e2e extra were not installed.

    nio decides once, at import, whether `vodozemac` is installed (`importlib.util.find_spec`);
    if it is, `import nio` loads the whole crypto layer (vodozemac, the peewee key store) even
    when the client never encrypts: ~6 MiB and tens of ms at start for nothing. A `None` entry
    in `sys.modules` is Python's own way to say "not available"; it is removed right after, so
    nothing else in the process is affected. Without effect when nio is already imported (tests
    that run encrypted and plain bots in one process keep the full nio). With encryption, the
    crypto layer is imported without its key-export module, and either way without nio's own
    HTTP client's libraries (adapters/matrix/stand_ins.py).
    """
    if "nio" in sys.modules:
        return
    held = stand_ins(encryption)
    sys.modules.update(held)  # type: ignore[arg-type]
    try:
        with certificates_at_first_handshake():  # aiohttp's contexts: the CA bundle when used
            import nio  # noqa: F401
    finally:
        for name, stand_in in held.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]  # the real module for whoever imports it later
