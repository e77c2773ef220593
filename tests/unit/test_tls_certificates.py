"""Tests for bot.app.tls_certificates: CA certificates loaded at a context's first handshake."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

from bot.app.tls_certificates import LoadsOnFirstHandshake, certificates_at_first_handshake


def _ca_count(context: ssl.SSLContext) -> int:
    return context.cert_store_stats()["x509_ca"]


def _handshake_start(context: ssl.SSLContext) -> None:
    """What asyncio does with a client context when a TLS connection opens."""
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="matrix.example.org")


def test_a_default_context_made_inside_loads_its_certificates_at_the_first_handshake() -> None:
    reference = ssl.create_default_context()
    assert _ca_count(reference) > 0  # this machine has a CA bundle
    with certificates_at_first_handshake():
        context = ssl.create_default_context()
    assert isinstance(context, LoadsOnFirstHandshake)
    assert _ca_count(context) == 0
    # Until then it verifies, with nothing to trust: no server is accepted.
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    _handshake_start(context)
    assert _ca_count(context) == _ca_count(reference)
    _handshake_start(context)  # once only
    assert _ca_count(context) == _ca_count(reference)


def test_outside_the_block_contexts_load_at_once_as_before() -> None:
    with certificates_at_first_handshake():
        pass
    context = ssl.create_default_context()
    assert type(context) is ssl.SSLContext
    assert _ca_count(context) > 0
    plain = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    plain.set_default_verify_paths()
    assert type(plain) is ssl.SSLContext


def test_aiohttp_imported_inside_reads_the_bundle_at_its_first_connection() -> None:
    # aiohttp is imported once per process: a fresh interpreter imports it inside the block.
    script = """
import ssl
from bot.app.tls_certificates import certificates_at_first_handshake
with certificates_at_first_handshake():
    import aiohttp.connector as c
verified = c._SSL_CONTEXT_VERIFIED
print(verified.cert_store_stats()["x509_ca"], verified.verify_mode == ssl.CERT_REQUIRED)
verified.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="matrix.example.org")
reference = ssl.create_default_context()
print(verified.cert_store_stats()["x509_ca"] == reference.cert_store_stats()["x509_ca"])
print(type(ssl.create_default_context()).__name__)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["0", "True", "True", "SSLContext"]


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate it signed for localhost (openssl), as files in `folder`."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=Logoff test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
            "-subj", "/CN=localhost")  # fmt: skip
    (folder / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "ext.cnf")  # fmt: skip
    return folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"


def test_an_https_request_through_aiohttp_trusts_the_bundle_and_only_it(tmp_path: Path) -> None:
    ca, leaf, key = _certificates(tmp_path)
    script = f"""
import asyncio, ssl
from bot.app.tls_certificates import certificates_at_first_handshake
with certificates_at_first_handshake():
    import aiohttp
    from aiohttp import web

async def main():
    app = web.Application()
    app.router.add_get("/", lambda request: web.Response(text="ok"))
    runner = web.AppRunner(app)
    await runner.setup()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain({str(leaf)!r}, {str(key)!r})
    site = web.TCPSite(runner, "localhost", 0, ssl_context=server)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"https://localhost:{{port}}/") as resp:
            print(resp.status, await resp.text())
    await runner.cleanup()

asyncio.run(main())
"""

    def run(bundle: Path) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, SSL_CERT_FILE=str(bundle), SSL_CERT_DIR=str(tmp_path / "none"))
        return subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env
        )

    trusted = run(ca)
    assert trusted.stdout.split() == ["200", "ok"], trusted.stderr
    other = tmp_path / "other"
    other.mkdir()
    stranger, _, _ = _certificates(other)
    refused = run(stranger)
    assert refused.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr
