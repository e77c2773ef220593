"""The reactions of a sent message wait for its echo in our sync, and never past a stop."""

from __future__ import annotations

import asyncio

from adapters.matrix.echoes import Echoes

FOREVER = 3600.0  # a wait these tests must never sit out


async def test_a_message_already_back_through_the_sync_is_not_waited_for() -> None:
    echoes = Echoes()
    echoes.seen(["$sent"])  # the sync can bring it back before the send's response arrives
    await asyncio.wait_for(echoes.wait("$sent", FOREVER), FOREVER)


async def test_a_waiter_goes_on_when_the_sync_brings_its_message() -> None:
    echoes = Echoes()
    waiting = asyncio.create_task(echoes.wait("$sent", FOREVER))
    await asyncio.sleep(0)
    echoes.seen(["$other"])
    await asyncio.sleep(0)
    assert not waiting.done()
    echoes.seen(["$sent"])
    await asyncio.wait_for(waiting, FOREVER)


async def test_a_stop_lets_every_waiter_go_and_later_ones_do_not_wait() -> None:
    echoes = Echoes()
    waiting = asyncio.create_task(echoes.wait("$sent", FOREVER))
    await asyncio.sleep(0)
    echoes.release()
    await asyncio.wait_for(waiting, FOREVER)
    await asyncio.wait_for(echoes.wait("$never", FOREVER), FOREVER)


async def test_a_message_not_echoed_is_waited_for_at_most_the_timeout() -> None:
    echoes = Echoes()
    waiting = asyncio.create_task(echoes.wait("$lost", 0.0))
    await asyncio.wait_for(waiting, FOREVER)
    assert waiting.done()
    assert waiting.exception() is None
