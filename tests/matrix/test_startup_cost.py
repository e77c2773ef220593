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


def python(code: str) -> str:
    """What `code` prints, run in a fresh interpreter from the repository."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def probe(encryption: bool) -> str:
    return python(PROBE.format(encryption=encryption))


def test_without_encryption_nio_is_imported_without_its_crypto_layer() -> None:
    assert probe(False) == "False False False"


def test_with_encryption_nio_keeps_its_crypto_layer() -> None:
    assert probe(True) == "True True True"


HTTP_LIBRARIES_LATER = """
import sys
from adapters.matrix import import_nio
import_nio({encryption})
import nio.http
def loaded():
    return sum(m.split(".")[0] in ("h2", "h11", "hpack", "hyperframe") for m in sys.modules)
print(loaded())
# nio's own HTTP client (never Logoff's): its connections still work, importing them now.
print(type(nio.http.HttpConnection()._connection).__name__)
print(type(nio.http.Http2Connection()._connection).__name__, loaded() > 0)
"""


def test_nio_is_imported_without_the_http_libraries_of_its_own_client() -> None:
    for encryption in (False, True):
        out = python(HTTP_LIBRARIES_LATER.format(encryption=encryption))
        assert out.split() == ["0", "Connection", "H2Connection", "True"], encryption


KEY_EXPORT_LATER = """
import sys, tempfile
from pathlib import Path
from adapters.matrix import import_nio
import_nio(True)
print("Crypto.Protocol.KDF" in sys.modules, "nio.crypto.key_export" in sys.modules)
from nio.crypto import olm_machine  # what `export_keys` / `import_keys` call
path = str(Path(tempfile.mkdtemp()) / "keys.txt")
olm_machine.encrypt_and_save(b"room keys", path, "passphrase", count=10)
print(olm_machine.decrypt_and_read(path, "passphrase").decode())
print("Crypto.Protocol.KDF" in sys.modules)
"""


def test_with_encryption_the_key_export_module_is_imported_when_first_used() -> None:
    assert python(KEY_EXPORT_LATER).split() == ["False", "False", "room", "keys", "True"]


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
    assert python(code) == "[]"
    # The check can see them: the full cross-signing module does import them.
    assert "Crypto.PublicKey" in python(code.replace("device_trust", "cross_signing"))
