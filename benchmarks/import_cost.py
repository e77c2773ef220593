"""What the Matrix start path imports, and what it costs: `python -X importtime` (prints only).

Starts the real `logoff run` (Matrix on, encryption off unless `--encryption`, SQLite) under
`-X importtime` against a homeserver address where nothing listens: every import of the start
path happens before the first request (the core, storage, Tortoise's SQLite backend, nio), so
the log holds them all; the bot is stopped after `--seconds`. Prints the total, the top
packages by their own import time, the slowest single imports (cumulative), and whether
discord.py, Pillow or a Tortoise backend other than SQLite's were imported.

Run: .venv/bin/python -m benchmarks.import_cost  [--repeat 5] [--top 15] [--encryption]
"""

from __future__ import annotations

import argparse
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.common import compile_sources, machine

REPO = Path(__file__).resolve().parents[1]
UNWANTED = ("discord", "PIL", "asyncpg", "psycopg", "asyncmy", "aiomysql", "pymysql", "asyncodbc")
UNWANTED_MODULES = (
    "tortoise.backends.asyncpg",
    "tortoise.backends.psycopg",
    "tortoise.backends.mysql",
    "tortoise.backends.mssql",
    "tortoise.backends.oracle",
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_path_imports(encryption: bool, seconds: float) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, indented name) per import of one `logoff run` start."""
    work = Path(tempfile.mkdtemp(prefix="logoff-imports-"))
    config = work / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{work}"\n[matrix]\nenabled = true\n'
        f"encryption = {str(encryption).lower()}\n"
        f'homeserver = "http://127.0.0.1:{closed_port()}"\nuser_id = "@bench:localhost"\n'
        'password = "unused"\n'
    )
    cli = [sys.executable, "-m", "bot.app.cli", "--config", str(config)]
    subprocess.run([*cli, "migrate"], cwd=REPO, check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", *cli[1:], "run"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(seconds)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:") :].split("|", 2)
        rows.append((int(own), int(cumulative), name.rstrip()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--encryption", action="store_true")
    args = parser.parse_args()
    compile_sources()
    print(machine())
    runs = [start_path_imports(args.encryption, args.seconds) for _ in range(args.repeat)]
    totals = [sum(own for own, _, _ in rows) / 1000 for rows in runs]
    rows = runs[totals.index(statistics.median_low(totals))]  # the median run, shown in detail
    names = {name.strip() for _, _, name in rows}
    print(
        f"start path imports (encryption {'on' if args.encryption else 'off'}): {len(names)} "
        f"modules, {statistics.median(totals):.0f} ms median of {args.repeat} "
        f"({', '.join(f'{t:.0f}' for t in totals)} ms; sum of self times)"
    )
    by_package: dict[str, int] = defaultdict(int)
    for own, _, name in rows:
        by_package[name.strip().split(".")[0]] += own
    print(f"top {args.top} packages by own import time (the median run):")
    for package, own in sorted(by_package.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {own / 1000:7.1f} ms  {package}")
    print(f"top {args.top} imports by cumulative time (the modules they pull in included):")
    outermost = [r for r in rows if not r[2].startswith("  ")]  # " name": not nested
    for _, cumulative, name in sorted(outermost, key=lambda r: -r[1])[: args.top]:
        print(f"  {cumulative / 1000:7.1f} ms  {name.strip()}")
    print(f"top {args.top} single modules by own import time:")
    for own, _, name in sorted(rows, key=lambda r: -r[0])[: args.top]:
        print(f"  {own / 1000:7.1f} ms  {name.strip()}")
    loaded = sorted(
        n for n in names if n.split(".")[0] in UNWANTED or n.startswith(UNWANTED_MODULES)
    )
    print(
        "imported though unused (discord.py, Pillow, Tortoise backends other than SQLite): "
        + (", ".join(loaded) if loaded else "none")
    )


if __name__ == "__main__":
    main()
