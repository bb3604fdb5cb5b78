#!/usr/bin/env bash
# `meditrack db copy` on real servers. Refusals first (source not at head or
# empty, target not empty, the same database, bad command lines and URLs,
# an unreachable target), then --force. Then round trips that start on
# MT_TEST_DIALECT and go around the three engines (sqlite -> postgresql ->
# mysql -> sqlite, entered at this pass's dialect): from each fixture of
# ../shared/fixtures taken to head, and from a generated database with 100k
# doses loaded with SQL (Unicode, control characters, NULLs, microseconds).
# After every hop: exit 0, every table verified, the target at head,
# `db check` clean, the sequences / AUTO_INCREMENT past the highest id, and
# every row identical to the start (read through the db layer by mig-dump,
# not by the copy's own canonical form; timestamps compared as the UTC
# instants the layer prints). Hops to an engine whose server is not
# available are reported as skipped. Last line "N passed, N failed, N skipped".
set -uo pipefail

root=${MT_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${MT_TEST_BUILD_DIR:-$root/build-asan}
MEDITRACK=${MEDITRACK:-$build/meditrack}
DUMP=$build/tests/migrate/mig-dump
fixtures=${MT_TEST_FIXTURES:-$root/../shared/fixtures}
dialect=${MT_TEST_DIALECT:-sqlite}
export MT_TEST_TMP=${MT_TEST_TMP:-/tmp/t080-$$}
mkdir -p "$MT_TEST_TMP"
tmp=$(mktemp -d "$MT_TEST_TMP/t080.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export LOG_LEVEL=warning
unset DATABASE_URL MIGRATIONS_DIR BACKUP_DIR BACKUP_SCHEDULE

passed=0
failed=0
skipped=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP - $*"; }
check_eq() { if [[ "$2" == "$3" ]]; then ok "$1"; else not_ok "$1: got [${2:0:400}], want [${3:0:400}]"; fi; }
check_has() { if [[ "$2" == *"$3"* ]]; then ok "$1"; else not_ok "$1: [$3] not in [${2:0:600}]"; fi; }
finish() { echo "$passed passed, $failed failed, $skipped skipped"; ((failed == 0)); }

for f in "$MEDITRACK" "$DUMP"; do
    if [[ ! -x $f ]]; then
        echo "missing $f (build first)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

have() {
    case $1 in
    sqlite) return 0 ;;
    postgresql) [[ -n ${MT_TEST_PG_URL:-} ]] ;;
    mysql) [[ -n ${MT_TEST_MYSQL_URL:-} ]] ;;
    esac
}
next_of() {
    case $1 in sqlite) echo postgresql ;; postgresql) echo mysql ;; mysql) echo sqlite ;; esac
}
# fresh DIALECT TAG: a new empty database there.
fresh() { MT_TEST_DIALECT=$1 "$root/tests/lib/fresh-db" "$2"; }
# mt URL ARGS...: meditrack ARGS on DATABASE_URL=URL; $out, $err, $rc.
mt() {
    local url=$1; shift
    DATABASE_URL=$url "$MEDITRACK" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}
rows() { "$DUMP" "$1" rows | LC_ALL=C sort; }
sql() { "$DUMP" "$1" query "$2" 2>&1; }
sql_exec() { "$DUMP" "$1" exec "$2"; }
head_rev=$("$MEDITRACK" db heads 2>/dev/null | awk '{print $1}')
dialect_of() { case $1 in sqlite:*) echo sqlite ;; postgresql:*) echo postgresql ;; *) echo mysql ;; esac; }

# ids_ok URL: the engine hands out an id above every copied one.
ids_ok() {
    local url=$1 got
    case $(dialect_of "$url") in
    postgresql)
        got=$(sql "$url" "SELECT bool_and(s.ok) FROM (SELECT (SELECT last_value FROM doses_id_seq) >= COALESCE((SELECT MAX(id) FROM doses), 0) AS ok UNION ALL SELECT (SELECT last_value FROM persons_id_seq) >= COALESCE((SELECT MAX(id) FROM persons), 0)) s")
        check_eq "$2: the sequences are past the highest id" "$got" "1" ;;
    mysql)
        got=$(sql "$url" "SELECT (SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'doses') > COALESCE((SELECT MAX(id) FROM doses), 0) AND (SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'persons') > COALESCE((SELECT MAX(id) FROM persons), 0)")
        check_eq "$2: AUTO_INCREMENT is past the highest id" "$got" "1" ;;
    sqlite) ;;
    esac
}

