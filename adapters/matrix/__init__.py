"""Matrix adapter (matrix-nio): `MatrixAdapter` serves one account; nio imported lean."""

from __future__ import annotations

import sys


def import_nio(encryption: bool) -> None:
    """Import matrix-nio; without encryption, as if its e2e extra were not installed.

    nio decides once, at import, whether `vodozemac` is installed (`importlib.util.find_spec`);
    if it is, `import nio` loads the whole crypto layer (vodozemac, the peewee key store) even
    when the client never encrypts: ~6 MiB and tens of ms at start for nothing. A `None` entry
    in `sys.modules` is Python's own way to say "not available"; it is removed right after, so
    nothing else in the process is affected. Without effect when nio is already imported (tests
    that run encrypted and plain bots in one process keep the full nio).
    """
    if encryption or "nio" in sys.modules:
        import nio

        return
    blocked = "vodozemac" not in sys.modules
    if blocked:
        sys.modules["vodozemac"] = None  # type: ignore[assignment]
    try:
        import nio  # noqa: F401
    finally:
        if blocked:
            sys.modules.pop("vodozemac", None)
