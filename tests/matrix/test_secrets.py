"""Secrets never reach the logs or the room: a known password and token, grepped everywhere."""

from __future__ import annotations

import json
from pathlib import Path

from tests.matrix.harness import BotProcess, Member, new_bot_account, sent_by
from tests.services.synapse import SynapseServer


async def test_the_bot_password_and_access_token_appear_in_no_log_line_and_no_reply(
    synapse_server: SynapseServer, tmp_path: Path
) -> None:
    account = new_bot_account(synapse_server, tmp_path)
    bot = BotProcess(synapse_server, account)
    # Debug logging is where tokens usually leak (request URLs, headers, login bodies).
    text = bot.config.read_text().replace('log_level = "info"', 'log_level = "debug"')
    bot.config.write_text(text)
    alice = await Member.register(synapse_server, "Alice")
    try:
        bot.start()
        await bot.wait_ready(1)
        room = await alice.room_with_bot(account.user_id)
        for line in (
            '!pledge new "Call a neighbour"',
            "!done 1",
            "!export",
            "!frobnicate",
            f"!me timezone {account.password}",
        ):
            await alice.reply_to(await alice.send(room, line))
        await alice.sync(300)
    finally:
        bot.stop()
        await alice.close()
    session = json.loads((account.data_dir / "matrix" / "session.json").read_text())
    token = session["access_token"]
    secrets = [account.password, token]
    log = bot.log.read_text(errors="replace")
    assert "matrix ready" in log
    for secret in secrets:
        assert secret not in log
    replies = [json.dumps(s.source) for s in alice.seen if sent_by(account.user_id)(s)]
    assert replies
    for reply in replies:
        for secret in secrets:
            assert secret not in reply
