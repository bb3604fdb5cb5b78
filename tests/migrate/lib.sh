# Shared by the script suites tests/migrate/t*.sh (sourced, not run): finds
# the binary and the mig-dump helper, points MIGRATIONS_DIR at the test chain,
# makes a scratch directory, and counts results. Each script ends with
# `finish`, whose last line is "N passed, N failed".
set -u
root=${MT_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MT_TEST_BUILD_DIR:-$root/build-asan}
MEDITRACK=${MEDITRACK:-$build/meditrack}
DUMP=$build/tests/migrate/mig-dump
export MT_TEST_DIALECT=${MT_TEST_DIALECT:-sqlite}
export MIGRATIONS_DIR=$root/tests/migrate/chain
export LOG_LEVEL=info
unset DATABASE_URL
mkdir -p "${MT_TEST_TMP:-/tmp}"
tmp=$(mktemp -d "${MT_TEST_TMP:-/tmp}/migrate-sh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
dialect=$MT_TEST_DIALECT
head_rev=e91b6d3a4c7f
revs=(3f1c0a9b2d41 ab5e2c7d9f10 ab7f0e1c2d3b c4d2e8f1a6b0 e91b6d3a4c7f)

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# check_eq DESCRIPTION GOT WANT
check_eq() {
    if [[ "$2" == "$3" ]]; then ok "$1"; else not_ok "$1: got [$2], want [$3]"; fi
}
# check_has DESCRIPTION TEXT NEEDLE
check_has() {
    if [[ "$2" == *"$3"* ]]; then ok "$1"; else not_ok "$1: [$3] not in [${2:0:600}]"; fi
}
finish() { echo "$passed passed, $failed failed"; ((failed == 0)); }

for f in "$MEDITRACK" "$DUMP"; do
    if [[ ! -x $f ]]; then
        echo "missing $f (build first; MT_TEST_BUILD_DIR=$build)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

# fresh TAG: the URL of a new empty database; a test that cannot get one fails.
fresh() {
    local u
    if ! u=$("$root/tests/lib/fresh-db" "$1") || [[ -z $u ]]; then
        echo "not ok - could not create a fresh $dialect database" >&2
        echo "$passed passed, $((failed + 1)) failed" >&2
        kill -TERM $$
        exit 1
    fi
    echo "$u"
}
trap 'echo "$passed passed, $((failed + 1)) failed"; exit 1' TERM
# mt URL ARGS...: meditrack db ARGS against URL; output in $out/$err, status in $rc.
mt() {
    local url=$1; shift
    out=$(DATABASE_URL=$url "$MEDITRACK" db "$@" 2>"$tmp/stderr")
    rc=$?
    err=$(cat "$tmp/stderr")
}
schema() { "$DUMP" "$1" schema; }
audit() { "$DUMP" "$1" audit; }
sql_query() { "$DUMP" "$1" query "$2"; }
sql_exec() { "$DUMP" "$1" exec "$2"; }
version() { sql_query "$1" "SELECT version_num FROM alembic_version" 2>/dev/null; }
