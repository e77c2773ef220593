"""`logoff` as a child process whose discord.py talks to a local peer: `PORT ARGS...`."""

from __future__ import annotations

import sys

from bot.app.cli import main
from tests.discord_peer.server import patch_discord

if __name__ == "__main__":
    with patch_discord(int(sys.argv[1])):
        raise SystemExit(main(sys.argv[2:]))
