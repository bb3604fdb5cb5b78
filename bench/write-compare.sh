#!/usr/bin/env bash
# Side-by-side figures of the write path: runs the record + delete load of
# bench/api-load.sh (--only record) for two or more builds of meditrack,
# alternating between them round by round on the same machine, and prints
# per dialect each build's median req/s, p50 and p99 with every round's
# figures, so that a shared, noisy machine still gives a fair comparison.
#
# usage: bench/write-compare.sh [--rounds N] [--dialects "sqlite postgresql mysql"]
#                               LABEL=BINARY [LABEL=BINARY ...]
#
# Each run gets a new database: a SQLite file, or a database created on the
# servers that MT_TEST_PG_URL / MT_TEST_MYSQL_URL name (as scripts/run-tests.sh
# and scripts/test-servers.sh env set them), dropped again afterwards. The
# load average is printed before and after, since other work on the machine
# moves the figures; the meditrack server's CPU time per request (without
# the database server's) moves less with it. DURATION, THREADS and
# CONNECTIONS pass on to api-load.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=3
dialects="sqlite postgresql mysql"
builds=()
usage='usage: bench/write-compare.sh [--rounds N] [--dialects "sqlite postgresql mysql"] LABEL=BINARY...'
while [[ $# -gt 0 ]]; do
    case $1 in
    --rounds)
        [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || { echo "write-compare: --rounds takes a positive number" >&2; exit 2; }
        rounds=$2
        shift 2
        ;;
    --dialects)
        [[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
        dialects=$2
        shift 2
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *=*)
        [[ -x ${1#*=} ]] || { echo "write-compare: ${1#*=} is not an executable" >&2; exit 2; }
        builds+=("$1")
        shift
        ;;
    *)
        echo "write-compare: unknown argument '$1' ($usage)" >&2
        exit 2
        ;;
    esac
done
[[ ${#builds[@]} -ge 1 ]] || { echo "$usage" >&2; exit 2; }
for d in $dialects; do
    case $d in
    sqlite) ;;
    postgresql) : "${MT_TEST_PG_URL:?write-compare: postgresql needs MT_TEST_PG_URL}" ;;
    mysql) : "${MT_TEST_MYSQL_URL:?write-compare: mysql needs MT_TEST_MYSQL_URL}" ;;
    *) echo "write-compare: unknown dialect '$d'" >&2; exit 2 ;;
    esac
done

tmp=$(mktemp -d /tmp/meditrack-wcmp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export MT_TEST_TMP=$tmp

# Drops a database that fresh-db created on a server.
drop_db() {
    local dialect=$1 url=$2 name=${2##*/}
    case $dialect in
    postgresql)
        psql "$MT_TEST_PG_URL" -qAt -c "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 || true
        ;;
    mysql)
        local rest=${MT_TEST_MYSQL_URL#mysql://}
        local cred=${rest%%@*} hostpart=${rest#*@}
        local hostport=${hostpart%%/*}
        MYSQL_PWD=${cred#*:} mariadb --no-defaults -h "${hostport%%:*}" -P "${hostport##*:}" \
            -u "${cred%%:*}" -e "DROP DATABASE IF EXISTS \`$name\`" >/dev/null 2>&1 || true
        ;;
    esac
}

printf 'load before: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
for dialect in $dialects; do
    for ((r = 1; r <= rounds; r++)); do
        for b in "${builds[@]}"; do
            label=${b%%=*} bin=${b#*=}
            url=$(MT_TEST_DIALECT=$dialect "$root/tests/lib/fresh-db" wcmp)
            out=$(DATABASE_URL=$url MEDITRACK=$bin LOG_LEVEL=warning \
                "$root/bench/api-load.sh" --only record 2>&1) || { echo "$out" >&2; exit 1; }
            drop_db "$dialect" "$url"
            line=$(grep '^POST dose + DELETE dose' <<<"$out") ||
                { echo "$out" >&2; exit 1; }
            # Fields from the end: cpu/req, non-2xx, p99, p50, req/s.
            awk -v d="$dialect" -v l="$label" -v r="$r" -v la="$(cut -d' ' -f1 /proc/loadavg)" \
                '{print d, l, r, $(NF-4), $(NF-3), $(NF-2), $(NF-1), $NF, la}' <<<"$line" >>"$tmp/figures"
            printf '  %-10s %-12s round %d: %s (load %s)\n' "$dialect" "$label" "$r" \
                "$(awk '{print $(NF-4) " req/s, p50 " $(NF-3) ", p99 " $(NF-2) ", non-2xx " $(NF-1) ", server cpu " $NF "/req"}' <<<"$line")" \
                "$(cut -d' ' -f1 /proc/loadavg)"
        done
    done
done
printf 'load after: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

# Medians per dialect and build; wrk prints latencies with units (us, ms, s).
python3 - "$tmp/figures" <<'EOF'
import statistics, sys

def ms(t):
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if t.endswith(unit):
            return float(t[: -len(unit)]) * f
    return float(t)

rows = {}
order = []
for line in open(sys.argv[1]):
    d, label, _, rps, p50, p99, non2xx, cpu, _ = line.split()
    key = (d, label)
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append((float(rps), ms(p50), ms(p99), int(non2xx),
                      float(cpu[:-2]) if cpu.endswith("us") else float("nan")))
print(f"{'dialect':<11} {'build':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'cpu us/req':>10}  (medians of {len(rows[order[0]])} rounds)")
first = {}
for d, label in order:
    v = rows[(d, label)]
    med = [statistics.median(x[i] for x in v) for i in range(3)]
    cpu = statistics.median(x[4] for x in v)
    bad = sum(x[3] for x in v)
    rel = ""
    if d in first:
        rel = f"  {100.0 * med[0] / first[d]:.0f} % of {order[[k[0] for k in order].index(d)][1]}"
    else:
        first[d] = med[0]
    print(f"{d:<11} {label:<12} {med[0]:>9.0f} {med[1]:>8.2f} {med[2]:>8.2f} {bad:>8} {cpu:>10.0f}{rel}")
EOF
