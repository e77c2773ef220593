"""Configuration: the example is valid, every problem is listed with its key, env secrets win."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.app.config import load_config, parse_config

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


def test_every_key_can_come_from_the_environment_and_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "config.toml"
    path.write_text('[bot]\ndata_dir = "state"\ntimezone = "Europe/Berlin"\n')
    env = {
        "LOGOFF_BOT_DATA_DIR": "/data",
        "LOGOFF_BOT_TIMEZONE": "America/New_York",
        "LOGOFF_BOT_COMMANDS_PER_MINUTE": "30",
        "LOGOFF_SCHEDULE_GROUP_STREAK_THRESHOLD": "0.5",
        "LOGOFF_SCHEDULE_QUIET_HOURS": "off",
        "LOGOFF_MATRIX_ENABLED": "true",
        "LOGOFF_MATRIX_HOMESERVER": "https://matrix.example.org",
        "LOGOFF_MATRIX_USER_ID": "@logoff:example.org",
        "LOGOFF_MATRIX_PASSWORD": "pw-from-env",
        "LOGOFF_MATRIX_ALLOWED_INVITERS": "@ana:example.org, *:example.net",
        "LOGOFF_DISCORD_GUILDS": "123,456",
        "LOGOFF_DISCORD_TOKEN": "",  # empty: unset, as an env file's blank line
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config, problems = load_config(path)
    assert problems == []
    assert config.bot.data_dir == Path("/data")
    assert config.db_url == "sqlite:///data/logoff.db"
    assert config.bot.timezone == "America/New_York"
    assert config.bot.commands_per_minute == 30
    assert config.schedule.group_streak_threshold == 0.5
    assert config.schedule.quiet_hours is None
    assert config.matrix.enabled
    assert config.matrix.allowed_inviters == ("@ana:example.org", "*:example.net")
    assert config.discord.guilds == (123, 456)
    assert config.discord.token == ""


def test_a_relative_data_dir_from_the_environment_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir()
    path.write_text("")
    monkeypatch.setenv("LOGOFF_BOT_DATA_DIR", "state")
    config, _ = load_config(path)
    assert config.bot.data_dir == Path("state")


def test_bad_or_misspelt_environment_settings_are_problems_named_by_the_variable(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("LOGOFF_BOT_COMMANDS_PER_MINUTE", "lots")
    monkeypatch.setenv("LOGOFF_MATRIX_ENABLED", "maybe")
    monkeypatch.setenv("LOGOFF_MATRIX_HOMESERVR", "https://matrix.example.org")
    monkeypatch.setenv("LOGOFF_SCHEDULE_SUMMARY", "18:00")
    monkeypatch.setenv("LOGOFF_CONFIG", "/data/config.toml")  # not a table: not a key
    _, problems = parse_config({})
    messages = dict(problems)
    assert messages["LOGOFF_BOT_COMMANDS_PER_MINUTE"] == "must be a whole number, got 'lots'"
    assert messages["LOGOFF_MATRIX_ENABLED"] == "must be true or false, got 'maybe'"
    assert "not a known setting" in messages["LOGOFF_MATRIX_HOMESERVR"]
    assert messages["LOGOFF_SCHEDULE_SUMMARY"] == "needs a day and a time; e.g. mon 18:00"
    assert "LOGOFF_CONFIG" not in messages


def test_the_recovery_key_comes_from_the_environment_and_is_masked_with_or_without_spaces(
    monkeypatch: pytest.MonkeyPatch,
):
    key = "EsTc 8kMz Qq2w Rr4T"
    monkeypatch.setenv("LOGOFF_MATRIX_RECOVERY_KEY", key)
    config, problems = parse_config({})
    assert problems == []
    assert config.matrix.recovery_key == key
    assert key in config.secrets()
    assert "EsTc8kMzQq2wRr4T" in config.secrets()