# round_trip NAME URL: URL (on $dialect, at head) around the three engines
# and back; every hop checked against the rows of URL.
round_trip() {
    local name=$1 cur=$2 d=$dialect want got hop url head
    head=$("$MEDITRACK" db heads 2>/dev/null | awk '{print $1}')
    want=$(rows "$cur")
    if [[ -z $want && $name != untracked* ]]; then not_ok "$name: the start has rows"; return; fi
    for hop in 1 2 3; do
        d=$(next_of "$d")
        if ! have "$d"; then skip "$name: hop $hop to $d (no $d server: run through make test)"; return; fi
        url=$(fresh "$d" "t080_${name//-/_}_$hop") || { not_ok "$name: fresh $d database"; return; }
        mt "$cur" db copy --to "$url"
        check_eq "$name: hop $hop $(dialect_of "$cur") -> $d exits 0" "$rc" "0"
        [[ $rc == 0 ]] || { echo "$out"; echo "$err" | tail -n 5; return; }
        check_has "$name: hop $hop verified" "$out" "every table matches"
        if [[ $name != generic ]]; then
            check_has "$name: hop $hop the audit chain verifies on the target" "$out" \
                "Audit trail verified on the target: ${audit_rows:-0} rows"
        fi
        if [[ $name == gen100k ]]; then
            echo "# 100k doses $(dialect_of "$cur") -> $d: $(grep -o 'copied in [0-9.]* s, verified in [0-9.]* s' <<<"$out")"
        fi
        mt "$url" db current
        check_eq "$name: hop $hop target at head" "$out" "$head (head)"
        mt "$url" db check
        check_eq "$name: hop $hop db check is clean" "$rc" "0"
        # rows_at_end: engines print some types their own way (PostgreSQL's
        # numeric keeps its scale, "12.50"), so raw rows are compared once
        # back on the starting engine; every hop's canonical rows are
        # compared by the copy's own verification above.
        if [[ -z ${rows_at_end:-} || $hop == 3 ]]; then
            got=$(rows "$url")
            check_eq "$name: hop $hop every row identical" "$(sha256sum <<<"$got")" "$(sha256sum <<<"$want")"
        fi
        ${ids_check:-ids_ok} "$url" "$name: hop $hop"
        cur=$url
    done
    # The start and the end are different databases of the same engine.
    check_eq "$name: back on $dialect" "$(dialect_of "$cur")" "$dialect"
}

# ---- refusals --------------------------------------------------------------

src=$(fresh "$dialect" t080src)
sq() { echo "sqlite:///$tmp/$1.db"; }

mt "$src" db copy --to "$(sq empty0)"
check_eq "a source at base is refused (exit 1)" "$rc" "1"
check_has "... saying to upgrade it" "$err" "meditrack db upgrade"

mt "$src" db upgrade 44fcd0160844
mt "$src" db copy --to "$(sq empty1)"
check_eq "a source below head is refused (exit 1)" "$rc" "1"
check_has "... naming its revision and head" "$err" "at revision 44fcd0160844, not at head $head_rev"
check_has "... and how to upgrade it" "$err" "run \`meditrack db upgrade\` on it first"
mt "$src" db upgrade
sql_exec "$src" "INSERT INTO persons (first_name, is_default) VALUES ('Ana', TRUE)"

