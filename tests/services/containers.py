"""Debian's podman for tests, set up for this machine, with a base image made by debootstrap.

No container registry is reachable here, so the base image is built from Debian's packages
(debootstrap into a folder, imported into podman's store) and kept in a store of our own for
later runs. What this machine needs, each found by trying (see docs/deploy.md, "Testing"):
- runc, not crun: crun 1.8 refuses the hybrid cgroup v1/v2 layout ("cgroups in hybrid mode not
  supported, drop all controllers from cgroupv2");
- ulimits within the hard limits: the sandbox lacks CAP_SYS_RESOURCE, so podman's default
  RLIMIT_NOFILE/NPROC (1048576) are refused by the runtime ("setrlimit: Operation not permitted");
- rootful podman (rootless works too, but only with --network host: slirp4netns cannot open
  /dev/net/tun), so these tests need root.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STORE_ENV = "LOGOFF_TEST_CONTAINER_STORE"
# Outside the checkout, so a fresh clone on the same machine (CI) reuses the base image.
DEFAULT_STORE = Path("/var/tmp/logoff-test-containers")
PACKAGES = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
NPROC_CEILING = 4096  # plenty for one bot; runc here also refused values above 32768


class EngineUnavailable(Exception):
    """No container engine can run on this machine; the message says exactly why."""


@dataclass(frozen=True)
class Podman:
    """The podman command with this store and configuration."""

    store: Path
    env: dict[str, str]

    def __call__(
        self, *args: str, input: str | bytes | None = None, timeout: float = 300, text: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *args],
            input=input,
            capture_output=True,
            text=text,
            timeout=timeout,
            env=self.env,
            check=False,
        )

    def check(self, *args: str, timeout: float = 300) -> str:
        done = self(*args, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout


def _install(missing: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, timeout=600, capture_output=True)
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    done = subprocess.run(install, env=env, timeout=1200, capture_output=True, text=True)
    if done.returncode != 0:
        raise EngineUnavailable(f"`{' '.join(install)}` failed: {done.stderr.strip()[-2000:]}")


def _limits() -> tuple[int, int]:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    cap = 1 << 20
    return (
        min(cap if nofile == resource.RLIM_INFINITY else nofile, cap),
        min(NPROC_CEILING if nproc == resource.RLIM_INFINITY else nproc, NPROC_CEILING),
    )


def _configure(store: Path) -> dict[str, str]:
    store.mkdir(parents=True, exist_ok=True)
    nofile, nproc = _limits()
    containers = store / "containers.conf"
    containers.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )
    storage = store / "storage.conf"
    storage.write_text(
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{store / "storage"}"\n'
        f'runroot = "{store / "run"}"\n'
    )
    return {
        **os.environ,
        "CONTAINERS_CONF": str(containers),
        "CONTAINERS_STORAGE_CONF": str(storage),
    }


def debian_release() -> str:
    """This machine's Debian codename (the base image is the same release)."""
    text = Path("/etc/os-release").read_text()
    found = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", text, re.MULTILINE)
    if not found:
        raise EngineUnavailable("/etc/os-release names no VERSION_CODENAME: not Debian?")
    return found.group(1)


def debian_mirror(codename: str) -> str:
    """The Debian mirror apt uses here for `codename` (debootstrap downloads from it)."""
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if re.match(r"^\w[\w-]*:", line)
            )
            suites = fields.get("Suites", "").split()
            if "deb" in fields.get("Types", "").split() and codename in suites:
                return fields["URIs"].split()[0]
    for path in [Path("/etc/apt/sources.list"), *sorted(sources.glob("*.list"))]:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            parts = re.sub(r"\[[^]]*\]", "", line).split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == codename:
                return parts[1]
    raise EngineUnavailable(f"apt has no Debian source for {codename}; debootstrap needs one")


@contextlib.contextmanager
def _locked(store: Path) -> Iterator[None]:
    with (store / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_base_image(podman: Podman) -> str:
    """A minimal Debian image with Python, made by debootstrap; built once per store."""
    codename = debian_release()
    name = f"localhost/logoff-test-base:{codename}"
    with _locked(podman.store):
        if podman("image", "exists", name).returncode == 0:
            return name
        mirror = debian_mirror(codename)
        with tempfile.TemporaryDirectory(dir=podman.store) as tmp:
            rootfs = Path(tmp) / "rootfs"
            command = [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                codename,
                str(rootfs),
                mirror,
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
            if done.returncode != 0:
                raise RuntimeError(f"debootstrap failed:\n{done.stdout[-3000:]}{done.stderr}")
            shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            imported = subprocess.run(
                ["podman", "import", "--change", 'CMD ["/bin/sh"]', "-", name],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                env=podman.env,
                timeout=600,
            )
            tar.wait()
            if imported.returncode != 0:
                raise RuntimeError(f"podman import failed: {imported.stderr}")
    return name


def setup() -> tuple[Podman, str]:
    """A working podman and the name of the base image; EngineUnavailable says why not."""
    if os.geteuid() != 0:
        raise EngineUnavailable(
            "these tests run rootful podman and need root (rootless podman works here only "
            "with --network host)"
        )
    missing = [pkg for tool, pkg in PACKAGES.items() if shutil.which(tool) is None]
    if missing:
        _install(missing)
    store = Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)
    podman = Podman(store, _configure(store))
    info = podman("info", timeout=120)
    if info.returncode != 0:
        raise EngineUnavailable(f"`podman info` failed: {info.stderr.strip()}")
    base = ensure_base_image(podman)
    probe = podman("run", "--rm", "--network", "none", base, "true", timeout=120)
    if probe.returncode != 0:
        raise EngineUnavailable(f"`podman run {base} true` failed: {probe.stderr.strip()}")
    return podman, base
