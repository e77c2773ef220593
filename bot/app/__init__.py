"""Composition root and process shell: config, CLI, serving, sandbox and simulation."""

from bot.app import early_stop

# The first line of Logoff that `logoff run` executes: a SIGTERM during the ~0.2-0.5 s of
# imports that follow is kept and honoured as a clean stop (exit 0), not death by the signal.
if early_stop.starting_the_program():
    early_stop.install()
    # Next, before the first dataclass: their generated methods come compiled from the build
    # (`python -m bot.app.dataclass_cache --write`), ~0.25 s of the start otherwise.
    from bot.app import dataclass_cache

    dataclass_cache.install()
