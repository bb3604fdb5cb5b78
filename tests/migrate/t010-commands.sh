#!/usr/bin/env bash
# `meditrack db` against a fresh database of MT_TEST_DIALECT with the test
# chain: base -> head -> base -> head, +N/-N, prefixes, ambiguous and unknown
# revisions, stamp and --purge, check exit codes and checksum mismatches, an
# unknown revision in the database (error, nothing touched), history / heads /
# show / --help, revision scaffolding, the alembic symlink, log lines, the
# SQLite safety copy, and the drop warning of downgrades.
. "$(dirname "$0")/lib.sh"

url=$(fresh t010)

# --- base -> head -> base -> head -------------------------------------------
mt "$url" current
check_eq "current at base prints nothing" "$out" ""
check_eq "current at base exits 0" "$rc" 0
mt "$url" check
check_eq "check at base exits 1" "$rc" 1
check_has "check lists the pending revisions" "$out" "5 pending revisions"
check_has "check names the first pending revision" "$out" "3f1c0a9b2d41  create owners and items"

mt "$url" upgrade head
check_eq "upgrade head exits 0" "$rc" 0
case $dialect in
sqlite) impl=SQLiteImpl ddl="Will assume transactional DDL." ;;
postgresql) impl=PostgresqlImpl ddl="Will assume transactional DDL." ;;
mysql) impl=MySQLImpl ddl="Will assume non-transactional DDL." ;;
esac
check_has "log: context impl" "$err" "Context impl $impl."
check_has "log: DDL mode" "$err" "$ddl"
check_has "log: first revision, base shown empty" "$err" "Running upgrade  -> 3f1c0a9b2d41, create owners and items"
check_has "log: a later revision" "$err" "Running upgrade c4d2e8f1a6b0 -> e91b6d3a4c7f, tags table, several DDL statements"
check_has "log: duration of each revision" "$err" "Finished upgrade c4d2e8f1a6b0 -> e91b6d3a4c7f in "
check_has "log: the plan first" "$err" "Plan: upgrade base -> e91b6d3a4c7f, 5 revisions"
mt "$url" current
check_eq "current at head" "$out" "$head_rev (head)"
mt "$url" check
check_eq "check at head exits 0" "$rc" 0
head_schema=$(schema "$url")
check_has "head schema has the backfilled rows" "$head_schema" "row 3|2|vitamin d3|VITAMIN D3"
check_eq "one audit row per revision" "$(audit "$url" | grep -c '^upgrade .* success=1')" 5

mt "$url" upgrade head
check_eq "upgrade at head is a no-op" "$rc" 0
check_eq "no new audit rows" "$(audit "$url" | wc -l)" 5

mt "$url" downgrade base
check_eq "downgrade base exits 0" "$rc" 0
check_has "downgrade says what it drops" "$err" "Downgrade e91b6d3a4c7f -> c4d2e8f1a6b0 will drop column items.archived, table tags"
check_has "downgrade to base drops the tables" "$err" "will drop table items, table owners"
check_has "log: downgrade to base shown empty" "$err" "Running downgrade 3f1c0a9b2d41 -> , create owners and items"
mt "$url" current
check_eq "current at base again" "$out" ""
check_eq "no application tables at base" "$(schema "$url")" ""
check_eq "alembic_version empty at base" "$(version "$url")" ""

mt "$url" upgrade
check_eq "upgrade (default head) exits 0" "$rc" 0
check_eq "schema and data at head match the first run" "$(schema "$url")" "$head_schema"

# --- relative steps and prefixes ------------------------------------------------
mt "$url" downgrade -2
mt "$url" current
check_eq "downgrade -2" "$out" "ab7f0e1c2d3b"
mt "$url" upgrade +1
mt "$url" current
check_eq "upgrade +1" "$out" "c4d2e8f1a6b0"
mt "$url" downgrade
mt "$url" current
check_eq "downgrade without argument is -1" "$out" "ab7f0e1c2d3b"
before=$(schema "$url")
mt "$url" upgrade +3
check_eq "upgrade +3 past head fails" "$rc" 1
check_has "upgrade +3 says why" "$err" "leaves the chain"
mt "$url" downgrade -4
check_eq "downgrade -4 past base fails" "$rc" 1
mt "$url" upgrade ab
check_eq "ambiguous prefix fails" "$rc" 1
check_has "ambiguous prefix lists the candidates" "$err" 'ambiguous revision "ab": matches ab5e2c7d9f10, ab7f0e1c2d3b'
mt "$url" upgrade 0123abc
check_eq "unknown revision fails" "$rc" 1
check_has "unknown revision is named" "$err" 'no such revision "0123abc"'
mt "$url" current
check_eq "failed commands changed nothing (version)" "$out" "ab7f0e1c2d3b"
check_eq "failed commands changed nothing (schema)" "$(schema "$url")" "$before"
mt "$url" upgrade e9
mt "$url" current
check_eq "upgrade to a unique prefix" "$out" "$head_rev (head)"
mt "$url" downgrade ab5e
mt "$url" current
check_eq "downgrade to a unique prefix" "$out" "ab5e2c7d9f10"
mt "$url" upgrade 3f1c
check_eq "upgrade to an older revision fails" "$rc" 1
check_has "upgrade to an older revision says so" "$err" "not an upgrade target"
mt "$url" upgrade ab5e2c7d9f10+2
mt "$url" current
check_eq "upgrade REV+N" "$out" "c4d2e8f1a6b0"
mt "$url" upgrade head

