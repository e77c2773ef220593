"""A real Synapse homeserver for tests, installed in its own venv and bound to 127.0.0.1."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache"
VENV_DIR = CACHE_DIR / "synapse-venv"
LOCK_FILE = CACHE_DIR / "synapse-venv.lock"
INSTALLED_MARKER = VENV_DIR / ".logoff-installed"
SYNAPSE_SPEC_ENV = "LOGOFF_TEST_SYNAPSE_SPEC"
SERVER_NAME = "localhost"
LOCALHOST = "127.0.0.1"

_UNLIMITED = {"per_second": 100000, "burst_count": 1000000}
_SIMPLE_LIMITERS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_joins_per_room",
    "rc_room_creation",
    "rc_admin_redaction",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_delayed_event_mgmt",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)
_NESTED_LIMITERS = {
    "rc_login": ("address", "account", "failed_attempts"),
    "rc_joins": ("local", "remote"),
    "rc_invites": ("per_room", "per_user", "per_issuer"),
    "rc_presence": ("per_user",),
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def venv_python() -> Path:
    """Path of the Python interpreter inside the Synapse venv."""
    return VENV_DIR / "bin" / "python"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on *path* (serialises concurrent installs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install_venv() -> None:
    """Create the venv and pip-install Synapse into it (caller holds the lock)."""
    if VENV_DIR.exists():
        shutil.rmtree(VENV_DIR)  # a half-finished earlier attempt
    subprocess.run([sys.executable, "-m", "venv", str(VENV_DIR)], check=True, timeout=300)
    spec = os.environ.get(SYNAPSE_SPEC_ENV, "matrix-synapse")
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", spec], check=True, timeout=1800)
    INSTALLED_MARKER.write_text(spec + "\n")


def ensure_synapse_installed() -> Path:
    """Install Synapse into ``.cache/synapse-venv`` once; return its Python interpreter."""
    if not INSTALLED_MARKER.exists():
        with _file_lock(LOCK_FILE):
            if not INSTALLED_MARKER.exists():
                _install_venv()
    return venv_python()


def rate_limit_overrides() -> dict[str, Any]:
    """Every ``rc_*`` limiter Synapse knows, turned up so that tests never see HTTP 429."""
    limits: dict[str, Any] = {name: dict(_UNLIMITED) for name in _SIMPLE_LIMITERS}
    for name, parts in _NESTED_LIMITERS.items():
        limits[name] = {part: dict(_UNLIMITED) for part in parts}
    return limits


def config_overrides(port: int, shared_secret: str) -> dict[str, Any]:
    """Top-level keys that replace the generated homeserver.yaml's values."""
    return {
        "public_baseurl": f"http://{LOCALHOST}:{port}/",
        "listeners": [
            {
                "port": port,
                "bind_addresses": [LOCALHOST],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "federation_domain_whitelist": [],
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "report_stats": False,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_registration": True,
        "enable_registration_without_verification": True,
        "registration_shared_secret": shared_secret,
        "bcrypt_rounds": 4,
        **rate_limit_overrides(),
    }


def _tail(path: Path, lines: int = 60) -> str:
    """Last *lines* lines of a text file, or a note that it is missing."""
    if not path.exists():
        return f"<{path} missing>"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _http_json(url: str, body: dict[str, Any] | None = None, timeout: float = 10) -> Any:
    """GET (or POST *body* as JSON) and decode the JSON answer; raise on HTTP errors."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        raise RuntimeError(f"{request.get_method()} {url} -> HTTP {error.code}: {detail}") from None


def _answers_ok(url: str) -> bool:
    """True if *url* answers HTTP 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def registration_mac(secret: str, nonce: str, user: str, password: str, admin: bool) -> str:
    """HMAC-SHA1 for the shared-secret registration API."""
    message = "\x00".join((nonce, user, password, "admin" if admin else "notadmin"))
    mac = hmac.new(secret.encode(), message.encode(), digestmod=hashlib.sha1)
    return mac.hexdigest()


class SynapseServer:
    """One Synapse process with its data in *directory*; restartable on the same port."""

    server_name = SERVER_NAME

    def __init__(self, directory: Path | None = None, startup_timeout: float = 90) -> None:
        self._owns_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="logoff-synapse-"))
        self.startup_timeout = startup_timeout
        self.port = 0
        self.shared_secret = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None
        self._python: Path | None = None
        self._atexit_registered = False

    @property
    def url(self) -> str:
        """Base URL for clients, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Synapse's stdout/stderr (startup errors land here)."""
        return self.directory / "synapse-stdout.log"

    @property
    def running(self) -> bool:
        """True while the Synapse process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Install (once), configure (once) and launch Synapse; wait until it answers."""
        if self.running:
            return
        if self._python is None:
            self._python = ensure_synapse_installed()
            self._generate_config()
        if not self.port:
            self.port = free_port()
        self._write_overrides()
        self._launch()
        self._wait_ready()
        if not self._atexit_registered:
            atexit.register(self.close)
            self._atexit_registered = True

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL); keep data and port for a restart."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self) -> None:
        """Stop, then start again on the same port with the same data."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop and, if the directory was created here, delete it."""
        self.stop()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def register(self, username: str, password: str, admin: bool = False) -> tuple[str, str, str]:
        """Register via the shared-secret admin API; return (user_id, access_token, device_id)."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = _http_json(endpoint)["nonce"]
        body = {
            "nonce": nonce,
            "username": username,
            "password": password,
            "admin": admin,
            "mac": registration_mac(self.shared_secret, nonce, username, password, admin),
        }
        answer = _http_json(endpoint, body)
        return answer["user_id"], answer["access_token"], answer["device_id"]

    def log_tail(self, lines: int = 60) -> str:
        """Tails of the stdout log and Synapse's own homeserver.log, for error messages."""
        own_log = self.directory / "homeserver.log"
        return f"{_tail(self.log_path, lines)}\n--- homeserver.log ---\n{_tail(own_log, lines)}"

    @property
    def _config_path(self) -> Path:
        return self.directory / "homeserver.yaml"

    @property
    def _overrides_path(self) -> Path:
        return self.directory / "overrides.yaml"

    def _generate_config(self) -> None:
        if self._config_path.exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            str(self._python),
            "-m",
            "synapse.app.homeserver",
            "--server-name",
            SERVER_NAME,
            "--config-path",
            str(self._config_path),
            "--generate-config",
            "--report-stats=no",
            "--data-directory",
            str(self.directory),
        ]
        subprocess.run(command, cwd=self.directory, check=True, capture_output=True, timeout=120)

    def _write_overrides(self) -> None:
        overrides = config_overrides(self.port, self.shared_secret)
        self._overrides_path.write_text(json.dumps(overrides, indent=2))  # JSON is YAML

    def _launch(self) -> None:
        command = [
            str(self._python),
            "-m",
            "synapse.app.homeserver",
            "-c",
            str(self._config_path),
            "-c",
            str(self._overrides_path),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        versions = f"{self.url}/_matrix/client/versions"
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"Synapse exited during startup:\n{self.log_tail()}")
            if _answers_ok(versions):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Synapse not ready after {self.startup_timeout}s:\n{self.log_tail()}")
