"""A private throwaway PostgreSQL cluster for tests, listening on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

URL_ENV = "LOGOFF_TEST_POSTGRES_URL"
PG_USER = "postgres"
LOCALHOST = "127.0.0.1"
SERVER_SETTINGS = {
    "listen_addresses": f"'{LOCALHOST}'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}

T = TypeVar("T")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def _version_key(initdb: str) -> tuple[int, ...]:
    version = Path(initdb).parent.parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_bin_dir() -> Path | None:
    """Directory of the newest installed PostgreSQL's binaries, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    return Path(found[-1]).parent if found else None


def _as_root(command: list[str]) -> list[str]:
    """Prefix *command* with ``sudo -n`` when not already root."""
    return command if os.geteuid() == 0 else ["sudo", "-n", *command]


def install_postgresql() -> None:
    """Install Debian's PostgreSQL packages (only called when initdb is missing)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(_as_root(["apt-get", "update"]), check=True, env=env, timeout=600)
    install = ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]
    subprocess.run(_as_root(install), check=True, env=env, timeout=1200)


def ensure_postgres_user() -> None:
    """Create the ``postgres`` OS user if it does not exist (root only)."""
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        command = ["useradd", "--system", "--user-group", "--no-create-home", PG_USER]
        subprocess.run(_as_root(command), check=True, timeout=60)


def ensure_installed() -> Path:
    """Return PostgreSQL's bin directory, installing the packages first if needed."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        install_postgresql()
        bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL installed but /usr/lib/postgresql/*/bin/initdb not found")
    if os.geteuid() == 0:
        ensure_postgres_user()
    return bin_dir


def _run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run *coroutine* to completion in a fresh loop on a worker thread (safe inside a loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=120)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresServer:
    """A throwaway cluster, or the server named by ``LOGOFF_TEST_POSTGRES_URL``."""

    def __init__(self, external_url: str | None = None) -> None:
        self.external_url = external_url or os.environ.get(URL_ENV) or None
        self.port = 0
        self.directory: Path | None = None
        self._bin_dir: Path | None = None
        self._started = False

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (also holds the unix socket and the log)."""
        assert self.directory is not None, "server not started"
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        """The postmaster's log file."""
        assert self.directory is not None, "server not started"
        return self.directory / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """Connection URL for database *dbname* on this server."""
        if self.external_url:
            parts = urlsplit(self.external_url)
            return urlunsplit(parts._replace(path=f"/{dbname}"))
        return f"postgres://{PG_USER}@{LOCALHOST}:{self.port}/{dbname}"

    def start(self) -> None:
        """Start a fresh cluster (no-op with an external URL or when already started)."""
        if self._started:
            return
        if not self.external_url:
            self._bin_dir = ensure_installed()
            self._make_directory()
            self._initdb()
            self._start_postmaster()
            atexit.register(self.stop)
        self._started = True

    def stop(self) -> None:
        """Stop the cluster and delete its directory (external servers are left alone)."""
        self._started = False
        directory, self.directory = self.directory, None
        if directory is None:
            return
        pg_ctl = [str(self._bin("pg_ctl")), "-D", str(directory / "data"), "-m", "immediate"]
        if (directory / "data" / "postmaster.pid").exists():
            subprocess.run(self._as_pg([*pg_ctl, "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)

    def pause(self) -> None:
        """Stop the postmaster as if it crashed; `resume` starts it again on the same port."""
        command = [str(self._bin("pg_ctl")), "-D", str(self.data_dir), "-m", "immediate"]
        subprocess.run(self._as_pg([*command, "-w", "stop"]), check=True, timeout=60)

    def resume(self) -> None:
        command = [str(self._bin("pg_ctl")), "-D", str(self.data_dir), "-l", str(self.log_path)]
        subprocess.run(self._as_pg([*command, "-w", "-t", "60", "start"]), check=True, timeout=90)

    def create_database(self, name: str) -> str:
        """Create database *name*; return its URL."""
        _run_sync(self._execute(f"CREATE DATABASE {_quote_ident(name)}"))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database *name*, disconnecting any sessions still using it."""
        _run_sync(self._execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)"))

    async def _execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self.url("postgres"), timeout=30)
        try:
            await connection.execute(sql, timeout=60)
        finally:
            await connection.close(timeout=10)

    def _bin(self, name: str) -> Path:
        assert self._bin_dir is not None
        return self._bin_dir / name

    def _as_pg(self, command: list[str]) -> list[str]:
        """Run as the postgres OS user when root (initdb and postgres refuse root)."""
        return ["runuser", "-u", PG_USER, "--", *command] if os.geteuid() == 0 else command

    def _make_directory(self) -> None:
        directory = Path(tempfile.mkdtemp(prefix="logoff-pg-", dir="/tmp"))
        directory.chmod(0o755)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(PG_USER)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        self.directory = directory

    def _initdb(self) -> None:
        command = [
            str(self._bin("initdb")),
            "-D",
            str(self.data_dir),
            "--auth=trust",
            f"--username={PG_USER}",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        result = subprocess.run(self._as_pg(command), capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _write_settings(self) -> None:
        settings = {
            **SERVER_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data_dir}'",
        }
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        (self.data_dir / "postgresql.auto.conf").write_text(lines)

    def _start_postmaster(self, attempts: int = 3) -> None:
        for _ in range(attempts):
            self.port = free_port()
            self._write_settings()
            command = [
                str(self._bin("pg_ctl")),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                "60",
                "start",
            ]
            result = subprocess.run(self._as_pg(command), capture_output=True, text=True)
            if result.returncode == 0:
                return
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        raise RuntimeError(f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n{log[-4000:]}")
