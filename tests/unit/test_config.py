"""Configuration: the example is valid, every problem is listed with its key, env secrets win."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config import load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_is_valid_and_matches_the_defaults():
    config, problems = parse_config(tomllib.loads((ROOT / "config.example.toml").read_text()))
    default, _ = parse_config({})
    assert problems == []
    assert config.schedule == default.schedule
    assert config.bot.timezone == default.bot.timezone


def test_every_problem_is_listed_with_its_key_and_an_example():
    data = {
        "bot": {"timezone": "Mars/Olympus", "command_prefix": "", "colour": "red"},
        "schedule": {
            "summary": "18:00",
            "grace_hours": "twelve",
            "quiet_hours": "22-8",
            "group_streak_threshold": 3,
        },
        "matrix": {"enabled": True, "homeserver": "matrix.org", "user_id": "logoff"},
        "discord": {"enabled": True, "guilds": ["abc"]},
        "extra": {},
    }
    _, problems = parse_config(data)
    keys = {key for key, _ in problems}
    assert {
        "bot.timezone",
        "bot.command_prefix",
        "bot.colour",
        "schedule.summary",
        "schedule.grace_hours",
        "schedule.quiet_hours",
        "schedule.group_streak_threshold",
        "matrix.homeserver",
        "matrix.user_id",
        "matrix.password",
        "discord.token",
        "discord.guilds",
        "extra",
    } <= keys
    messages = dict(problems)
    assert "e.g. grace_hours = 12" in messages["schedule.grace_hours"]


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOGOFF_DISCORD_TOKEN", "tok-from-env")
    monkeypatch.setenv("LOGOFF_DATABASE_URL", "postgres://u:pw@127.0.0.1/db")
    config, problems = parse_config({"discord": {"enabled": True}})
    assert problems == []
    assert config.discord.token == "tok-from-env"
    assert config.db_url == "postgres://u:pw@127.0.0.1/db"
    assert "tok-from-env" in config.secrets()
    assert "pw" in config.secrets()


def test_a_broken_file_is_reported_not_raised(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text("[bot\ntimezone = ")
    _, problems = load_config(path)
    assert problems[0][0] == str(path)
    assert "not valid TOML" in problems[0][1]
    _, missing = load_config(tmp_path / "nope.toml")
    assert "file not found" in missing[0][1]


def test_a_relative_data_dir_is_relative_to_the_config_file(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[bot]\ndata_dir = "state"\n')
    config, problems = load_config(path)
    assert problems == []
    assert config.bot.data_dir == tmp_path.resolve() / "state"
    assert config.db_url == f"sqlite://{tmp_path.resolve()}/state/logoff.db"
