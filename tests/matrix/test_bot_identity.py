"""The running bot cross-signs its own device, and signs the new one after a re-login."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.matrix.harness import WAIT, Member, new_bot_account, running_bot
from tests.matrix.test_cross_signing import chain, http, key_file, keys_of
from tests.services.synapse import SynapseServer

pytest.importorskip("vodozemac", reason="cross-signing is part of the e2e extra")


async def signed_chain(member: Member, user_id: str, device_id: str) -> tuple[str, str]:
    """The (master, self-signing) keys once the device shows as cross-signed to `member`."""
    deadline = time.monotonic() + WAIT
    while True:
        answer = await keys_of(member, user_id)
        device: dict[str, Any] = answer.get("device_keys", {}).get(user_id, {}).get(device_id, {})
        signers = device.get("signatures", {}).get(user_id, {})
        if user_id in answer.get("self_signing_keys", {}) and len(signers) >= 2:
            return chain(answer, user_id, device_id)
        if time.monotonic() > deadline:
            raise TimeoutError(f"device {device_id} never showed as cross-signed: {answer}")
        await asyncio.sleep(0.1)


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the bot never got there"
        await asyncio.sleep(0.05)


async def test_the_running_bot_shows_as_cross_signed_and_signs_its_new_device_after_a_relogin(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    alice = await Member.register(synapse_server, "Alice")
    try:
        async with running_bot(synapse_server, account, encryption=True) as app:
            adapter: Any = app.outboxes["matrix"]
            first_device = adapter.client.device_id
            master, ssk = await signed_chain(alice, account.user_id, first_device)
            await until(lambda: adapter.trust.signed)  # the key backup finishes after the chain
            assert key_file(account.data_dir / "matrix")["master_key"] == master

            # The homeserver forgets the bot's session (an admin logged it out): the bot logs in
            # again with its password and signs the new device with the same keys.
            status, _ = await http(
                synapse_server, adapter.client.access_token, "POST", "/_matrix/client/v3/logout"
            )
            assert status == 200
            await alice.create_room(invite=(account.user_id,))  # ends the bot's long poll
            await until(lambda: adapter.client.device_id != first_device and adapter.trust.signed)
            second_device = adapter.client.device_id
            assert await signed_chain(alice, account.user_id, second_device) == (master, ssk)
    finally:
        await alice.close()