mt "$src" db copy
check_eq "no --to: exit 2" "$rc" "2"
mt "$src" db copy --to "$(sq x)" --frobnicate
check_eq "an unknown option: exit 2" "$rc" "2"
mt "$src" db copy --to "$(sq x)" --batch 0
check_eq "--batch 0: exit 2" "$rc" "2"
mt "$src" db copy --to "nosuch://host/db"
check_eq "a bad --to URL: exit 3" "$rc" "3"
check_has "... naming --to" "$err" "invalid --to"
mt "$src" db copy --to "sqlite:///:memory:"
check_eq "an in-memory target: exit 3" "$rc" "3"
mt "$src" db copy --to "$src"
check_eq "the source itself as target: exit 1" "$rc" "1"
check_has "... said so" "$err" "names the source database itself"
if have postgresql; then
    mt "$src" db copy --to "postgresql://meditrack:x@127.0.0.1:1/nope?connect_timeout=2"
    check_eq "an unreachable target: exit 4" "$rc" "4"
else
    skip "an unreachable target (no PostgreSQL module/server)"
fi

busy=$(sq busy)
sql_exec "$busy" "CREATE TABLE keepme (x INTEGER); INSERT INTO keepme VALUES (42)"
mt "$src" db copy --to "$busy"
check_eq "a target with tables is refused (exit 1)" "$rc" "1"
check_has "... saying it is not empty and about --force" "$err" "not empty"
check_eq "... and left as it was" "$(sql "$busy" "SELECT x FROM keepme")" "42"

# --force: MediTrack's tables of the target are dropped, others left alone.
tgt=$(fresh "$dialect" t080force)
mt "$tgt" db upgrade
sql_exec "$tgt" "INSERT INTO persons (first_name, is_default) VALUES ('Old', TRUE), ('Older', FALSE)"
sql_exec "$tgt" "CREATE TABLE other_app (x INTEGER)"
sql_exec "$tgt" "INSERT INTO other_app (x) VALUES (7)"
mt "$src" db copy --to "$tgt"
check_eq "a MediTrack target with rows is refused without --force" "$rc" "1"
mt "$src" db copy --to "$tgt" --force
check_eq "--force copies (exit 0)" "$rc" "0"
check_has "--force says what it dropped" "$out" "dropped: table persons of the target (2 rows)"
check_has "--force names the table it left alone" "$out" "left alone: table other_app"
check_eq "--force: the other table is untouched" "$(sql "$tgt" "SELECT x FROM other_app")" "7"
check_eq "--force: the target holds the source's rows" "$(rows "$tgt" | grep -v '^other_app|')" \
    "$(rows "$src")"
mt "$tgt" db check
check_eq "--force: db check is clean" "$rc" "0"
if [[ $dialect == postgresql ]]; then
    # Another name for the same server: only the probe table can tell.
    alias=${src/127.0.0.1/localhost}
    before=$(rows "$src")
    mt "$src" db copy --to "$alias" --force
    check_eq "--force onto the source under another host name is refused" "$rc" "1"
    check_has "... said so" "$err" "the target is the source database itself"
    check_eq "... and the source is intact" "$(rows "$src")" "$before"
fi

# ---- round trips from the fixtures -------------------------------------------

fixture_on_sqlite() {
    cp "$fixtures/reference-sqlite/$1.db" "$tmp/$1.db"
    chmod u+w "$tmp/$1.db"
    mt "sqlite:///$tmp/$1.db" db upgrade
    [[ $rc == 0 ]] || { not_ok "$1: db upgrade ($err)"; return 1; }
    echo "sqlite:///$tmp/$1.db"
}

case $dialect in
sqlite)
    for f in at-f4162eb18a25 at-588f4ae43933-with-doses at-03586fa62d43-with-leftover-tmp-table \
        untracked-initial-tables-empty; do
        if url=$(fixture_on_sqlite "$f"); then round_trip "$f" "$url"; fi
    done
    ;;
postgresql)
    url=$(fresh postgresql t080pgfix)
    grep -v '^\\\(un\)\?restrict' "$fixtures/reference-postgresql/at-35bddb769482.sql" >"$tmp/pg.sql"
    if psql "$url" -q -v ON_ERROR_STOP=1 -f "$tmp/pg.sql" >/dev/null 2>"$tmp/psql.err"; then
        mt "$url" db upgrade
        check_eq "the PostgreSQL fixture upgrades to head" "$rc" "0"
        round_trip pg-at-35bddb769482 "$url"
    else
        not_ok "the PostgreSQL fixture loads: $(head -n 3 "$tmp/psql.err")"
    fi
    ;;
