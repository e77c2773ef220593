"""A second engine on the same database in a process of its own, driven by JSON lines on stdin.

`python -m tests.support.engine_process URL START` opens the database as `logoff run` does,
builds the real engine on a virtual clock fixed at START, prints {"ready": ...} and then
answers each line {"as": name, "text": "!command"} with {"text": reply, "hits": n, "on": bool}
(the record cache's hit count after the command and whether it is on), {"member": name} with
that member's time zone as storage reads it, and {"watch": "on"} with {"on": ...} once the
cache is back on (or after 10 s). Tests of several processes on one PostgreSQL use
it: Tortoise and the record cache are one per process.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime

from bot.actors import Actor, Place
from bot.app.bootstrap import build_engine
from bot.app.config import BotConfig, Config
from bot.clock import VirtualClock
from storage import database
from storage.groups import find_member
from storage.record_cache import cache

PLACE = Place("console", "console", "console")


async def _serve(url: str, start: datetime) -> None:
    await database.open_database(url)
    engine = build_engine(Config(bot=BotConfig(timezone="Europe/Berlin")), VirtualClock(start))
    loop = asyncio.get_running_loop()

    def reply(data: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    reply({"ready": True, "on": cache.enabled})
    events = 0
    try:
        while True:
            # Read in a thread: the loop keeps running (LISTEN notifications) between lines.
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            request = json.loads(line)
            if "member" in request:  # a read through storage's cached path, as commands do
                member = await find_member("console", str(request["member"]))
                reply({"timezone": member.timezone if member else None, "hits": cache.hits})
                continue
            if "watch" in request:
                for _ in range(200):
                    if cache.enabled:
                        break
                    await asyncio.sleep(0.05)
                reply({"on": cache.enabled})
                continue
            events += 1
            name = str(request["as"])
            answer = await engine.handle_text(
                Actor("console", name, name, is_admin=bool(request.get("admin"))),
                PLACE,
                str(request["text"]),
                f"second-{events}",
            )
            reply(
                {"text": answer.text if answer else None, "hits": cache.hits, "on": cache.enabled}
            )
    finally:
        await database.close_database()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], datetime.fromisoformat(sys.argv[2])))
