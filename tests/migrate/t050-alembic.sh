#!/usr/bin/env bash
# Databases made by the real Alembic (../shared/fixtures) are read as they
# are, with the revisions embedded in the binary (migrations/), and the
# alembic_version table we create is Alembic's, to the byte on SQLite and by
# definition on PostgreSQL and MariaDB.
. "$(dirname "$0")/lib.sh"

fixtures=${MT_TEST_FIXTURES:-$root/../shared/fixtures}
unset MIGRATIONS_DIR # the embedded chain
embedded_knows() { DATABASE_URL=sqlite:///:memory: "$MEDITRACK" db show "$1" >/dev/null 2>&1; }

# current_is URL REV: `db current` names REV (with " (head)" when it is the head).
current_is() {
    local url=$1 rev=$2
    mt "$url" current
    if embedded_knows "$rev"; then
        check_eq "current reads $rev (embedded chain knows it)" "$rc:${out% (head)}" "0:$rev"
    else
        check_eq "current reads the version row $rev (not in the embedded chain)" "$out" "$rev"
    fi
}

case $dialect in
sqlite)
    for f in at-f4162eb18a25 at-588f4ae43933-with-doses at-03586fa62d43-with-leftover-tmp-table; do
        cp "$fixtures/reference-sqlite/$f.db" "$tmp/$f.db"
        rev=${f#at-}
        rev=${rev%%-*}
        before=$(sqlite3 "$tmp/$f.db" .dump | sha256sum)
        current_is "sqlite:///$tmp/$f.db" "$rev"
        check_eq "$f: reading changed no schema or row" "$(sqlite3 "$tmp/$f.db" .dump | sha256sum)" "$before"
    done
    cp "$fixtures/reference-sqlite/untracked-initial-tables-empty.db" "$tmp/untracked.db"
    mt "sqlite:///$tmp/untracked.db" current
    check_eq "an untracked database is at base" "$rc:$out" "0:"

    # Our version table, byte for byte against the one Alembic wrote.
    url=$(fresh t050)
    MIGRATIONS_DIR=$root/tests/migrate/chain mt "$url" upgrade head
    ours=$(sqlite3 "${url#sqlite:///}" "SELECT hex(sql) FROM sqlite_master WHERE name = 'alembic_version'")
    theirs=$(sqlite3 "$fixtures/reference-sqlite/at-f4162eb18a25.db" "SELECT hex(sql) FROM sqlite_master WHERE name = 'alembic_version'")
    check "the fixture has a version table" test -n "$theirs"
    check_eq "alembic_version DDL is Alembic's, byte for byte" "$ours" "$theirs"
    ;;
postgresql)
    url=$(fresh t050pg)
    if psql "$url" -q -v ON_ERROR_STOP=1 -f "$fixtures/reference-postgresql/at-35bddb769482.sql" >/dev/null 2>"$tmp/psql.err"; then
        ok "the Alembic-made PostgreSQL dump loads"
    else
        not_ok "the Alembic-made PostgreSQL dump loads: $(head -n 3 "$tmp/psql.err")"
    fi
    current_is "$url" 35bddb769482
    ours=$(fresh t050ours)
    MIGRATIONS_DIR=$root/tests/migrate/chain mt "$ours" upgrade head
    def="SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns WHERE table_name = 'alembic_version' UNION ALL SELECT conname, CAST(contype AS text), NULL, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'alembic_version'::regclass"
    theirs_def=$(sql_query "$url" "$def")
    check_has "Alembic's table: varchar(32) not null" "$theirs_def" "version_num|character varying|32|NO"
    check_eq "alembic_version definition equals Alembic's" "$(sql_query "$ours" "$def")" "$theirs_def"
    ;;
mysql)
    # No MariaDB database made by Alembic is among the fixtures: make the
    # table exactly as Alembic does (its DDL text) and read it back.
    url=$(fresh t050my)
    sql_exec "$url" "CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)"
    sql_exec "$url" "INSERT INTO alembic_version (version_num) VALUES ('f4162eb18a25')"
    current_is "$url" f4162eb18a25
    ours=$(fresh t050ours)
    MIGRATIONS_DIR=$root/tests/migrate/chain mt "$ours" upgrade head
    def="SELECT column_name, column_type, is_nullable, column_key FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'alembic_version'"
    check_eq "alembic_version definition equals Alembic's" "$(sql_query "$ours" "$def")" "$(sql_query "$url" "$def")"
    check_eq "it is varchar(32) not null primary key" "$(sql_query "$ours" "$def")" "version_num|varchar(32)|NO|PRI"
    ;;
esac

finish
