"""`logoff run` on Discord stops cleanly on SIGTERM and SIGINT (a real process, the local peer)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.discord_peer import DiscordPeer

REPO = Path(__file__).resolve().parents[2]
WAIT = 20.0  # a timeout for a hung process, not a speed requirement


async def _exit_code(process: subprocess.Popen[bytes], log: Path) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while process.poll() is None:  # the peer runs on this loop: keep it serving
        if loop.time() > deadline:
            process.kill()
            raise AssertionError(f"logoff run did not stop:\n{log.read_text()}")  # noqa: ASYNC240
        await asyncio.sleep(0.05)
    return process.returncode


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_the_discord_bot_with_exit_zero(
    peer: DiscordPeer, tmp_path: Path, sig: signal.Signals
) -> None:
    data = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{data}"\nlog_level = "info"\n'
        '[discord]\nenabled = true\ntoken = "peer-token"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    log = tmp_path / "bot.log"
    command = [sys.executable, "-m", "tests.discord.peer_process", str(peer.port)]
    subprocess.run(  # noqa: ASYNC221 -- set-up, before the bot runs
        [*command, "--config", str(config), "migrate"], cwd=REPO, check=True, capture_output=True
    )
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 -- a child process we watch by polling
            [*command, "run", "--config", str(config)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            await peer.wait_connected(timeout=WAIT)
        except TimeoutError:
            raise AssertionError(f"the bot did not connect:\n{log.read_text()}") from None
        process.send_signal(sig)
        code = await _exit_code(process, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert not peer.gateway.live  # it closed the gateway, not just died
