"""`logoff` with a SIGUSR1 handler writing the names of the modules loaded (imports nothing).

Run: python -m benchmarks.module_probe DUMP_FILE --config CONFIG run
"""

from __future__ import annotations

import runpy
import signal
import sys


def main() -> None:
    dump, argv = sys.argv[1], sys.argv[2:]

    def write(signum: int, frame: object) -> None:
        with open(dump, "w") as out:
            out.write("\n".join(sorted(k for k, v in sys.modules.items() if v)))

    signal.signal(signal.SIGUSR1, write)
    sys.argv = ["logoff", *argv]
    runpy.run_module("bot.app.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
