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
