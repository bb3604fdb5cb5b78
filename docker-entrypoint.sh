#!/bin/sh
# Entrypoint of the MediTrack image. It makes sure the database is ready and
# at the head revision before the container's command runs, then replaces
# itself with that command (exec), so the command is PID 1 and receives the
# signals the container runtime sends.
#
# The start-up sequence itself (wait for the database, migrate or adopt, seed)
# lives in the binary; this script only decides where it runs:
#   - `meditrack serve` (the default CMD) runs the sequence itself, with the
#     HTTP port already open and GET /health answering 503 and the current
#     step until it is done. Running `meditrack init` here as well would run
#     the sequence twice, so the command is exec'ed as it is.
#   - Commands that manage the database themselves (`meditrack init | db |
#     seed`, `alembic ...`) and diagnostics (`healthcheck`, `config`,
#     `--help`, `--version`) are exec'ed as they are: a manual
#     `alembic downgrade -1` must not be preceded by an automatic upgrade.
#   - Any other command runs after `meditrack init` has succeeded; when it
#     fails, the container stops with init's exit code (docs/docker.md).
# AUTO_MIGRATE=false skips the sequence everywhere (serve honours it too).
# Arguments that start with "-" are options for `meditrack serve`.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    set -- meditrack serve "$@"
fi

run_init=yes
case "$1" in
meditrack | */meditrack)
    case "${2:-}" in
    serve | init | db | seed | healthcheck | config | help | version | --help | -h | --version | "")
        run_init=no ;;
    esac
    ;;
alembic | */alembic)
    run_init=no ;;
esac

case "${AUTO_MIGRATE:-true}" in
false | FALSE | False | 0 | no | off) run_init=no ;;
esac

if [ "$run_init" = yes ]; then
    # Not exec: the command runs after it. set -e would hide the exit code,
    # so it is taken explicitly.
    status=0
    meditrack init || status=$?
    if [ "$status" -ne 0 ]; then
        echo "docker-entrypoint: initialization failed (exit $status); not starting: $*" >&2
        exit "$status"
    fi
fi

exec "$@"
