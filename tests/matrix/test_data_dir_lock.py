"""One live process per data directory: a second `logoff run` on it says why and exits."""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
from pathlib import Path

from tests.matrix.harness import REPO, BotProcess, new_bot_account
from tests.services.synapse import SynapseServer


async def test_a_second_process_on_the_same_data_directory_refuses_with_a_clear_message(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    first = BotProcess(synapse_server, account)
    try:
        first.start()
        await first.wait_ready(1)
        # A database of its own: on the same SQLite file the database's lock refuses it first
        # (tests/integration/test_one_process_per_sqlite_file.py).
        env = {**os.environ, "LOGOFF_DATABASE_URL": f"sqlite://{tmp_path}/second.db"}
        run = functools.partial(
            subprocess.run, cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )
        await asyncio.to_thread(run, first._logoff("migrate"), check=True)
        second = await asyncio.to_thread(run, first._logoff("run"))
        assert second.returncode == 2, second.stderr[-2000:]
        assert "Another Logoff process is using" in second.stderr
        assert "its Matrix login and store" in second.stderr  # the data directory's lock
        assert "data_dir" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.process is not None
        assert first.process.poll() is None  # untouched
    finally:
        first.stop()
