#!/bin/sh
# The image's entrypoint: `run` (the default) migrates the database first, which is safe to
# repeat, then becomes the bot; any other verb (backup, restore, check-config, ...) runs as is.
set -eu
if [ "$#" -eq 0 ] || [ "$1" = "run" ]; then
    [ "$#" -gt 0 ] && shift
    logoff migrate
    exec logoff run "$@"
fi
exec logoff "$@"
