"""Runs the `logoff` command line in this process with discord.py pointed at a local peer.

`python -m tests.discord_peer.launch PORT LABEL -- --config CONFIG run` is `logoff run` as an OS
process, the unmodified discord.py talking to the peer on 127.0.0.1:PORT as process LABEL (its
own gateway session, its requests recorded with the label). Only the two URLs change.
"""

from __future__ import annotations

import sys

from adapters.discord import client as discord_client
from bot.app.cli import main as logoff_main
from tests.discord_peer.server import patch_discord


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[2] != "--":
        print("usage: launch PORT LABEL -- LOGOFF-ARGS...", file=sys.stderr)
        return 2
    port, label, logoff_args = int(argv[0]), argv[1], argv[3:]
    # The peer sends every guild at once; waiting 2 s for more only slows a restart.
    discord_client.GUILD_READY_TIMEOUT = 0.05
    with patch_discord(port, label):
        return logoff_main(logoff_args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
