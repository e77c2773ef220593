"""Pytest fixtures for real PostgreSQL and Synapse servers, started lazily per session."""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Iterator

import pytest

from tests.services.postgres import PostgresServer
from tests.services.synapse import SynapseServer


def _sigterm_runs_finalizers() -> None:
    """Turn SIGTERM (CI timeouts) into KeyboardInterrupt so fixture teardown still runs."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster (or ``LOGOFF_TEST_POSTGRES_URL``) for the session."""
    _sigterm_runs_finalizers()
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A cluster of the test's own, to stop (`pause`) and start (`resume`): stopping the
    session's shared server would break the other tests."""
    # Always a cluster of its own, also when a developer points the other tests at their own
    # server (LOGOFF_TEST_POSTGRES_URL): that one is never stopped, so nothing is skipped.
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def synapse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """A real Synapse homeserver for the session; logs stay in pytest's tmp dir."""
    _sigterm_runs_finalizers()
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh, empty database, dropped after the test."""
    name = f"logoff_test_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
