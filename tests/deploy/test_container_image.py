"""The Dockerfile builds with Debian's podman and the image runs the bot as a self-hoster would."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import containers
from tests.services.containers import EngineUnavailable, Podman
from tests.support.migrations import applied_line

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/logoff:test"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
# How a self-hoster runs it: nothing writable but the /data volume and a /tmp tmpfs, no
# capabilities, no privilege gain.
LOCKED_DOWN = (
    "--read-only",
    "--read-only-tmpfs=false",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--network",
    "none",
    # podman runs health checks from systemd timers, and there is no systemd here: the test
    # runs the check itself.
    "--health-interval",
    "disable",
)
SCRIPT = """\
!pledge new "Call a neighbour" per week
@ana !pledge join 1
@ana !done 1 called Sam
!streak
"""


@pytest.fixture(scope="module")
def engine() -> tuple[Podman, str]:
    try:
        return containers.setup()
    except EngineUnavailable as exc:
        pytest.skip(f"no container engine can run on this machine: {exc}")


def _build_volumes(tmp: Path) -> list[str]:
    """The host's CA bundle for pip in the build (this machine's registries are reached through
    it); harmless elsewhere, where it is the same system bundle."""
    if not HOST_CA.exists():
        return []
    pip_conf = tmp / "pip.conf"
    pip_conf.write_text(f"[global]\ncert = {HOST_CA}\n")
    return ["-v", f"{HOST_CA}:{HOST_CA}:ro", "-v", f"{pip_conf}:/etc/pip.conf:ro"]


@pytest.fixture(scope="module")
def image(engine: tuple[Podman, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    podman, base = engine
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    built = podman(
        "build",
        "--format",
        "docker",  # the OCI format has no HEALTHCHECK
        "--build-arg",
        f"BASE={base}",
        "--build-arg",
        f"REVISION={revision}",
        *_build_volumes(tmp_path_factory.mktemp("build")),
        "-t",
        IMAGE,
        str(ROOT),
        timeout=1800,
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    # Each change of the source leaves the previous image untagged: keep the store small.
    podman("image", "prune", "-f", timeout=300)
    return IMAGE


@pytest.fixture
def volume(engine: tuple[Podman, str]) -> Iterator[str]:
    podman, _ = engine
    name = f"logoff-test-{uuid.uuid4().hex[:8]}"
    podman.check("volume", "create", name)
    try:
        yield name
    finally:
        podman("volume", "rm", "-f", name)


def console(podman: Podman, volume: str, script: str) -> subprocess.CompletedProcess[str]:
    """`docker run -i` with the console adapter reading `script`; ends at the end of input."""
    return podman("run", "-i", "--rm", *LOCKED_DOWN, "-v", f"{volume}:/data", IMAGE, input=script)


# Run inside the container: its network is `none`, so only its own loopback reaches the bot.
GET_READY = """\
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen("http://127.0.0.1:8080/ready", timeout=5) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
print(json.dumps({"status": status, "body": json.loads(body)}))
"""


def ready(podman: Podman, name: str, seconds: float = 60) -> dict[str, object]:
    """GET /ready on the image's listener (LOGOFF_HTTP_ADDRESS=0.0.0.0:8080) until it is 200."""
    deadline = time.monotonic() + seconds
    said = ""
    while time.monotonic() < deadline:
        done = podman("exec", name, "python", "-c", GET_READY)
        said = done.stdout + done.stderr
        if done.returncode == 0:
            answer = json.loads(done.stdout)
            if answer["status"] == 200:
                body: dict[str, object] = answer["body"]
                return body
        time.sleep(0.5)
    raise AssertionError(f"/ready of {name} never answered 200 in {seconds} s: {said}")


def python_in(podman: Podman, image: str, code: str) -> str:
    """What `code` prints, run by the image's Python in a throwaway container."""
    return podman.check(
        "run", "--rm", "--network", "none", "--entrypoint", "python", image, "-c", code
    )