mysql)
    # No MariaDB fixture exists: the SQLite one with doses, copied over.
    if sfix=$(fixture_on_sqlite at-588f4ae43933-with-doses); then
        url=$(fresh mysql t080myfix)
        mt "$sfix" db copy --to "$url"
        check_eq "the SQLite fixture with doses copied to MariaDB" "$rc" "0"
        round_trip my-at-588f4ae43933 "$url"
    fi
    ;;
esac

# ---- 100k doses ---------------------------------------------------------------
# With 1,200 medications: a batch of that wide table (9 columns) once took
# more parameters than libpq 15 describes, which lost the connection.

gen=$(fresh "$dialect" t080gen)
mt "$gen" db upgrade
head_sql="INSERT INTO persons (id, first_name, last_name, date_of_birth, notes, is_default, created_at, updated_at) VALUES
 (1, 'Zoë', 'Ångström-Øre', '1980-02-29', 'line1
line2	tab \\ back\\slash 🙂 עברית 𝄞 e\u0301', TRUE, '2024-01-01 00:00:00', NULL),
 (2, 'José', NULL, NULL, NULL, FALSE, '2024-01-02 03:04:05.123456', '2024-02-02 03:04:05.5')"
case $dialect in
sqlite)
    gen_sql="$head_sql;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, instructions, created_at, person_id)
SELECT i, 'Med ' || i || ' ✓', '1 tab', 'daily', 4, CASE WHEN i % 2 THEN NULL ELSE 'with food — 食後' END, '2024-01-01 08:00:00.000001', 1 + (i % 2) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id)
SELECT i * 2, CASE WHEN i % 97 = 0 THEN NULL ELSE 1 + (i % 12) END, 'Med ' || (1 + (i % 12)) || ' ✓',
 CASE WHEN i % 1000 = 0 THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%S', '2020-01-01', '+' || i || ' minutes') ||
 CASE WHEN i % 3 = 0 THEN '' ELSE '.' || printf('%06d', (i * 7919) % 1000000) END END,
 CASE WHEN i % 97 = 0 AND i % 2 = 0 THEN NULL ELSE 1 + ((1 + (i % 12)) % 2) END FROM n" ;;
postgresql)
    gen_sql="$head_sql;
INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, instructions, created_at, person_id)
SELECT i, 'Med ' || i || ' ✓', '1 tab', 'daily', 4, CASE WHEN i % 2 = 1 THEN NULL ELSE 'with food — 食後' END, '2024-01-01 08:00:00.000001', 1 + (i % 2) FROM generate_series(1, 1200) i;
INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id)
SELECT i * 2, CASE WHEN i % 97 = 0 THEN NULL ELSE 1 + (i % 12) END, 'Med ' || (1 + (i % 12)) || ' ✓',
 CASE WHEN i % 1000 = 0 THEN NULL ELSE timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute' +
 (CASE WHEN i % 3 = 0 THEN 0 ELSE (i * 7919) % 1000000 END) * interval '1 microsecond' END,
 CASE WHEN i % 97 = 0 AND i % 2 = 0 THEN NULL ELSE 1 + ((1 + (i % 12)) % 2) END FROM generate_series(1, 100000) i" ;;
mysql)
    gen_sql="$head_sql;
INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, instructions, created_at, person_id)
SELECT seq, CONCAT('Med ', seq, ' ✓'), '1 tab', 'daily', 4, CASE WHEN seq % 2 = 1 THEN NULL ELSE 'with food — 食後' END, '2024-01-01 08:00:00.000001', 1 + (seq % 2) FROM seq_1_to_1200;
INSERT INTO doses (id, medication_id, medication_name, taken_at, person_id)
SELECT seq * 2, CASE WHEN seq % 97 = 0 THEN NULL ELSE 1 + (seq % 12) END, CONCAT('Med ', 1 + (seq % 12), ' ✓'),
 CASE WHEN seq % 1000 = 0 THEN NULL ELSE TIMESTAMPADD(MICROSECOND, CASE WHEN seq % 3 = 0 THEN 0 ELSE (seq * 7919) % 1000000 END, TIMESTAMPADD(MINUTE, seq, '2020-01-01')) END,
 CASE WHEN seq % 97 = 0 AND seq % 2 = 0 THEN NULL ELSE 1 + ((1 + (seq % 12)) % 2) END FROM seq_1_to_100000" ;;
