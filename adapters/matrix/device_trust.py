"""When the Matrix adapter has its device cross-signed, and when it tries again."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from nio import AsyncClient

from adapters.matrix.cross_signed import CrossSigningStatus, still_signed

log = logging.getLogger("logoff.matrix")

# A homeserver that failed us is asked again after this long, not after every sync.
RETRY_EVERY = 60.0


class DeviceTrust:
    """Cross-signs the bot's current device once per login; a new login signs the new device."""

    def __init__(self, store_dir: Path, password: str, recovery_key: str) -> None:
        self.store_dir = store_dir
        self.password = password or None
        self.recovery_key = recovery_key.strip() or None
        self.status: CrossSigningStatus | None = None
        self._settled = False  # signed, or a problem only the operator can solve
        self._next_try = 0.0

    def new_login(self) -> None:
        """A new device (re-login after a revoked token): it is not signed yet."""
        self._settled = False
        self._next_try = 0.0
        self.status = None

    @property
    def signed(self) -> bool:
        return self.status is not None and self.status.ok

    async def after_sync(self, client: AsyncClient) -> None:
        """Called after nio's key chores; does nothing until the device keys are uploaded."""
        if self._settled or client.olm is None or client.should_upload_keys:
            return
        if time.monotonic() < self._next_try:
            return
        # A restart's device is signed as recorded, seen without the signing modules; they
        # are imported (and the full check run) only when it is not, or on a retry.
        status = await still_signed(client, self.store_dir) if self.status is None else None
        if status is None:
            from adapters.matrix.cross_signing import ensure_cross_signed

            status = await ensure_cross_signed(
                client, self.store_dir, self.password, recovery_key=self.recovery_key
            )
        self.status = status
        if status.retry_later:
            self._next_try = time.monotonic() + RETRY_EVERY
            return
        # Signed, or waiting for the operator (a password, the recovery key, a reset): the
        # module has logged what to do, once; asking again on every sync would change nothing.
        self._settled = True
        if status.ok:
            log.info(
                "device %s is cross-signed (master key %s)", client.device_id, status.master_key
            )
