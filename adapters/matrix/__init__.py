"""Matrix adapter (matrix-nio): `run_matrix(app)` serves the configured account until cancelled."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App


async def run_matrix(app: App) -> None:
    """Log in (once), attach the Outbox for the scheduler, and sync until cancelled."""
    from adapters.matrix.adapter import PLATFORM, MatrixAdapter

    adapter = MatrixAdapter(app.engine, app.config.matrix, app.config.bot.data_dir)
    app.attach_outbox(PLATFORM, adapter)
    await adapter.run()
