"""Configuration: read config.toml, apply environment secrets, and report every problem by key."""

from __future__ import annotations

import contextlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, UserError
from bot.rules.localtime import parse_timezone, parse_weekday
from bot.rules.quiet import format_quiet_hours, parse_quiet_hours
from bot.rules.slots import format_slot, parse_slot
from storage.records import GroupDefaults

# Every key can also be set as LOGOFF_<TABLE>_<KEY> (LOGOFF_DISCORD_TOKEN, LOGOFF_BOT_DATA_DIR),
# which wins over the file: secrets stay out of it, and a container needs no file at all.
ENV_PREFIX = "LOGOFF_"
ENV_KINDS = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    list: "a comma-separated list",
}
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("plain", "json")
# /ready turns 503 when the oldest due job has waited longer than this (issue 12).
READY_MAX_LAG_SECONDS = 300


@dataclass(frozen=True)
class BotConfig:
    data_dir: Path = Path("data")
    timezone: str = "UTC"
    command_prefix: str = "!"
    log_level: str = "info"
    log_format: str = "plain"
    commands_per_minute: int = 60


@dataclass(frozen=True)
class ScheduleConfig:
    week_start: int = 0
    summary: str = "mon 18:00"
    prompt: str = "sun 18:00"
    grace_hours: int = 12
    quiet_hours: str | None = "22:00-08:00"
    weekly_message_cap: int = 6
    catch_up_hours: int = 24
    group_streak_threshold: float = 0.6


@dataclass(frozen=True)
class DiscordConfig:
    enabled: bool = False
    token: str = ""
    guilds: tuple[int, ...] = ()
    # Sharding (issue 12): 0 lets Discord say how many; shard_ids empty runs every shard.
    shard_count: int = 0
    shard_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class MatrixConfig:
    enabled: bool = False
    homeserver: str = ""
    user_id: str = ""
    password: str = ""
    access_token: str = ""
    device_name: str = "Logoff"
    allowed_inviters: tuple[str, ...] = ()
    encryption: bool = False
    recovery_key: str = ""


@dataclass(frozen=True)
class HttpConfig:
    """The health/readiness/metrics listener (issue 12): off unless an address is set."""

    address: str = ""  # "HOST:PORT", or only "PORT" for 127.0.0.1
    ready_max_lag_seconds: int = READY_MAX_LAG_SECONDS