# --- check: pending list and checksum mismatch ------------------------------------
mt "$url" downgrade -1
mt "$url" check
check_eq "check with one pending exits 1" "$rc" 1
check_has "check names it" "$out" "1 pending revision (database at c4d2e8f1a6b0):"
check_has "check lists it" "$out" "e91b6d3a4c7f  tags table, several DDL statements"
mt "$url" upgrade head

cp -r "$root/tests/migrate/chain" "$tmp/chain"
url2=$(fresh t010b)
MIGRATIONS_DIR=$tmp/chain mt "$url2" upgrade head
echo "-- a later edit" >>"$tmp/chain/ab7f0e1c2d3b_index_items_by_title_and_owner/up.sql"
echo "-- a later edit" >>"$tmp/chain/ab7f0e1c2d3b_index_items_by_title_and_owner/up.mysql.sql"
MIGRATIONS_DIR=$tmp/chain mt "$url2" check
check_eq "check with a changed applied revision exits 1" "$rc" 1
check_has "check reports the checksum mismatch" "$out" "Checksum mismatch: revision ab7f0e1c2d3b was applied with SQL fnv1a64:"
MIGRATIONS_DIR=$root/tests/migrate/chain mt "$url2" check
check_eq "the original chain checks clean" "$rc" 0

# --- stamp ------------------------------------------------------------------------
before=$(schema "$url")
mt "$url" stamp base
check_eq "stamp base exits 0" "$rc" 0
check_eq "stamp base empties alembic_version" "$(version "$url")" ""
check_eq "stamp runs no SQL" "$(schema "$url")" "$before"
mt "$url" stamp ab7f
check_eq "stamp to a prefix" "$(version "$url")" "ab7f0e1c2d3b"
mt "$url" stamp
check_eq "stamp (default head)" "$(version "$url")" "$head_rev"
check_has "stamp is in the audit table" "$(audit "$url")" "stamp ab7f0e1c2d3b e91b6d3a4c7f success=1"

# --- an unknown revision in the database --------------------------------------------
sql_exec "$url" "UPDATE alembic_version SET version_num = 'f00dfeedbeef'"
before_schema=$(schema "$url")
before_audit=$(audit "$url")
mt "$url" upgrade head
check_eq "upgrade with an unknown db revision fails" "$rc" 6
check_has "it names the revision" "$err" "the database is at revision f00dfeedbeef, which the migrations"
check_has "it says nothing changed" "$err" "nothing was changed"
mt "$url" downgrade base
check_eq "downgrade with an unknown db revision fails" "$rc" 6
mt "$url" stamp head
check_eq "stamp without --purge refuses an unknown revision" "$rc" 6
mt "$url" check
check_eq "check refuses an unknown revision" "$rc" 1
mt "$url" current
check_eq "current shows it and fails" "$rc:$out" "1:f00dfeedbeef"
check_eq "unknown revision: schema untouched" "$(schema "$url")" "$before_schema"
check_eq "unknown revision: audit untouched" "$(audit "$url")" "$before_audit"
check_eq "unknown revision: version untouched" "$(version "$url")" "f00dfeedbeef"
sql_exec "$url" "INSERT INTO alembic_version (version_num) VALUES ('3f1c0a9b2d41')"
mt "$url" stamp head --purge
check_eq "stamp --purge clears unknown and extra rows" "$rc:$(version "$url")" "0:$head_rev"

