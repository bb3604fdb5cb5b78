#!/usr/bin/env bash
# Whole-process time of the migration commands, as medians over repeated runs:
# `meditrack db upgrade head` on a new SQLite file (the embedded MediTrack
# chain, or MIGRATIONS_DIR when set) and `meditrack db current` on a database
# at head. Uses hyperfine when installed, else a loop timed with date +%s%N.
# Uses the optimised build (build/meditrack, built when missing) unless
# MEDITRACK names another binary. RUNS sets the repetitions (default 31).
# For comparison, the Python/Alembic tool takes about 0.6-0.8 s and 0.5 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${MEDITRACK:-$root/build/meditrack}
runs=${RUNS:-31}
if [[ ! -x $bin ]]; then
    (cd "$root" && make build >/dev/null)
fi
tmp=$(mktemp -d /tmp/meditrack-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export DATABASE_URL="sqlite:///$tmp/bench.db"
export LOG_LEVEL=warning

# A script, so that hyperfine can run it without a shell of its own (-N).
printf 'rm -f %s/bench.db %s/bench.db-* %s/bench.db.*\n' "$tmp" "$tmp" "$tmp" >"$tmp/fresh.sh"
fresh_cmd="bash $tmp/fresh.sh"
upgrade_cmd="$bin db upgrade head"
current_cmd="$bin db current"

# median_ms CMD PREPARE: median wall time of CMD in ms (PREPARE runs before each).
median_ms() {
    local cmd=$1 prep=$2
    if command -v hyperfine >/dev/null; then
        # -N: no intermediate shell, whose start-up would otherwise be
        # measured and subtracted (too coarse for a process of 1-3 ms).
        hyperfine -N --style none --runs "$runs" --warmup 3 --prepare "$prep" \
            --export-json "$tmp/h.json" "$cmd" >/dev/null 2>&1
        python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["results"][0]; print("%.2f ms (cpu %.2f ms)" % (r["median"] * 1000, (r["user"] + r["system"]) * 1000))' "$tmp/h.json"
    else
        local t=()
        for _ in $(seq 1 "$runs"); do
            bash -c "$prep"
            local a b
            a=$(date +%s%N)
            bash -c "$cmd" >/dev/null 2>&1
            b=$(date +%s%N)
            t+=($(((b - a) / 1000)))
        done
        printf '%s\n' "${t[@]}" | sort -n | awk '{v[NR] = $1} END {printf "%.2f ms\n", v[int((NR + 1) / 2)] / 1000}'
    fi
}

$fresh_cmd
$upgrade_cmd >/dev/null 2>&1
revs=$($bin db history 2>/dev/null | wc -l)
echo "meditrack: $bin"
echo "chain: $revs revisions (${MIGRATIONS_DIR:-embedded}), $runs runs each, $(command -v hyperfine >/dev/null && echo hyperfine || echo 'date loop')"
up=$(median_ms "$upgrade_cmd" "$fresh_cmd")
$fresh_cmd
$upgrade_cmd >/dev/null 2>&1
cur=$(median_ms "$current_cmd" "true")
base=$(median_ms "$bin --version" "true")
printf '%-36s %-28s (target < 15 ms; Alembic ~600-800 ms)\n' "db upgrade head, new SQLite file:" "$up"
printf '%-36s %-28s (target < 3 ms;  Alembic ~500 ms)\n' "db current, at head:" "$cur"
printf '%-36s %-28s (process start-up alone, for reference)\n' "meditrack --version:" "$base"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
