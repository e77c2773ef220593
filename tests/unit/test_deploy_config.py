"""The deployment keys: the listener's address, the log format and Discord's shards."""

from __future__ import annotations

import pytest

from bot.app.config import parse_config, parse_http_address


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("[::1]:8080", ("::1", 8080)),
        (":8080", ("127.0.0.1", 8080)),
    ],
)
def test_an_address_is_host_and_port_and_a_bare_port_stays_on_the_loopback(text, address):
    assert parse_http_address(text) == address


def test_the_listener_is_off_by_default_and_a_bad_address_says_how_to_write_it():
    config, problems = parse_config({})
    assert config.http.address == ""
    assert problems == []
    _, problems = parse_config({"http": {"address": "localhost"}})
    assert problems == [
        (
            "http.address",
            "'localhost' is not HOST:PORT or a port from 1 to 65535; "
            'e.g. address = "127.0.0.1:8080"',
        )
    ]


def test_the_address_and_the_format_come_from_the_environment_too(monkeypatch):
    monkeypatch.setenv("LOGOFF_HTTP_ADDRESS", "0.0.0.0:8080")
    monkeypatch.setenv("LOGOFF_BOT_LOG_FORMAT", "json")
    config, problems = parse_config({})
    assert problems == []
    assert config.http.address == "0.0.0.0:8080"
    assert config.bot.log_format == "json"


def test_an_unknown_log_format_is_named():
    _, problems = parse_config({"bot": {"log_format": "xml"}})
    assert problems == [("bot.log_format", "must be one of plain, json")]


def test_shards_need_a_count_and_stay_within_it():
    config, problems = parse_config({"discord": {"shard_count": 4, "shard_ids": [0, 2]}})
    assert problems == []
    assert (config.discord.shard_count, config.discord.shard_ids) == (4, (0, 2))
    _, problems = parse_config({"discord": {"shard_ids": [0]}})
    assert [k for k, _ in problems] == ["discord.shard_ids"]
    assert "needs shard_count" in problems[0][1]
    _, problems = parse_config({"discord": {"shard_count": 2, "shard_ids": [1, 2]}})
    assert problems == [("discord.shard_ids", "[2] out of range: shards are numbered 0 to 1")]
