"""Checks that the PostgreSQL and Synapse harnesses really start working servers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    RegisterResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
)

from tests.services.synapse import SynapseServer

TEST_TIMEOUT = 60
TIMELINE_FILTER = {"room": {"timeline": {"limit": 100}}}
EventPredicate = Callable[[dict[str, Any]], bool]

_seen_databases: list[str] = []


@pytest.mark.parametrize("attempt", [1, 2])
async def test_postgres_gives_each_test_a_fresh_database(postgres_url: str, attempt: int) -> None:
    async with asyncio.timeout(TEST_TIMEOUT):
        connection = await asyncpg.connect(postgres_url, timeout=10)
        try:
            database = await connection.fetchval("SELECT current_database()")
            tables = await connection.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
            await connection.execute("CREATE TABLE marker (id integer PRIMARY KEY)")
        finally:
            await connection.close()
    assert tables == 0
    assert database not in _seen_databases
    _seen_databases.append(database)


def _config() -> AsyncClientConfig:
    """Fail on the first HTTP 429 instead of letting nio sleep and retry."""
    return AsyncClientConfig(max_limit_exceeded=0, max_timeouts=5, request_timeout=20)


def _client(synapse: SynapseServer, name: str) -> AsyncClient:
    user_id, token, device_id = synapse.register(name, "secret-password")
    client = AsyncClient(synapse.url, user_id, device_id=device_id, config=_config())
    client.restore_login(user_id, device_id, token)
    return client


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def pair(synapse_server: SynapseServer) -> AsyncIterator[tuple[AsyncClient, AsyncClient]]:
    """Two freshly registered, logged-in clients; always closed."""
    alice = _client(synapse_server, _unique("alice"))
    bob = _client(synapse_server, _unique("bob"))
    try:
        yield alice, bob
    finally:
        await alice.close()
        await bob.close()


async def _sync(client: AsyncClient) -> SyncResponse:
    response = await client.sync(timeout=500, sync_filter=TIMELINE_FILTER)
    assert isinstance(response, SyncResponse), response
    return response


async def _sync_until(client: AsyncClient, room_id: str, predicate: EventPredicate) -> None:
    """Sync until an event in *room_id*'s timeline matches *predicate*."""
    while True:
        response = await _sync(client)
        room = response.rooms.join.get(room_id)
        if room and any(predicate(event.source) for event in room.timeline.events):
            return


async def _sync_until_invited(client: AsyncClient, room_id: str) -> None:
    while room_id not in (await _sync(client)).rooms.invite:
        pass


async def _send_text(client: AsyncClient, room_id: str, body: str) -> str:
    content = {"msgtype": "m.text", "body": body}
    response = await client.room_send(room_id, "m.room.message", content)
    assert isinstance(response, RoomSendResponse), response
    return response.event_id


async def _react(client: AsyncClient, room_id: str, event_id: str, key: str) -> str:
    relation = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
    response = await client.room_send(room_id, "m.reaction", {"m.relates_to": relation})
    assert isinstance(response, RoomSendResponse), response
    return response.event_id


def _is_event(event_id: str) -> EventPredicate:
    return lambda source: source.get("event_id") == event_id


async def _shared_room(alice: AsyncClient, bob: AsyncClient) -> str:
    """Alice creates a room and invites Bob; Bob joins. Returns the room id."""
    created = await alice.room_create(name="harness", invite=[bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    await _sync_until_invited(bob, created.room_id)
    joined = await bob.join(created.room_id)
    assert isinstance(joined, JoinResponse), joined
    return created.room_id


async def test_two_clients_exchange_message_and_reaction(
    pair: tuple[AsyncClient, AsyncClient],
) -> None:
    alice, bob = pair
    async with asyncio.timeout(TEST_TIMEOUT):
        room_id = await _shared_room(alice, bob)
        message_id = await _send_text(alice, room_id, "hello bob")
        await _sync_until(bob, room_id, _is_event(message_id))
        reaction_id = await _react(bob, room_id, message_id, "👍")
        await _sync_until(alice, room_id, _is_event(reaction_id))


async def test_clients_survive_a_synapse_restart(
    synapse_server: SynapseServer, pair: tuple[AsyncClient, AsyncClient]
) -> None:
    alice, bob = pair
    async with asyncio.timeout(TEST_TIMEOUT):
        room_id = await _shared_room(alice, bob)
        await _sync(alice)
        port = synapse_server.port
        await asyncio.to_thread(synapse_server.restart)
        assert synapse_server.port == port
        await _sync(alice)
        message_id = await _send_text(alice, room_id, "still here")
        await _sync_until(bob, room_id, _is_event(message_id))


async def test_burst_of_50_messages_is_stored(pair: tuple[AsyncClient, AsyncClient]) -> None:
    alice, bob = pair
    bodies = [f"burst {index}" for index in range(50)]
    async with asyncio.timeout(TEST_TIMEOUT):
        room_id = await _shared_room(alice, bob)
        await asyncio.gather(*(_send_text(alice, room_id, body) for body in bodies))
        stored = await _read_texts(bob, room_id)
    assert sorted(stored) == sorted(bodies)


async def _read_texts(client: AsyncClient, room_id: str) -> list[str]:
    """All m.text bodies in *room_id*, paging backwards from the latest sync."""
    await _sync(client)
    texts: list[str] = []
    token: str | None = client.next_batch
    while token:
        page = await client.room_messages(room_id, start=token, limit=100)
        assert isinstance(page, RoomMessagesResponse), page
        texts += [e.source["content"].get("body", "") for e in page.chunk if _is_text(e.source)]
        token = page.end if page.chunk else None
    return texts


def _is_text(source: dict[str, Any]) -> bool:
    return source.get("type") == "m.room.message" and source["content"].get("msgtype") == "m.text"


async def test_quick_registrations_and_logins_are_not_rate_limited(
    synapse_server: SynapseServer,
) -> None:
    admin_names = [_unique("admin_reg") for _ in range(10)]
    client_names = [_unique("client_reg") for _ in range(10)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        registered = list(pool.map(lambda n: synapse_server.register(n, "pw"), admin_names))
    assert len({user_id for user_id, _, _ in registered}) == 10
    async with asyncio.timeout(TEST_TIMEOUT):
        await asyncio.gather(*(_client_register(synapse_server, n) for n in client_names))
        await asyncio.gather(*(_login(synapse_server, n) for n in admin_names + client_names))
    assert time.monotonic() - started < 30


async def _client_register(synapse: SynapseServer, name: str) -> None:
    """Register through the client API (subject to rc_registration)."""
    client = AsyncClient(synapse.url, config=_config())
    try:
        response = await client.register(name, "pw")
        assert isinstance(response, RegisterResponse), response
    finally:
        await client.close()


async def _login(synapse: SynapseServer, name: str) -> None:
    client = AsyncClient(synapse.url, f"@{name}:{synapse.server_name}", config=_config())
    try:
        response = await client.login("pw")
        assert isinstance(response, LoginResponse), response
    finally:
        await client.close()
