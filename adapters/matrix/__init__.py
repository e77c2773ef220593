"""Matrix adapter (matrix-nio): `run_matrix(app)` serves the configured account until cancelled."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app.bootstrap import App


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


async def run_matrix(app: App) -> None:
    """Log in (once), attach the Outbox for the scheduler, and sync until cancelled."""
    import_nio(app.config.matrix.encryption)
    from adapters.matrix.adapter import PLATFORM, MatrixAdapter

    adapter = MatrixAdapter(app.engine, app.config.matrix, app.config.bot.data_dir)
    app.attach_outbox(PLATFORM, adapter)
    await adapter.run()
