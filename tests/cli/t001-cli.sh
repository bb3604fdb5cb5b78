#!/usr/bin/env bash
# The command line itself: --help, --version, exit codes of bad command lines,
# `meditrack config` (secrets and the DATABASE_URL password masked, where each
# value came from), configuration precedence (.env < environment < flag), a
# bad value stopping with exit 3, and `<command> --help` working even with a
# broken configuration. Independent of MT_TEST_DIALECT. Last line
# "N passed, N failed".
set -uo pipefail

root=${MT_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
MEDITRACK=${MEDITRACK:-$root/build/meditrack}
tmp=$(mktemp -d "${MT_TEST_TMP:-/tmp}/t001.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }

# mt [VAR=VALUE...] -- ARGS...: runs meditrack in a clean environment (only
# PATH and the sanitizer settings survive); stdout in $out, stderr in $err,
# exit status in $rc.
mt() {
    local vars=()
    while [[ $# -gt 0 && $1 != -- ]]; do vars+=("$1"); shift; done
    shift
    env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
        LSAN_OPTIONS="${LSAN_OPTIONS:-}" "${vars[@]}" "$MEDITRACK" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# expect WHAT RC [grep -E patterns on stdout+stderr; a leading ! means absent]
expect() {
    local what=$1 want=$2; shift 2
    local why=""
    [[ $rc == "$want" ]] || why="exit $rc, wanted $want"
    local p
    # grep reads all of its input (no -q): with pipefail, a grep that quit at
    # its first match would make printf die of SIGPIPE on output longer than
    # one write, and the match would count as missing.
    for p in "$@"; do
        if [[ $p == !* ]]; then
            if printf '%s\n%s\n' "$out" "$err" | grep -E -- "${p#!}" >/dev/null; then
                why+=" [found '${p#!}']"
            fi
        elif ! printf '%s\n%s\n' "$out" "$err" | grep -E -- "$p" >/dev/null; then
            why+=" [missing '$p']"
        fi
    done
    if [[ -z $why ]]; then
        ok "$what"
    else
        bad "$what: $why"
        printf '      stdout: %s\n      stderr: %s\n' "${out:0:600}" "${err:0:600}"
    fi
}

mt -- --help
expect "--help exits 0 and lists commands and exit codes" 0 '^commands:' '^  config ' \
    '^exit codes:' '^  2 bad command line' '^  3 bad configuration'
mt -- help
expect "help is --help" 0 '^commands:'
mt --
expect "no command: usage on stderr, exit 2" 2 'usage: meditrack'
mt -- --version
expect "--version" 0 '^meditrack [0-9]+\.[0-9]+\.[0-9]+$'
mt -- frobnicate
expect "unknown command: exit 2" 2 "unknown command 'frobnicate'"
mt -- --frobnicate
expect "unknown option: exit 2" 2 "unknown option '--frobnicate'"
mt -- config --port
expect "flag without its value: exit 2" 2 'option --port needs a value'
mt -- config --frobnicate
expect "unknown argument of config: exit 2" 2 "unknown argument '--frobnicate'"

mt ENV_FILE=/dev/null SECRET_KEY=supersecret-xyz DATABASE_URL=postgresql://u:s3cret@h/db -- config
expect "config masks SECRET_KEY and the DATABASE_URL password" 0 \
    '^SECRET_KEY=\*\*\*  # env$' '^DATABASE_URL=postgresql://u:\*\*\*@h/db  # env$' \
    '!supersecret-xyz' '!s3cret'
mt ENV_FILE=/dev/null -- config
expect "config shows defaults and their source" 0 '^PORT=8000  # default$' \
    '^DATABASE_URL=sqlite:///\./data/meditrack\.db  # default$' "^CORS_ORIGINS=''  # default$"

mt ENV_FILE=/dev/null PORT=abc -- config
expect "PORT=abc: exit 3 naming PORT and the range" 3 \
    'invalid PORT in the environment: expected an integer from 1 to 65535, got "abc"'
mt ENV_FILE=/dev/null LOG_LEVEL=loud -- config
expect "LOG_LEVEL=loud: exit 3 with the accepted values" 3 \
    'invalid LOG_LEVEL.*debug, info, warning, error or off'
mt ENV_FILE=/dev/null 'CORS_ORIGINS=["http://a",' -- config
expect "bad CORS_ORIGINS JSON: exit 3" 3 'invalid CORS_ORIGINS'
mt ENV_FILE=/dev/null DATABASE_URL= -- config
expect "empty DATABASE_URL: exit 3" 3 'invalid DATABASE_URL.*must not be empty'
mt ENV_FILE=/dev/null -- config --port 0
expect "bad flag value: exit 3 naming the flag" 3 'invalid PORT given as --port'

mt ENV_FILE=/dev/null PORT=9000 -- config --port 9001
expect "--port 9001 beats PORT=9000" 0 '^PORT=9001  # flag$' '!^PORT=9000'
mt ENV_FILE=/dev/null PORT=9000 -- --port=9002 config
expect "--port=9002 before the command" 0 '^PORT=9002  # flag$'
mt ENV_FILE=/dev/null -- config --debug
expect "bare boolean flag means true" 0 '^DEBUG=true  # flag$'
mt ENV_FILE=/dev/null -- config --debug off --auto-migrate no
expect "boolean flags with values" 0 '^DEBUG=false  # flag$' '^AUTO_MIGRATE=false  # flag$'
mt ENV_FILE=/dev/null 'CORS_ORIGINS=["http://a","http://b"]' -- config
expect "CORS_ORIGINS as a JSON list" 0 '^CORS_ORIGINS=http://a,http://b  # env$'
mt ENV_FILE=/dev/null 'CORS_ORIGINS=http://a, http://b' -- config
expect "CORS_ORIGINS comma-separated" 0 '^CORS_ORIGINS=http://a,http://b  # env$'

printf '# deployment file\nPORT=9300\nexport HOST=0.0.0.0\nSECRET_KEY="from dotenv"\n' >.env
mt -- config
expect "./.env is read" 0 '^PORT=9300  # \.env$' '^HOST=0\.0\.0\.0  # \.env$' \
    '^# \.env file read: \./\.env$' '!from dotenv'
mt PORT=9400 -- config
expect "the environment beats .env" 0 '^PORT=9400  # env$' '^HOST=0\.0\.0\.0  # \.env$'
mt PORT=9400 -- config --port 9500
expect "a flag beats both" 0 '^PORT=9500  # flag$'
printf 'PORT=9600\n' >other.env
mt ENV_FILE=other.env -- config
expect "ENV_FILE names another file" 0 '^PORT=9600  # \.env$' '^HOST=127\.0\.0\.1  # default$'
mt ENV_FILE=missing.env -- config
expect "a missing ENV_FILE: exit 3" 3 'ENV_FILE names missing\.env, which does not exist'
printf 'PORT=seventy\n' >bad.env
mt ENV_FILE=bad.env -- config
expect "a bad .env value names file and line" 3 'invalid PORT in bad\.env line 1'
rm -f .env

mt ENV_FILE=/dev/null PORT=abc -- config --help
expect "config --help works with a broken configuration" 0 '^usage: meditrack config'
mt ENV_FILE=missing.env -- help config
expect "help config works with a broken configuration" 0 '^usage: meditrack config'
mt ENV_FILE=/dev/null -- config --list
expect "config --list describes every variable" 0 '^DATABASE_URL  \(--database-url\)' \
    '^PORT  \(--port\)' 'an integer from 1 to 65535; default: 8000' '^SECRET_KEY .*secret'

# docs/configuration.md names every variable of the table.
vars=$(printf '%s\n' "$out" | grep -oE '^[A-Z][A-Z_]+( |$)' | tr -d ' ')
missing=""
for v in $vars; do grep -q "\`$v\`" "$root/docs/configuration.md" || missing+=" $v"; done
if [[ -n $vars && -z $missing ]]; then ok "docs/configuration.md names every variable"
else bad "docs/configuration.md lacks:${missing:- (no variables listed)}"; fi

# Every command of the table answers --help, even when the configuration is
# broken, without touching a database.
mt -- --help
commands=$(printf '%s\n' "$out" | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF {print $1}')
for c in $commands; do
    mt ENV_FILE=/dev/null PORT=abc DATABASE_URL=postgresql://u:pw@127.0.0.1:1/none -- "$c" --help
    expect "$c --help: exit 0 with usage despite PORT=abc" 0 '[Uu]sage'
done

echo "$passed passed, $failed failed"
((failed == 0))
