"""What keeps the Matrix bot light: no crypto layer without encryption; a sync filter for bursts."""

from __future__ import annotations

import subprocess
import sys

from adapters.matrix.adapter import TIMELINE_LIMIT, sync_filter
from tests.matrix.harness import REPO

PROBE = """
import sys
from adapters.matrix import import_nio
import_nio({encryption})
import nio
print(nio.crypto.ENCRYPTION_ENABLED, "vodozemac" in sys.modules, "peewee" in sys.modules)
import vodozemac  # still importable by anything else in the process
"""


def probe(encryption: bool) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(encryption=encryption)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def test_without_encryption_nio_is_imported_without_its_crypto_layer() -> None:
    assert probe(False) == "False False False"


def test_with_encryption_nio_keeps_its_crypto_layer() -> None:
    assert probe(True) == "True True True"


def test_the_sync_filter_keeps_bursts_whole() -> None:
    # No `not_senders`: Synapse then cut a burst's timeline and commands went unanswered.
    assert sync_filter(TIMELINE_LIMIT)["room"]["timeline"] == {"limit": 200}


def test_the_device_trust_check_imports_no_signing_code() -> None:
    """Encryption on, before any signing is needed: nio's crypto layer, not pycryptodome's
    curve code or the modules holding seeds (what `still_signed` saves at each restart)."""
    code = (
        "import sys; import adapters.matrix.device_trust; "
        "print(sorted(m for m in sys.modules if m.startswith(('Crypto.PublicKey', "
        "'Crypto.Signature', 'adapters.matrix.cross_signing', 'adapters.matrix.signing', "
        "'adapters.matrix.secret_storage'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]", out.stdout
    loaded = subprocess.run(
        [sys.executable, "-c", code.replace("device_trust", "cross_signing")],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert "Crypto.PublicKey" in loaded.stdout  # the check above can see them
