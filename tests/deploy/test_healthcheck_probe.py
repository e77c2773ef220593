"""The image's health probe (deploy/container/healthcheck.py) against a real HTTP listener."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

PROBE = Path(__file__).resolve().parents[2] / "deploy" / "container" / "healthcheck.py"


def probe(address: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOGOFF_HTTP_ADDRESS"}
    if address is not None:
        env["LOGOFF_HTTP_ADDRESS"] = address
    return subprocess.run(
        [sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=30
    )


class Listener(BaseHTTPRequestHandler):
    status: ClassVar[int] = 200
    body: ClassVar[dict[str, object]] = {"status": "ok"}

    def do_GET(self) -> None:
        payload = json.dumps(self.body if self.path == "/health" else {"error": "no"}).encode()
        self.send_response(self.status if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        Listener.status, Listener.body = 200, {"status": "ok"}


def test_without_a_listener_address_the_probe_says_so_and_passes():
    done = probe(None)
    assert done.returncode == 0
    assert "No health listener configured" in done.stdout


def test_a_healthy_listener_passes_and_its_body_is_shown(listener: ThreadingHTTPServer):
    port = listener.server_address[1]
    done = probe(f"0.0.0.0:{port}")  # a wildcard bind is probed on the loopback address
    assert done.returncode == 0, done.stdout
    assert '"status": "ok"' in done.stdout


def test_an_unhealthy_answer_fails_and_says_what_is_wrong(listener: ThreadingHTTPServer):
    Listener.status, Listener.body = 503, {"status": "stalled", "loop_lag_s": 12.5}
    done = probe(f"127.0.0.1:{listener.server_address[1]}")
    assert done.returncode == 1
    assert "503" in done.stdout
    assert "stalled" in done.stdout


def test_nothing_listening_or_a_bad_address_fails_with_the_reason():
    from tests.services.postgres import free_port

    done = probe(f"127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "refused" in done.stdout.lower()
    bad = probe("localhost")
    assert bad.returncode == 1
    assert "HOST:PORT" in bad.stdout
