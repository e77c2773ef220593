"""The console's outbox file deduplicates by idempotency key across restarts, like a platform."""

from __future__ import annotations

from pathlib import Path

from adapters.console.outbox_file import OutboxFile, read_lines


def test_a_key_already_in_the_file_is_not_written_again_after_a_restart(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    box = OutboxFile(path)
    first = box.append("send:g1:a", "#g", "2026-11-27T10:00:00+00:00", "hello")
    box.close()
    again = OutboxFile(path)
    assert again.append("send:g1:a", "#g", "2026-11-27T10:00:05+00:00", "hello") == first
    again.append("send:g1:b", "#g", "2026-11-27T10:00:05+00:00", "second")
    again.close()
    assert [r["idempotency_key"] for r in read_lines(path)] == ["send:g1:a", "send:g1:b"]


def test_a_torn_last_line_from_a_kill_is_cut_before_the_next_message(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"idempotency_key": "k1", "message_id": "m1"}\n{"idempotency_key": "k')
    box = OutboxFile(path)
    assert "k1" in box
    assert "k2" not in box
    box.append("k2", "DM @ana", "2026-11-27T10:00:00+01:00", "hi")
    box.close()
    assert [r["idempotency_key"] for r in read_lines(path)] == ["k1", "k2"]
