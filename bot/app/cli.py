"""The `logoff` command line: run, sandbox, simulate, migrate, check-config, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import dataclass_cache, early_stop, start_trace
from bot.app.config import Config, load_config
from bot.errors import LogoffError, UserError
from storage.errors import SchemaNotMigrated, StorageError

DEFAULT_CONFIG = "config.toml"


def _config_path(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    env = os.environ.get("LOGOFF_CONFIG")
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG)
    return default if default.exists() else None


def _load(args: argparse.Namespace) -> Config:
    config, problems = load_config(_config_path(args.config))
    if problems:
        _print_problems(problems)
        raise SystemExit(2)
    return config


def _print_problems(problems: list[tuple[str, str]]) -> None:
    print(f"The configuration has {len(problems)} problem(s):", file=sys.stderr)
    for key, message in problems:
        print(f"  {key}: {message}", file=sys.stderr)


def _print_error(exc: LogoffError) -> None:
    """What was wrong, then how to write it."""
    usage = exc.usage if isinstance(exc, UserError) else None
    print(str(exc) + (f"\n{usage}" if usage else ""), file=sys.stderr)


def _logging(config: Config) -> None:
    from bot.app import log_format, redaction

    logging.basicConfig(
        level=config.bot.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redaction.install(config.secrets())
    log_format.install(config.bot.log_format)
    if config.bot.log_level != "debug":
        # Library chatter (e.g. "Tortoise-ORM shutdown") is noise for the person at the console.
        logging.getLogger("tortoise").setLevel(logging.WARNING)
    _warn_if_readable(config)


def _warn_if_readable(config: Config) -> None:
    """A config file holding secrets should not be readable by other users of the machine."""
    path = config.source
    if path is None or not config.secrets():
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        logging.getLogger("logoff").warning(
            "%s holds secrets and is readable by other users; run: chmod 600 %s", path, path
        )


def cmd_check_config(args: argparse.Namespace) -> int:
    path = _config_path(args.config)
    config, problems = load_config(path)
    if problems:
        _print_problems(problems)
        return 2
    where = str(path) if path else "built-in defaults (no config.toml found)"
    adapters = [
        n
        for n, on in (("discord", config.discord.enabled), ("matrix", config.matrix.enabled))
        if on
    ] or ["console"]
    if path is not None and config.secrets() and path.stat().st_mode & 0o077:
        print(f"Warning: {path} holds secrets and is readable by others; run: chmod 600 {path}")
    print(f"Configuration OK ({where}).")
    print(f"  database: {_redact(config.db_url)}")
    print(f"  adapters: {', '.join(adapters)}")
    print(f"  default time zone: {config.bot.timezone}")
    return 0


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


async def _migrate(config: Config) -> int:
    from storage import database

    if config.db_url.startswith("sqlite://"):
        database.create_private_dir(config.bot.data_dir)
    applied = await database.migrate(config.db_url)
    if applied:
        print(f"Applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("The database is up to date.")
    return 0


PICTURES_HELP = (
    "console: save the pictures the bot attaches (weekly summary, !streak) in this folder "
    "(default: <data_dir>/pictures)"
)


def cmd_migrate(args: argparse.Namespace) -> int:
    config = _load(args)
    try:
        return asyncio.run(_migrate(config))
    except (StorageError, OSError) as exc:
        print(f"Could not migrate {_redact(config.db_url)}: {exc}", file=sys.stderr)
        return 4


async def _run(config: Config, args: argparse.Namespace) -> int:
    from bot.app.bootstrap import run_bot

    start_trace.mark("bootstrap imported")
    return await run_bot(
        config,
        args.user,
        outbox_file=args.outbox_file,
        read_input=not args.no_input,
        pictures=args.pictures,
    )


def cmd_run(args: argparse.Namespace) -> int:
    start_trace.mark("interpreter up, CLI imported")
    config = _load(args)
    _logging(config)
    start_trace.mark("config read, logging set up")
    try:
        return asyncio.run(_run(config, args))
    except SchemaNotMigrated as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except StorageError as exc:
        print(str(exc), file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 0


async def _sandbox(config: Config, args: argparse.Namespace) -> int:
    from bot.app.bootstrap import run_sandbox
    from bot.clock import VirtualClock
    from bot.rules.localtime import parse_start, parse_timezone

    tz = parse_timezone(args.tz or config.bot.timezone)
    if args.start:
        start = parse_start(args.start, tz)
    else:
        start = datetime.now(UTC).replace(second=0, microsecond=0)
    cfg = Config(bot=dataclasses.replace(config.bot, timezone=tz.key), schedule=config.schedule)
    return await run_sandbox(
        cfg, VirtualClock(start), user=args.user, tz=tz, pictures=args.pictures
    )


def cmd_sandbox(args: argparse.Namespace) -> int:
    config = _load(args)
    logging.basicConfig(level="WARNING", stream=sys.stderr)
    try:
        return asyncio.run(_sandbox(config, args))
    except UserError as exc:
        _print_error(exc)
        return 2
    except KeyboardInterrupt:
        return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from bot.app.simulation import simulate_cli

    config = _load(args)
    return simulate_cli(config, args)


def cmd_backup(args: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup

    config = _load(args)
    try:
        made = asyncio.run(backup(config.db_url, Path(args.path)))
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (StorageError, OSError) as exc:
        print(f"Could not back up {_redact(config.db_url)}: {exc}", file=sys.stderr)
        return 4
    print(
        f"Backed up {_redact(config.db_url)} to {made.path}: {made.tables} tables, "
        f"{made.rows} rows, schema {made.version}.\n"
        f"Restore it with `logoff restore {made.path}` (stop the bot first)."
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.app import database_lock
    from storage.backup import BackupError, restore

    config = _load(args)
    try:
        lock = database_lock.acquire(config.db_url)
    except database_lock.DatabaseInUse:
        print(
            f"Not restored: a running Logoff process serves from {_redact(config.db_url)}, "
            "and replacing its database under it would lose what it writes next. Stop the bot "
            "(Ctrl-C, or `systemctl stop logoff`), run the restore, then start it again.",
            file=sys.stderr,
        )
        return 2
    try:
        done = asyncio.run(
            restore(config.db_url, Path(args.path), work_dir=config.bot.data_dir, force=args.force)
        )
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (StorageError, OSError) as exc:
        print(f"Could not restore into {_redact(config.db_url)}: {exc}", file=sys.stderr)
        return 4
    finally:
        if lock is not None:
            lock.release()
    then = f"; then applied {', '.join(done.migrated)}" if done.migrated else ""
    print(
        f"Restored {done.rows} rows in {done.tables} tables from {args.path} into "
        f"{_redact(config.db_url)} (the backup was at schema {done.version}{then})."
    )
    if done.saved is not None:
        print(f"The database it replaced was saved to {done.saved}.")
    print("Start the bot again.")
    return 0


def cmd_discord_sync(args: argparse.Namespace) -> int:
    from bot.app.bootstrap import sync_discord_commands

    config = _load(args)
    if not config.discord.token:
        print("discord-sync needs discord.token (or LOGOFF_DISCORD_TOKEN).", file=sys.stderr)
        return 2
    scopes = asyncio.run(sync_discord_commands(config))
    print(f"Synced the slash commands: {', '.join(scopes) or 'nothing to sync'}.")
    return 0


CONFIG_HELP = (
    "path to config.toml (default: ./config.toml, or $LOGOFF_CONFIG; without one, "
    "built-in defaults); accepted before or after the verb"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logoff",
        description="Logoff: small offline pledges, kept together. "
        "Log on only to the degree that it helps you log off.",
    )
    parser.add_argument("--config", "-c", help=CONFIG_HELP)
    # The same option after the verb (`logoff run --config FILE`, as people type it). SUPPRESS
    # keeps a verb without it from overwriting the value given before the verb.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", default=argparse.SUPPRESS, help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="verb", metavar="VERB")

    def verb(name: str, summary: str) -> argparse.ArgumentParser:
        description = summary[0].upper() + summary[1:] + "."
        return sub.add_parser(name, help=summary, description=description, parents=[common])

    run = verb("run", "run the bot (console when no platform is enabled)")
    run.add_argument(
        "--user",
        default=os.environ.get("USER") or "you",
        help="who is typing in the console (default: $USER)",
    )
    run.add_argument(
        "--outbox-file",
        type=Path,
        help="console: append every message the bot sends to this JSON-lines file "
        "(deduplicated by idempotency key, fsynced)",
    )
    run.add_argument(
        "--no-input",
        action="store_true",
        help="console: do not read commands from stdin; serve the scheduler until SIGTERM/SIGINT",
    )
    run.add_argument("--pictures", type=Path, help=PICTURES_HELP)
    run.set_defaults(func=cmd_run)
    sandbox = verb("sandbox", "try everything on a throwaway database with virtual time")
    sandbox.add_argument("--start", help="virtual start, ISO date-time (default: now)")
    sandbox.add_argument("--tz", help="the group's time zone, e.g. Europe/Berlin")
    sandbox.add_argument("--user", default=os.environ.get("USER") or "you", help="who is typing")
    sandbox.add_argument("--pictures", type=Path, help=PICTURES_HELP)
    sandbox.set_defaults(func=cmd_sandbox)
    simulate = verb("simulate", "simulate a group for weeks and print attention figures")
    simulate.add_argument("--members", type=int, default=12, help="members in the group")
    simulate.add_argument("--pledges", type=int, default=2, help="weekly pledges")
    simulate.add_argument("--weeks", type=int, default=8, help="weeks to simulate")
    simulate.add_argument("--seed", type=int, default=1, help="seed of the members' habits")
    simulate.add_argument(
        "--daily", type=int, default=0, help="daily pledges beside the weekly ones (mixed cadences)"
    )
    simulate.add_argument(
        "--events",
        action="store_true",
        help="one offline event a week, linked to the first pledge (Going / Maybe / Can't)",
    )
    simulate.add_argument(
        "--second-zone",
        help="with --daily: the zone every second member lives in (default America/New_York)",
    )
    simulate.add_argument("--start", help="ISO date-time to start at")
    simulate.add_argument("--tz", help="time zone of the group")
    simulate.add_argument("--transcript", action="store_true", help="print every message")
    simulate.add_argument("--json", action="store_true", help="print the figures as JSON")
    simulate.set_defaults(func=cmd_simulate)
    migrate = verb("migrate", "create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)
    check = verb("check-config", "validate the configuration, listing every problem")
    check.set_defaults(func=cmd_check_config)
    backup = verb(
        "backup", "write a consistent backup of the live database (SQLite or PostgreSQL) to a file"
    )
    backup.add_argument("path", help="the backup file to write (a SQLite file, mode 600)")
    backup.set_defaults(func=cmd_backup)
    restore = verb("restore", "replace the database with a backup made by `logoff backup`")
    restore.add_argument("path", help="the backup file")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace a database that already holds data (it is saved to data_dir first)",
    )
    restore.set_defaults(func=cmd_restore)
    dsync = verb("discord-sync", "push the slash commands to Discord now")
    dsync.set_defaults(func=cmd_discord_sync)
    return parser


def _leave_out_unused_imports() -> None:
    """Tortoise imports pydantic whenever it is installed (for pydantic-typed JSON fields,
    which Logoff has none of): a fifth of Tortoise's import time at every start where a
    development install put it (the `ical` test dependency). Marked absent, Tortoise takes
    the branch it takes without it, as in the image, which does not install it. Tortoise is
    then imported without the source parse of its base class (storage/lean_import.py)."""
    sys.modules.setdefault("pydantic", None)  # type: ignore[arg-type]
    from storage.lean_import import import_tortoise

    import_tortoise()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if argv is None and args.func is cmd_run:
        # The program itself (`logoff run`, `python -m bot.app.cli run`), never a test
        # calling main([...]) in a process that may use pydantic afterwards.
        early_stop.install()  # done already by bot.app's first line, unless argv fooled it
        dataclass_cache.install()  # likewise
        _leave_out_unused_imports()
    else:
        early_stop.uninstall()  # "run" was an option's value: not `logoff run` after all
    try:
        result: Any = args.func(args)
    except LogoffError as exc:
        _print_error(exc)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