@dataclass(frozen=True)
class Config:
    bot: BotConfig = field(default_factory=BotConfig)
    database_url: str = ""
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    matrix: MatrixConfig = field(default_factory=MatrixConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    source: Path | None = None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite://{(self.bot.data_dir / 'logoff.db').as_posix()}"

    def group_defaults(self) -> GroupDefaults:
        s = self.schedule
        return GroupDefaults(
            timezone=self.bot.timezone,
            week_start=s.week_start,
            summary_slot=s.summary,
            prompt_slot=s.prompt,
            grace_hours=s.grace_hours,
            quiet_hours=s.quiet_hours,
            weekly_message_cap=s.weekly_message_cap,
            threshold=s.group_streak_threshold,
        )

    def secrets(self) -> list[str]:
        """Every secret value, so logs and replies can be checked never to contain them."""
        values = [self.discord.token, self.matrix.password, self.matrix.access_token]
        recovery = self.matrix.recovery_key.strip()
        # As written (groups of four) and as pasted without the spaces.
        values += [recovery, "".join(recovery.split())]
        if "@" in self.database_url and ":" in self.database_url.split("@")[0]:
            values.append(self.database_url.split("@")[0].rsplit(":", 1)[-1])
        return [v for v in values if v]


class _Reader:
    """Reads one table of the TOML, collecting problems instead of stopping at the first."""

    def __init__(self, data: dict[str, Any], table: str, problems: list[tuple[str, str]]):
        raw = data.get(table, {})
        if not isinstance(raw, dict):
            problems.append((table, f"must be a table, e.g. [{table}]"))
            raw = {}
        self.raw: dict[str, Any] = raw
        self.table = table
        self.problems = problems
        self.known: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.table}.{name}"

    def env_name(self, name: str) -> str:
        return f"{ENV_PREFIX}{self.table}_{name}".upper()

    def from_env(self, name: str) -> bool:
        """Whether the environment sets this key (an empty variable counts as unset)."""
        return bool(os.environ.get(self.env_name(name)))

    def _env_value(self, name: str, kind: type, default: Any) -> Any:
        env = self.env_name(name)
        text = os.environ[env].strip()
        if kind is str:
            return os.environ[env]
        if kind is list:
            return [item.strip() for item in text.split(",") if item.strip()]
        if kind is bool and text.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return text.lower() in ("true", "yes", "on", "1")
        if kind in (int, float):
            with contextlib.suppress(ValueError):
                return kind(text)
        self.problems.append((env, f"must be {ENV_KINDS[kind]}, got {text!r}"))
        return default

    def get(self, name: str, kind: type, default: Any, example: str) -> Any:
        self.known.add(name)
        if self.from_env(name):
            return self._env_value(name, kind, default)
        if name not in self.raw:
            return default
        value = self.raw[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.append(
                (self.key(name), f"must be {kind.__name__}, got {value!r}; e.g. {name} = {example}")
            )
            return default
        return value

    def parsed(self, name: str, default: Any, example: str, parse: Any) -> Any:
        value = self.get(name, str, None, example)
        if value is None:
            return default
        try:
            return parse(value)
        except (UserError, ValueError) as exc:
            if self.from_env(name):
                plain = example.strip('"')
                self.problems.append((self.env_name(name), f"{exc}; e.g. {plain}"))
            else:
                self.problems.append((self.key(name), f"{exc}; e.g. {name} = {example}"))
            return default

    def unknown(self) -> None:
        for name in sorted(set(self.raw) - self.known):
            self.problems.append(
                (self.key(name), "is not a known key (see config.example.toml for every key)")
            )
        prefix = self.env_name("")
        known = {self.env_name(name) for name in self.known}
        for env in sorted(v for v in os.environ if v.startswith(prefix) and v not in known):
            self.problems.append(
                (env, f"is not a known setting: {prefix}<KEY> for a key of [{self.table}]")
            )


def _slot_with_day(text: str) -> str:
    slot = parse_slot(text)
    if slot.weekday is None:
        raise UserError("needs a day and a time")
    return format_slot(slot)


def _quiet(text: str) -> str | None:
    q = parse_quiet_hours(text)
    return format_quiet_hours(q) if q else None


def _check_range(r: _Reader, name: str, value: int | float, low: float, high: float) -> None:
    if not low <= value <= high:
        r.problems.append((r.key(name), f"must be between {low:g} and {high:g}, got {value}"))


def parse_config(
    data: dict[str, Any], base: Path | None = None
) -> tuple[Config, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    tables = ("bot", "database", "schedule", "discord", "matrix", "http")
    for table in sorted(set(data) - set(tables)):
        problems.append((table, f"is not a known table ({', '.join(f'[{t}]' for t in tables)})"))
    b = _Reader(data, "bot", problems)
    data_dir = Path(b.get("data_dir", str, "data", '"data"'))
    if base is not None and not data_dir.is_absolute() and not b.from_env("data_dir"):
        data_dir = base / data_dir
    bot = BotConfig(
        data_dir=data_dir,
        timezone=b.parsed("timezone", "UTC", '"Europe/Berlin"', lambda t: parse_timezone(t).key),
        command_prefix=b.get("command_prefix", str, "!", '"!"'),
        log_level=b.get("log_level", str, "info", '"info"').lower(),
        log_format=b.get("log_format", str, "plain", '"json"').lower(),
        commands_per_minute=b.get("commands_per_minute", int, 60, "60"),
    )
    _check_range(b, "commands_per_minute", bot.commands_per_minute, 0, 10_000)
    if not bot.command_prefix or len(bot.command_prefix) > 3 or " " in bot.command_prefix:
        problems.append(
            ("bot.command_prefix", 'must be 1 to 3 characters without spaces, e.g. "!"')
        )
    if bot.log_level not in LOG_LEVELS:
        problems.append(("bot.log_level", f"must be one of {', '.join(LOG_LEVELS)}"))
    if bot.log_format not in LOG_FORMATS:
        problems.append(("bot.log_format", f"must be one of {', '.join(LOG_FORMATS)}"))
    b.unknown()

    d = _Reader(data, "database", problems)
    url = d.get("url", str, "", '"sqlite://data/logoff.db" or "postgres://user:pw@host/db"')
    if url and not url.startswith(("sqlite://", "postgres://", "postgresql://")):
        problems.append(
            (
                "database.url",
                "must start with sqlite:// or postgres://, "
                'e.g. url = "postgres://logoff:secret@127.0.0.1/logoff"',
            )
        )
    d.unknown()

    s = _Reader(data, "schedule", problems)
    schedule = ScheduleConfig(
        week_start=s.parsed("week_start", 0, '"mon"', parse_weekday),
        summary=s.parsed("summary", "mon 18:00", '"mon 18:00"', _slot_with_day),
        prompt=s.parsed("prompt", "sun 18:00", '"sun 18:00"', _slot_with_day),
        grace_hours=s.get("grace_hours", int, 12, "12"),
        quiet_hours=s.parsed("quiet_hours", "22:00-08:00", '"22:00-08:00" or "off"', _quiet),
        weekly_message_cap=s.get("weekly_message_cap", int, 6, "6"),
        catch_up_hours=s.get("catch_up_hours", int, 24, "24"),
        group_streak_threshold=s.get("group_streak_threshold", float, 0.6, "0.6"),
    )
    _check_range(s, "grace_hours", schedule.grace_hours, 0, 72)
    _check_range(s, "weekly_message_cap", schedule.weekly_message_cap, 1, 50)
    _check_range(s, "catch_up_hours", schedule.catch_up_hours, 0, 24 * 14)
    _check_range(s, "group_streak_threshold", schedule.group_streak_threshold, 0.01, 1.0)
    s.unknown()

    dc = _Reader(data, "discord", problems)
    guilds_raw = dc.get("guilds", list, [], "[123456789012345678]")
    guilds: list[int] = []
    for g in guilds_raw:
        if isinstance(g, int) and not isinstance(g, bool) and g > 0:
            guilds.append(g)
        elif isinstance(g, str) and g.isdigit():
            guilds.append(int(g))
        else:
            problems.append(
                ("discord.guilds", f"{g!r} is not a guild id; e.g. guilds = [123456789012345678]")
            )
    discord = DiscordConfig(
        enabled=dc.get("enabled", bool, False, "true"),
        token=dc.get("token", str, "", '"..." (or set LOGOFF_DISCORD_TOKEN)'),
        guilds=tuple(guilds),
        shard_count=dc.get("shard_count", int, 0, "2"),
        shard_ids=_shard_ids(dc),
    )
    _check_shards(dc, discord)
    if discord.enabled and not discord.token:
        problems.append(
            ("discord.token", "is required when [discord] is enabled (or set LOGOFF_DISCORD_TOKEN)")
        )
    dc.unknown()

    mx = _Reader(data, "matrix", problems)
    inviters = mx.get("allowed_inviters", list, [], '["@alice:example.org", "*:example.org"]')
    matrix = MatrixConfig(
        enabled=mx.get("enabled", bool, False, "true"),
        homeserver=mx.get("homeserver", str, "", '"https://matrix.example.org"'),
        user_id=mx.get("user_id", str, "", '"@logoff:example.org"'),
        password=mx.get("password", str, "", '"..." (or set LOGOFF_MATRIX_PASSWORD)'),
        access_token=mx.get("access_token", str, "", '"..." (or LOGOFF_MATRIX_ACCESS_TOKEN)'),
        device_name=mx.get("device_name", str, "Logoff", '"Logoff"'),
        allowed_inviters=tuple(str(i) for i in inviters),
        encryption=mx.get("encryption", bool, False, "false"),
        recovery_key=mx.get("recovery_key", str, "", '"EsT..." (or LOGOFF_MATRIX_RECOVERY_KEY)'),
    )
    for inviter in matrix.allowed_inviters:
        if not (inviter.startswith("@") or inviter.startswith("*:")) or ":" not in inviter:
            problems.append(
                (
                    "matrix.allowed_inviters",
                    f"{inviter!r} is neither a user id (@name:server) nor a *:server pattern",
                )
            )
    if matrix.enabled:
        if not matrix.homeserver.startswith(("http://", "https://")):
            problems.append(
                ("matrix.homeserver", 'must be a URL, e.g. "https://matrix.example.org"')
            )
        if not (matrix.user_id.startswith("@") and ":" in matrix.user_id):
            problems.append(
                ("matrix.user_id", 'must be a full user id, e.g. "@logoff:example.org"')
            )
        if not (matrix.password or matrix.access_token):
            problems.append(
                (
                    "matrix.password",
                    "a password or access_token is required when "
                    "[matrix] is enabled (or LOGOFF_MATRIX_PASSWORD)",
                )
            )
    mx.unknown()
    h = _Reader(data, "http", problems)
    http = HttpConfig(
        address=h.parsed("address", "", '"127.0.0.1:8080"', _http_address),
        ready_max_lag_seconds=h.get(
            "ready_max_lag_seconds", int, READY_MAX_LAG_SECONDS, str(READY_MAX_LAG_SECONDS)
        ),
    )
    _check_range(h, "ready_max_lag_seconds", http.ready_max_lag_seconds, 1, 24 * 3600)
    h.unknown()
    config = Config(
        bot=bot, database_url=url, schedule=schedule, discord=discord, matrix=matrix, http=http
    )
    return config, problems


def parse_http_address(text: str) -> tuple[str, int]:
    """("host", port) of "HOST:PORT", "[v6]:PORT" or a bare "PORT" (then the loopback address)."""
    text = text.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"{text!r} is not HOST:PORT or a port from 1 to 65535")
    return host, int(port)


def _http_address(text: str) -> str:
    if not text.strip():
        return ""
    host, port = parse_http_address(text)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _shard_ids(r: _Reader) -> tuple[int, ...]:
    ids: list[int] = []
    for item in r.get("shard_ids", list, [], "[0, 1]"):
        if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
            ids.append(item)
        elif isinstance(item, str) and item.isdigit():
            ids.append(int(item))
        else:
            r.problems.append((r.key("shard_ids"), f"{item!r} is not a shard number; e.g. [0, 1]"))
    return tuple(ids)


def _check_shards(r: _Reader, discord: DiscordConfig) -> None:
    _check_range(r, "shard_count", discord.shard_count, 0, 65_535)
    if discord.shard_ids and discord.shard_count < 1:
        r.problems.append(
            (r.key("shard_ids"), "needs shard_count too, e.g. shard_count = 2 with shard_ids = [0]")
        )
    wrong = [i for i in discord.shard_ids if discord.shard_count and i >= discord.shard_count]
    if wrong:
        r.problems.append(
            (
                r.key("shard_ids"),
                f"{wrong} out of range: shards are numbered 0 to {discord.shard_count - 1}",
            )
        )


def load_config(path: Path | None) -> tuple[Config, list[tuple[str, str]]]:
    """Read a config file (None: defaults and environment only)."""
    if path is None:
        config, problems = parse_config({})
        return config, problems
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(), [(str(path), "file not found; copy config.example.toml to start")]
    except OSError as exc:
        return Config(), [(str(path), f"cannot be read: {exc.strerror}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Config(), [(str(path), f"is not valid TOML: {exc}")]
    config, problems = parse_config(data, base=path.parent.resolve())
    return Config(
        bot=config.bot,
        database_url=config.database_url,
        schedule=config.schedule,
        discord=config.discord,
        matrix=config.matrix,
        http=config.http,
        source=path,
    ), problems


def require(config: Config, problems: list[tuple[str, str]]) -> Config:
    if problems:
        raise ConfigError(problems)
    return config
