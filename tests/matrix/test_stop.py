"""`logoff run` on Matrix stops cleanly on SIGTERM and SIGINT, its sync state saved."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.matrix.harness import BotProcess, new_bot_account
from tests.services.synapse import SynapseServer

STOP_WAIT = 15.0  # a timeout for a hung process, not a speed requirement


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_the_matrix_bot_with_exit_zero_and_its_sync_token_saved(
    synapse_server: SynapseServer, tmp_path: Path, sig: signal.Signals
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bot = BotProcess(synapse_server, account)
    bot.start()
    try:
        await bot.wait_ready()
        process = bot.process
        assert process is not None
        process.send_signal(sig)
        code = process.wait(timeout=STOP_WAIT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"logoff run did not stop:\n{bot.log.read_text()}") from None
    finally:
        bot.stop()
    assert code == 0, bot.log.read_text()
    saved = json.loads((account.data_dir / "matrix" / "session.json").read_text())
    assert saved["sync_token"]
    assert "Traceback" not in bot.log.read_text()
