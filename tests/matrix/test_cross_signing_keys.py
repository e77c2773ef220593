"""Signed JSON, recovery keys and secret storage against vectors published by others."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from adapters.matrix.cross_signing import KeyFile, KeySet
from adapters.matrix.secret_storage import (
    ALGORITHM,
    RecoveryKeyError,
    StorageKey,
    decode_recovery_key,
    encode_recovery_key,
)
from adapters.matrix.signing import SigningKey, b64decode, verify_json

# The Matrix spec, appendices, "Cryptographic test vectors": seed, server name and key id.
SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"

# matrix-rust-sdk's secret storage tests (crates/matrix-sdk-crypto/src/secret_storage.rs):
# a recovery key, its key id and the account data that describes it, made by another
# implementation, so our key check, HKDF and AES-CTR/HMAC agree with Element's.
RUST_RECOVERY_KEY = "EsTj 3yST y93F SLpB jJsz eAXc 2XzA ygD3 w69H fGaN TKBj jXEd"
RUST_KEY_ID = "bmur2d9ypPUH1msSwCxQOJkuKRmJI55e"
RUST_DESCRIPTION = {
    "algorithm": ALGORITHM,
    "iv": "xv5b6/p3ExEw++wTyfSHEg==",
    "mac": "ujBBbXahnTAMkmPUX2/0+VTfUh63pGyVRuBcDMgmJC8=",
}
RUST_DECODED = bytes.fromhex(
    "9fbd46bb345171c6f6022c9a25d5681ba54eec6a6c4953f3adc0b96e9d91ada3"
)  # [159, 189, 70, ..., 173, 163] in the Rust test


def test_signing_the_empty_object_gives_the_spec_signature() -> None:
    obj: dict[str, object] = {}
    SigningKey.from_base64(SPEC_SEED).sign_json(obj, "domain", "ed25519:1")
    signature = (
        "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
    )
    assert obj == {"signatures": {"domain": {"ed25519:1": signature}}}


def test_signing_an_object_with_data_gives_the_spec_signature() -> None:
    obj: dict[str, object] = {"two": "Two", "one": 1}  # key order must not matter
    SigningKey.from_base64(SPEC_SEED).sign_json(obj, "domain", "ed25519:1")
    signature = obj["signatures"]["domain"]["ed25519:1"]  # type: ignore[index]
    assert signature == (
        "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
    )


def test_a_signature_covers_everything_but_signatures_and_unsigned() -> None:
    key = SigningKey.generate()
    obj: dict[str, object] = {"user_id": "@b:x", "keys": {"a": "b"}}
    key.sign_json(obj, "@b:x")
    assert verify_json(obj, "@b:x", key.key_id, key.public)
    obj["unsigned"] = {"device_display_name": "Logoff"}
    obj["signatures"]["@b:x"]["ed25519:other"] = "xyz"  # type: ignore[index]
    assert verify_json(obj, "@b:x", key.key_id, key.public)
    obj["keys"] = {"a": "c"}
    assert not verify_json(obj, "@b:x", key.key_id, key.public)
    assert not verify_json(obj, "@b:x", "ed25519:missing", key.public)
    assert not verify_json(obj, "@b:x", key.key_id, "not a key")


def test_a_signing_key_never_shows_its_seed() -> None:
    key = SigningKey.generate()
    assert key.seed_base64 not in repr(key)
    assert key.public in repr(key)
    with pytest.raises(ValueError, match="32 bytes"):
        SigningKey(b"short")


def test_recovery_keys_decode_like_the_rust_sdk() -> None:
    spaced = "EsT           pRvZTnjck8    YrhRAtw XLS84Nr2r9S9LGAWDaExVAPBvLRK   "
    assert decode_recovery_key(spaced) == RUST_DECODED
    assert decode_recovery_key(encode_recovery_key(RUST_DECODED)) == RUST_DECODED
    assert encode_recovery_key(decode_recovery_key(RUST_RECOVERY_KEY)) == RUST_RECOVERY_KEY


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("EsTpRvZTnjck8YrhRAtwXLS84Nr2r9S9LGAWDaExVAPBvLRk", "typo"),
        ("AATpRvZTnjck8YrhRAtwXLS84Nr2r9S9LGAWDaExVAPBvLRk", "not a Matrix recovery key"),
        ("AATpRvZTnjck8YrhRAtwXLS84Nr2r9S9", "48 characters"),
        ("AATpRvZTnjck8YrhRAtwXLS84Nr0OIl", "'0' is not a character"),
    ],
)
def test_a_mistyped_recovery_key_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(RecoveryKeyError, match=says):
        decode_recovery_key(text)


def test_the_rust_sdks_recovery_key_passes_its_key_check_and_another_does_not() -> None:
    StorageKey.from_recovery_key(RUST_KEY_ID, RUST_RECOVERY_KEY).check(RUST_DESCRIPTION)
    other = StorageKey.generate()
    with pytest.raises(RecoveryKeyError, match="not the one"):
        other.check(RUST_DESCRIPTION)


def test_secrets_round_trip_and_a_wrong_key_or_name_is_refused() -> None:
    key = StorageKey.generate()
    key.check(key.description())
    content = key.encrypt("m.cross_signing.master", "seed-in-base64")
    iv = b64decode(content["encrypted"][key.key_id]["iv"])
    assert len(iv) == 16
    assert iv[8] & 0x80 == 0  # the spec's cleared bit 63
    assert key.decrypt("m.cross_signing.master", content) == "seed-in-base64"
    with pytest.raises(RecoveryKeyError):
        key.decrypt("m.cross_signing.self_signing", content)
    with pytest.raises(RecoveryKeyError):
        StorageKey(key.key_id, StorageKey.generate().key).decrypt("m.cross_signing.master", content)


def test_the_key_file_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    keys = KeySet.generate("@bot:localhost")
    files = KeyFile(tmp_path / "matrix")
    files.save(keys)
    assert stat.S_IMODE(files.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.path.parent.stat().st_mode) == 0o700
    again = files.load()
    assert again is not None
    assert again.to_json() == keys.to_json()
    assert json.loads(files.path.read_text())["recovery_key"] == keys.storage.recovery_key


def test_an_unreadable_key_file_is_moved_aside_not_overwritten(tmp_path: Path) -> None:
    files = KeyFile(tmp_path)
    files.path.write_text("{not json")
    assert files.load() is None
    assert not files.path.exists()
    assert (tmp_path / "cross-signing.json.unreadable").read_text() == "{not json"


def test_the_upload_body_has_the_specs_shape_and_master_signatures() -> None:
    keys = KeySet.generate("@bot:localhost")
    body = keys.upload_body()
    master = keys.master
    assert body["master_key"] == {
        "user_id": "@bot:localhost",
        "usage": ["master"],
        "keys": {master.key_id: master.public},
    }
    for name, usage in (("self_signing_key", "self_signing"), ("user_signing_key", "user_signing")):
        assert body[name]["usage"] == [usage]
        assert verify_json(body[name], "@bot:localhost", master.key_id, master.public)
    assert keys.upload_body() == body  # deterministic: re-sending the same keys is a no-op
