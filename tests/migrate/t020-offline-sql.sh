#!/usr/bin/env bash
# Offline mode (--sql): upgrade, downgrade and stamp print the SQL for the
# dialect of DATABASE_URL without connecting (the URL points at nothing), and
# the printed upgrade script, fed to the dialect's own client, leaves a fresh
# database in exactly the state `db upgrade head` makes.
. "$(dirname "$0")/lib.sh"

case $dialect in
sqlite) dead="sqlite:///$tmp/never/created.db" ;;
postgresql) dead="postgresql://nobody:secret@127.0.0.1:9/nothing" ;;
mysql) dead="mysql://nobody:secret@127.0.0.1:9/nothing" ;;
esac

mt "$dead" upgrade head --sql
check_eq "upgrade --sql exits 0 without a database" "$rc" 0
up_sql=$out
check_has "it starts with Alembic's version table" "$out" "CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);"
check_has "each revision is announced" "$out" "-- Running upgrade ab7f0e1c2d3b -> c4d2e8f1a6b0"
check_has "the version row is written" "$out" "INSERT INTO alembic_version (version_num) VALUES ('3f1c0a9b2d41');"
check_has "and moved" "$out" "UPDATE alembic_version SET version_num='$head_rev' WHERE alembic_version.version_num = 'c4d2e8f1a6b0';"
check_has "log: offline" "$err" "Generating static SQL"
case $dialect in
sqlite)
    check_has "sqlite: foreign keys off before BEGIN" "$out" "PRAGMA foreign_keys=OFF;

BEGIN;"
    check_has "sqlite: its own flavour of revision 2" "$out" "ALTER TABLE owners_new RENAME TO owners;"
    check "sqlite: no file was created" test ! -e "$tmp/never"
    ;;
postgresql)
    check_has "postgresql: one transaction per revision" "$out" "COMMIT;"
    check_has "postgresql: its flavour of revision 2" "$out" "UPDATE owners SET email = name || '@example.org';"
    ;;
mysql)
    check "mysql: no BEGIN (DDL is not transactional)" bash -c "! grep -q '^BEGIN;' <<<\"\$0\"" "$out"
    check_has "mysql: its flavour of revision 2" "$out" "CONCAT(name, '@example.org')"
    ;;
esac

mt "$dead" upgrade c4d2e8f1a6b0:head --sql
check_eq "upgrade FROM:TO --sql" "$rc" 0
check "FROM:TO starts after FROM" bash -c "! grep -q 'CREATE TABLE alembic_version' <<<\"\$0\" && ! grep -q '3f1c0a9b2d41' <<<\"\$0\"" "$out"
check_has "FROM:TO has the last step" "$out" "-- Running upgrade c4d2e8f1a6b0 -> $head_rev"
mt "$dead" upgrade +2 --sql
check_eq "upgrade +2 --sql covers two revisions" "$(grep -c '^-- Running upgrade' <<<"$out")" 2

mt "$dead" downgrade base --sql
check "downgrade --sql without FROM:TO fails" test "$rc" -ne 0
check_has "and says so" "$err" "needs FROM:TO"
mt "$dead" downgrade head:base --sql
check_eq "downgrade head:base --sql" "$rc" 0
check_has "it lists the drops" "$out" "-- drops table tags"
check_has "it removes the version table last" "$out" "DROP TABLE alembic_version;"
mt "$dead" stamp ab7f --sql
check_eq "stamp --sql" "$rc" 0
check_has "stamp --sql writes the version" "$out" "INSERT INTO alembic_version (version_num) VALUES ('ab7f0e1c2d3b');"
mt "$dead" stamp head --purge --sql
check_has "stamp --purge --sql" "$out" "DELETE FROM alembic_version;"
mt "$dead" upgrade zz --sql
check_eq "--sql with an unknown revision fails" "$rc" 1

# The printed script, run by the dialect's client, equals an online upgrade.
url=$(fresh t020a)
ref=$(fresh t020b)
printf '%s\n' "$up_sql" >"$tmp/up.sql"
case $dialect in
sqlite) sqlite3 -bail "${url#sqlite:///}" <"$tmp/up.sql" >/dev/null 2>"$tmp/client.err" ;;
postgresql) psql "$url" -q -v ON_ERROR_STOP=1 -f "$tmp/up.sql" >/dev/null 2>"$tmp/client.err" ;;
mysql)
    rest=${url#mysql://}; cred=${rest%%@*}; hp=${rest#*@}; hostport=${hp%%/*}; dbn=${hp#*/}
    MYSQL_PWD=${cred#*:} mariadb --no-defaults -h "${hostport%%:*}" -P "${hostport##*:}" \
        -u "${cred%%:*}" "$dbn" <"$tmp/up.sql" >/dev/null 2>"$tmp/client.err"
    ;;
esac
check_eq "the client runs the script" "$?" 0
mt "$url" current
check_eq "the script leaves the database at head" "$out" "$head_rev (head)"
mt "$ref" upgrade head
check_eq "same schema and data as db upgrade" "$(schema "$url")" "$(schema "$ref")"

finish