# --- history, heads, show, help ----------------------------------------------------------
mt "$url" history
check_eq "history has one line per revision" "$(echo "$out" | wc -l)" 5
check_eq "history: newest first" "$(echo "$out" | head -n 1)" "c4d2e8f1a6b0 -> e91b6d3a4c7f (head), tags table, several DDL statements"
check_eq "history: base last" "$(echo "$out" | tail -n 1)" "<base> -> 3f1c0a9b2d41, create owners and items"
mt "$url" history -r ab5e2c7d9f10:c4
check_eq "history -r A:B" "$(echo "$out" | awk '{print $3}' | tr '\n' ' ')" "c4d2e8f1a6b0, ab7f0e1c2d3b, ab5e2c7d9f10, "
mt "$url" history -r :3f1c
check_eq "history -r :B" "$out" "<base> -> 3f1c0a9b2d41, create owners and items"
mt "$url" history -v
check_eq "history -v shows when each revision ran" "$(echo "$out" | grep -c '    Applied: 20')" 5
mt "$url" history -r zz:
check_eq "history with an unknown bound fails" "$rc" 1
mt "$url" heads
check_eq "heads" "$out" "$head_rev (head)"
mt "$url" show c4
check_has "show" "$out" "Revision ID: c4d2e8f1a6b0"
check_has "show: parent" "$out" "Parent: ab7f0e1c2d3b"
mt "$url" show ab
check_eq "show with an ambiguous prefix fails" "$rc" 1
mt "$url" current -v
check_has "current -v" "$out" "Rev: $head_rev (head) (current)"
for sub in current history heads show upgrade downgrade stamp check revision; do
    mt "$url" "$sub" --help
    check_eq "db $sub --help exits 0" "$rc" 0
    check_has "db $sub --help prints usage" "$out" "usage: meditrack db $sub"
done
mt "$url" frobnicate
check_eq "unknown sub-command exits 2" "$rc" 2
mt "$url" upgrade head extra
check_eq "extra argument exits 2" "$rc" 2
mt "$url" upgrade --bogus
check_eq "unknown option exits 2" "$rc" 2

# --- the alembic symlink --------------------------------------------------------------
ln -s "$MEDITRACK" "$tmp/alembic"
a=$(DATABASE_URL=$url "$tmp/alembic" current 2>/dev/null)
check_eq "alembic current via the symlink" "$a" "$head_rev (head)"

# --- revision scaffolding -----------------------------------------------------------------
mt "$url" revision -m "Add the thing!" --dir "$tmp/chain"
check_eq "revision exits 0" "$rc" 0
newdir=$(ls -d "$tmp/chain"/*_add_the_thing 2>/dev/null | head -n 1)
check "revision made a directory <id>_add_the_thing" test -n "$newdir"
newid=$(basename "${newdir:-x}" | cut -d_ -f1)
check "the new id is 12 hex digits" bash -c "[[ '$newid' =~ ^[0-9a-f]{12}$ ]]"
check_has "it sits on the head" "$(cat "$newdir/revision" 2>/dev/null)" "down_revision: $head_rev"
check_eq "one up and one down file per dialect" "$(ls "$newdir" | grep -c '\.sql$')" 6
MIGRATIONS_DIR=$tmp/chain mt "$url2" heads
check_eq "the new revision is the head" "$out" "$newid (head)"
MIGRATIONS_DIR=$tmp/chain mt "$url2" upgrade head
check_eq "the empty new revision applies" "$rc" 0
mt "$url" revision
check_eq "revision without -m exits 2" "$rc" 2

# --- SQLite safety copies -----------------------------------------------------------------
if [[ $dialect == sqlite ]]; then
    file=${url#sqlite:///}
    rm -f "$file".backup-*
    mt "$url" downgrade -1
    copy=$(ls "$file".backup-"$head_rev"-to-c4d2e8f1a6b0-* 2>/dev/null)
    check "downgrade made a safety copy named from-to-time" test -n "$copy"
    check_eq "the copy is at the old revision" "$(version "sqlite:///$copy")" "$head_rev"
    check_has "the log names the copy" "$err" "Safety copy of $file written to $copy"
    for i in 1 2 3; do mt "$url" upgrade head; mt "$url" downgrade -1; done
    check_eq "only the last 3 copies are kept" "$(ls "$file".backup-* | wc -l)" 3
    n=$(ls "$file".backup-* | wc -l)
    BACKUP_BEFORE_MIGRATE=false mt "$url" upgrade head
    check_eq "BACKUP_BEFORE_MIGRATE=false makes no copy" "$(ls "$file".backup-* | wc -l)" "$n"
    url3=$(fresh t010c)
    mt "$url3" upgrade head
    check "a new empty database gets no copy" bash -c "! ls '${url3#sqlite:///}'.backup-* >/dev/null 2>&1"
fi

finish
