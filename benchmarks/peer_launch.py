"""Run matrix-reminder-bot unchanged, printing one line when its first sync has returned.

Runs under the peer's own venv (`.cache/peer-mrb-0.4.0`), never imports Logoff. The only
addition is a wrapper around `nio.AsyncClient.sync` that prints `peer ready` once, after the
first sync response: the same instant Logoff logs `matrix ready` and the bare bot `echo ready`
(the peer's own "Startup complete" line comes before its first sync). It then runs the bot the
way its `matrix-reminder-bot` script does.

Run: .cache/peer-mrb-0.4.0/bin/python benchmarks/peer_launch.py config.yaml
"""

import asyncio
import sys

import nio

READY = "peer ready"
_sync = nio.AsyncClient.sync
_seen = []


async def _sync_then_say(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    response = await _sync(self, *args, **kwargs)
    if not _seen and isinstance(response, nio.SyncResponse):
        _seen.append(True)
        print(READY, flush=True)
    return response


nio.AsyncClient.sync = _sync_then_say  # type: ignore[method-assign]

from matrix_reminder_bot import main  # noqa: E402

sys.argv = [sys.argv[0], *sys.argv[1:]]
asyncio.run(main.main())