esac
# The shell keeps \u0301 literal: the database gets the two bytes "\u" and
# "0301" there, which is what must survive (a backslash sequence).
# A long value (MariaDB's TEXT holds 65535 bytes).
case $dialect in
sqlite) gen_sql+="; UPDATE persons SET notes = replace(hex(zeroblob(30000)), '0', 'x') WHERE id = 2" ;;
*) gen_sql+="; UPDATE persons SET notes = REPEAT('x', 60000) WHERE id = 2" ;;
esac
if sql_exec "$gen" "$gen_sql" 2>"$tmp/gen.err"; then
    check_eq "the generated database has 100000 doses" "$(sql "$gen" "SELECT COUNT(*) FROM doses")" "100000"
    check_has "it holds text with Unicode and control characters" \
        "$(sql "$gen" "SELECT notes FROM persons WHERE id = 1")" "🙂 עברית 𝄞"
    # Changes made with the CLI leave audit rows: the chain to carry along.
    for who in auditor-a auditor-b; do
        DATABASE_URL=$gen "$MEDITRACK" user add "$who" --role carer --person 1 --no-password \
            >/dev/null 2>"$tmp/err" || not_ok "user add $who on the generated database: $(cat "$tmp/err")"
    done
    mt "$gen" audit verify
    check_has "the generated database has an audit chain of 2 rows" "$out" "audit trail holds: 2 rows"
    audit_rows=2 round_trip gen100k "$gen"
else
    not_ok "generating 100k doses on $dialect: $(head -n 3 "$tmp/gen.err")"
fi

# ---- any tables: a chain of our own -------------------------------------------
# Nothing in the copy names MediTrack's tables: a chain with other tables,
# kinds of keys and types (a character primary key in mixed case and
# non-ASCII, a composite key, no key at all with duplicate rows, an identity
# or AUTOINCREMENT id whose last rows were deleted, blobs, JSON, decimals,
# times) goes around the engines the same way.
chain=$tmp/chain
rev1=$chain/aaaa00000001_generic
mkdir -p "$rev1"
printf 'id: aaaa00000001\ndown_revision:\nmessage: generic tables\ncreate_date: 2025-01-01 00:00:00.000000\n' >"$rev1/revision"
cat >"$rev1/up.sqlite.sql" <<'EOF_SQL'
CREATE TABLE things (code VARCHAR(20) NOT NULL PRIMARY KEY, label TEXT, price DECIMAL(10,2), ratio REAL, at_time TIME, day DATE, blob_v BLOB, doc JSON, flag BOOLEAN);
CREATE TABLE links (a INTEGER NOT NULL, b VARCHAR(20) NOT NULL REFERENCES things (code), PRIMARY KEY (a, b));
CREATE TABLE loose (x INTEGER, y VARCHAR(10));
CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER)
EOF_SQL
cat >"$rev1/up.postgresql.sql" <<'EOF_SQL'
CREATE TABLE things (code varchar(20) NOT NULL PRIMARY KEY, label text, price numeric(10,2), ratio double precision, at_time time, day date, blob_v bytea, doc jsonb, flag boolean);
CREATE TABLE links (a integer NOT NULL, b varchar(20) NOT NULL REFERENCES things (code), PRIMARY KEY (a, b));
CREATE TABLE loose (x integer, y varchar(10));
CREATE TABLE counters (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n integer)
EOF_SQL
cat >"$rev1/up.mysql.sql" <<'EOF_SQL'
CREATE TABLE things (code VARCHAR(20) NOT NULL PRIMARY KEY, label TEXT, price DECIMAL(10,2), ratio DOUBLE, at_time TIME, day DATE, blob_v BLOB, doc JSON, flag BOOLEAN);
CREATE TABLE links (a INT NOT NULL, b VARCHAR(20) NOT NULL, PRIMARY KEY (a, b), FOREIGN KEY (b) REFERENCES things (code));
CREATE TABLE loose (x INT, y VARCHAR(10));
CREATE TABLE counters (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, n INT)
EOF_SQL
echo "DROP TABLE links; DROP TABLE things; DROP TABLE loose; DROP TABLE counters" >"$rev1/down.sql"

