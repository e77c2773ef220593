"""A bot killed at each step of answering a command answers it exactly once after a restart.

Deterministic companions of the Matrix soak: the crash point fires on the first command, the
process dies by SIGKILL there, and the next life (without crash points) finishes the job.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.matrix.harness import Member
from tests.services.synapse import SynapseServer
from tests.soak.matrix_harness import MatrixSoak, Tally, Watcher, ask, wait_answered, wait_ready


@pytest.mark.parametrize("point", ["handled", "replied"])
async def test_a_command_interrupted_at_a_crash_point_is_answered_once_after_restart(
    tmp_path: Path, synapse_server: SynapseServer, point: str
):
    soak = MatrixSoak(tmp_path / "points", synapse_server, f"sqlite://{tmp_path}/points.db")
    soak.register_bot()
    bot = soak.add_instance()
    soak.migrate()
    member = await Member.register(synapse_server, "Counter")
    tally = Tally(soak.user_id)
    watcher = Watcher(member, tally)
    watcher.start()
    try:
        bot.start()
        await wait_ready(bot)
        room = await member.create_room(invite=(soak.user_id,))
        await wait_answered(tally, await ask(member, room, '!pledge new "Walk" per week', tally))
        bot.stop()
        bot.env["LOGOFF_CRASH_POINTS"] = f"{point}:1"
        bot.start()
        await wait_ready(bot)
        command = await ask(member, room, "!done 1", tally)
        await asyncio.to_thread(bot.proc.wait, 30)  # type: ignore[union-attr]
        assert bot.proc is not None
        assert bot.proc.returncode == -9, bot.log_text()[-2000:]
        answered_before = tally.replies[command]
        assert answered_before == (1 if point == "replied" else 0)
        bot.env.pop("LOGOFF_CRASH_POINTS")
        bot.start()
        await wait_ready(bot)
        await wait_answered(tally, command)
        # A second command proves the restarted bot is past the first one, and lets a
        # late duplicate of the first show up before we count.
        later = await ask(member, room, "!streak", tally)
        await wait_answered(tally, later)
        await asyncio.sleep(2.0)
        assert tally.replies[command] == 1
        done_answers = [b for k, b in tally.bodies.items() if k == f"reply:{command}"]
        assert len(done_answers) == 1
    finally:
        bot.stop()
        await watcher.stop()
        await member.close()
