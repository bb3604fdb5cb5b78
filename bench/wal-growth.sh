#!/usr/bin/env bash
# The size of SQLite's write-ahead log under steady record + delete load:
# runs bench/api-load.sh --only record against a fresh SQLite file for each
# binary given and samples the -wal file every 0.2 s, printing the
# endpoint's line and the largest and final log size. The background
# checkpointer (src/db/sqlite_queue.c) should keep it near 64 MiB however
# long the load runs.
#   usage: bench/wal-growth.sh BINARY... (DURATION as for api-load.sh, default 14s)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -ge 1 ]] || { echo "usage: bench/wal-growth.sh BINARY..." >&2; exit 2; }
for bin in "$@"; do
    d=$(mktemp -d /tmp/meditrack-wal.XXXXXX)
    (
        max=0
        while sleep 0.2; do
            s=$(stat -c %s "$d/load.db-wal" 2>/dev/null || echo 0)
            ((s > max)) && max=$s
            echo "$max" >"$d/max"
        done
    ) &
    mon=$!
    MEDITRACK=$bin DATABASE_URL=sqlite:///$d/load.db DURATION=${DURATION:-14s} \
        "$root/bench/api-load.sh" --only record | grep -E "^POST"
    kill "$mon" 2>/dev/null || true
    wait "$mon" 2>/dev/null || true
    final=$(stat -c %s "$d/load.db-wal" 2>/dev/null || echo 0)
    echo "$bin: largest log $(($(cat "$d/max" 2>/dev/null || echo 0) / 1048576)) MiB, final $((final / 1048576)) MiB"
    rm -rf "$d"
done
