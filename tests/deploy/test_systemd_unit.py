"""deploy/logoff.service passes systemd's own checks, and its exposure score is the documented one.

There is no systemd PID 1 here, but `systemd-analyze verify --root` and `security --offline`
work on files: the unit is verified inside a throwaway root holding this machine's system
units and the `logoff` entry point where the unit expects it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "logoff.service"
SYSUSERS = ROOT / "deploy" / "logoff.sysusers"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
MOST_EXPOSURE = 2.0  # systemd-analyze's scale: 0 locked down ... 10 exposed; < 2 is "OK"


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:  # a clean machine: systemd's tools are one Debian package
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "systemd"],
            check=True,
            env=env,
            capture_output=True,
        )
        found = shutil.which("systemd-analyze")
    assert found, "systemd-analyze missing after installing Debian's systemd package"
    return found


def unit_root(tmp: Path, unit_text: str) -> Path:
    """A root with the system's units, our unit, and the entry point its ExecStart names."""
    root = tmp / "root"
    shutil.copytree(SYSTEM_UNITS, root / SYSTEM_UNITS.relative_to("/"), symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/logoff.service").write_text(unit_text)
    entry = root / "opt/logoff/bin/logoff"
    entry.parent.mkdir(parents=True)
    shutil.copy2(Path(sys.executable).parent / "logoff", entry)  # the script pip writes
    return root


def verify(analyze: str, root: Path) -> str:
    done = subprocess.run(
        [analyze, "verify", f"--root={root}", "logoff.service"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return f"{done.returncode}\n{done.stdout}{done.stderr}".strip()


def test_systemd_analyze_verify_finds_nothing_to_say(systemd_analyze: str, tmp_path: Path):
    assert verify(systemd_analyze, unit_root(tmp_path, UNIT.read_text())) == "0"


def test_the_check_is_live_a_misspelt_directive_is_reported(systemd_analyze: str, tmp_path: Path):
    broken = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSystem=strickt")
    said = verify(systemd_analyze, unit_root(tmp_path, broken))
    assert "strickt" in said


def test_the_exposure_score_is_low_and_the_one_docs_deploy_md_gives(systemd_analyze: str):
    done = subprocess.run(
        [systemd_analyze, "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r"Overall exposure level for logoff\.service: (\d+\.\d+) (\w+)", done.stdout)
    assert found, done.stdout + done.stderr
    score = float(found.group(1))
    assert score <= MOST_EXPOSURE, done.stdout
    assert f"exposure level {found.group(1)} {found.group(2)}" in DEPLOY_DOC.read_text()


def test_the_sysusers_file_creates_the_user_the_unit_runs_as(tmp_path: Path):
    if shutil.which("systemd-sysusers") is None:
        pytest.fail("systemd-sysusers missing (Debian's systemd package has it)")
    (tmp_path / "usr/lib/sysusers.d").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    shutil.copy(SYSUSERS, tmp_path / "usr/lib/sysusers.d/logoff.conf")
    subprocess.run(["systemd-sysusers", f"--root={tmp_path}"], check=True, capture_output=True)
    passwd = (tmp_path / "etc/passwd").read_text()
    assert re.search(r"^logoff:x:\d+:\d+:[^:]*:/var/lib/logoff:/usr/sbin/nologin$", passwd, re.M)
    unit = UNIT.read_text()
    assert "User=logoff" in unit
    assert "StateDirectory=logoff" in unit