case $dialect in
postgresql) blob="decode('00ff0a5c', 'hex')" noblob="decode('', 'hex')" ;;
*) blob="x'00ff0a5c'" noblob="x''" ;;
esac
generic_rows="INSERT INTO things (code, label, price, ratio, at_time, day, blob_v, doc, flag) VALUES
 ('B', 'Bee 🐝', 12.5, 0.1, '08:30:00', '2024-02-29', $blob, '{\"a\": 2, \"b\": [1, 2]}', TRUE),
 ('a', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 ('é', 'tab	and
newline', -0.5, 1e300, '23:59:59', '0001-01-01', $noblob, '[]', FALSE),
 ('Z9', '', 0, -2.5, '00:00:00', '9999-12-31', $blob, '\"s\"', FALSE);
INSERT INTO links (a, b) VALUES (2, 'a'), (1, 'é'), (1, 'B');
INSERT INTO loose (x, y) VALUES (1, 'x'), (1, 'x'), (NULL, NULL);
INSERT INTO counters (n) VALUES (10), (20), (30);
DELETE FROM counters WHERE n = 30"

# counters_ok URL WHAT: the next id of counters is 4 (3 was used, then deleted).
counters_ok() {
    local url=$1 got
    case $(dialect_of "$url") in
    postgresql) got=$(sql "$url" "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence('counters', 'id') AS regclass))") ;;
    mysql) got=$(sql "$url" "SELECT AUTO_INCREMENT - 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'counters'") ;;
    sqlite) got=$(sql "$url" "SELECT seq FROM sqlite_sequence WHERE name = 'counters'") ;;
    esac
    check_eq "$2: the next id of counters is past the deleted 3" "$got" "3"
}

export MIGRATIONS_DIR=$chain
gsrc=$(fresh "$dialect" t080generic)
mt "$gsrc" db upgrade
check_eq "the generic chain upgrades" "$rc" "0"
if sql_exec "$gsrc" "$generic_rows" 2>"$tmp/g.err"; then
    ids_check=counters_ok rows_at_end=1 round_trip generic "$gsrc"
else
    not_ok "rows of the generic chain on $dialect: $(head -n 3 "$tmp/g.err")"
fi

# A target that changes what it is given is caught by the verification:
# the same chain plus a SQLite trigger that rewrites every row of loose.
if [[ $dialect == sqlite ]]; then
    chain2=$tmp/chain2
    cp -r "$chain" "$chain2"
    rev2=$chain2/aaaa00000002_trigger
    mkdir -p "$rev2"
    printf 'id: aaaa00000002\ndown_revision: aaaa00000001\nmessage: a trigger\ncreate_date: 2025-01-02 00:00:00.000000\n' >"$rev2/revision"
    echo "CREATE TRIGGER loose_changes AFTER INSERT ON loose BEGIN UPDATE loose SET y = 'changed' WHERE rowid = NEW.rowid; END" >"$rev2/up.sqlite.sql"
    echo "DROP TRIGGER loose_changes" >"$rev2/down.sqlite.sql"
    for f in up.postgresql.sql up.mysql.sql down.postgresql.sql down.mysql.sql; do : >"$rev2/$f"; done
    export MIGRATIONS_DIR=$chain2
    tsrc=$(sq trigger-src)
    mt "$tsrc" db upgrade
    sql_exec "$tsrc" "DROP TRIGGER loose_changes"
    sql_exec "$tsrc" "$generic_rows"
    mt "$tsrc" db copy --to "$(sq trigger-dst)"
    check_eq "a target that differs after the copy: exit 1" "$rc" "1"
    check_has "... the report shows the mismatch" "$out" "MISMATCH: the target has 3 rows"
    check_has "... and the error names the table" "$err" "verification failed: table loose"
fi
unset MIGRATIONS_DIR

finish