def wait_for_log(podman: Podman, name: str, text: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    logs = ""
    while time.monotonic() < deadline:
        done = podman("logs", name)
        logs = done.stdout + done.stderr
        if text in logs:
            return logs
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in the logs of {name} after {seconds} s:\n{logs}")


def test_the_image_is_labelled_runs_as_a_fixed_user_and_declares_data_and_health(
    engine: tuple[Podman, str], image: str
):
    podman, _ = engine
    (info,) = json.loads(podman.check("image", "inspect", image))
    config = info["Config"]
    assert config["User"] == "10001:10001"
    assert "/data" in config["Volumes"]
    assert config["WorkingDir"] == "/data"
    assert config["Entrypoint"] == ["logoff-entrypoint"]
    assert config["Cmd"] == ["run"]
    assert config["StopSignal"] == "SIGINT"
    assert "LOGOFF_BOT_DATA_DIR=/data" in config["Env"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "Logoff"
    assert labels["org.opencontainers.image.licenses"] == "AGPL-3.0-or-later"
    assert len(labels["org.opencontainers.image.revision"]) == 40
    assert info["Healthcheck"]["Test"] == ["CMD", "logoff-healthcheck"]
    assert "LOGOFF_HTTP_ADDRESS=0.0.0.0:8080" in config["Env"]
    assert "8080/tcp" in config["ExposedPorts"]
    # Installed from the wheel into the virtual environment, not from a copy of the source.
    where = python_in(
        podman, image, "import bot, storage.migrations as m; print(bot.__file__, m.__file__)"
    )
    assert where.count("/opt/logoff/lib/python3") == 2, where
    assert "/src" not in where
    # The summary picture's font, and the metrics extra for /metrics.
    extras = python_in(
        podman,
        image,
        "import os, prometheus_client as p;"
        "print(os.path.exists('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'), p.__name__)",
    )
    assert extras.split() == ["True", "prometheus_client"], extras
    # The dataclass code cache the build wrote, for the image's own Python: `logoff run` (as
    # bot.app sees it) takes its dataclasses' methods from it instead of compiling them.
    hits = python_in(
        podman,
        image,
        "import sys; sys.argv = ['logoff', 'run']; import bot.app;"
        "from bot.app import dataclass_cache as d; import bot.app.bootstrap; print(d.hits[0])",
    )
    assert int(hits) > 100, hits


def test_the_console_bot_answers_with_sqlite_on_the_volume_and_a_read_only_root(
    engine: tuple[Podman, str], image: str, volume: str
):
    podman, _ = engine
    first = console(podman, volume, SCRIPT)
    assert first.returncode == 0, first.stderr
    assert applied_line() in first.stdout + first.stderr
    assert "New pledge 1 Call a neighbour" in first.stdout
    assert "Call a neighbour: streak" in first.stdout

    name = f"logoff-test-{uuid.uuid4().hex[:8]}"
    # -i without input: the console waits, as the bot does serving a platform.
    podman.check("run", "-d", "-i", "--name", name, *LOCKED_DOWN, "-v", f"{volume}:/data", image)
    try:
        logs = wait_for_log(podman, name, "Logoff console")
        assert "The database is up to date." in logs  # migrate again on start: a no-op
        body = ready(podman, name)
        assert body["status"] == "ready"
        checks = body["checks"]
        assert isinstance(checks, dict)
        assert checks["database"] == {"ok": True}
        assert checks["platform:console"] == {"ok": True}
        assert checks["scheduler"]["ok"] is True
        said = podman.check("exec", name, "logoff", "check-config")
        assert "sqlite:///data/logoff.db" in said
        health = podman("healthcheck", "run", name)
        assert health.returncode == 0, health.stdout + health.stderr
        (probed,) = json.loads(podman.check("inspect", name))
        probe_log = json.dumps(probed["State"].get("Health") or probed["State"].get("Healthcheck"))
        assert "http://127.0.0.1:8080/health: 200" in probe_log, probe_log
        assert podman.check("exec", name, "id", "-u").strip() == "10001"
        refused = podman("exec", name, "touch", "/opt/logoff/x")
        assert refused.returncode != 0
        assert "Read-only file system" in refused.stderr
        backup = podman.check("exec", name, "logoff", "backup", "/data/before-upgrade.db")
        assert "logoff restore /data/before-upgrade.db" in backup
        modes = podman.check(
            "exec", name, "stat", "-c", "%a %n", "/data/logoff.db", "/data/before-upgrade.db"
        )
        assert modes.split() == ["600", "/data/logoff.db", "600", "/data/before-upgrade.db"]
        stopped = podman("stop", "-t", "30", name, timeout=60)
        assert stopped.returncode == 0, stopped.stderr
        (state,) = json.loads(podman.check("inspect", name))
        assert state["State"]["ExitCode"] == 0  # SIGINT: a clean stop, not a kill
    finally:
        podman("rm", "-f", name)

    again = console(podman, volume, "!pledge list\n")
    assert again.returncode == 0, again.stderr
    assert "Call a neighbour" in again.stdout
    assert "ana ✅" in again.stdout

    restored = podman(
        "run",
        "--rm",
        *LOCKED_DOWN,
        "-v",
        f"{volume}:/data",
        image,
        "restore",
        "--force",
        "/data/before-upgrade.db",
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "The database it replaced was saved to /data/logoff-before-restore-" in restored.stdout
