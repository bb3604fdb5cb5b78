#!/usr/bin/env bash
# Concurrent start-ups: 8 processes run `db upgrade head` at once against one
# fresh database, 10 times. Every process must succeed, the database must end
# at head with the head schema, and the audit table must show each revision
# applied exactly once (the others waited for the lock and found nothing to do).
. "$(dirname "$0")/lib.sh"

ref=$(fresh t040ref)
mt "$ref" upgrade head
want_schema=$(schema "$ref")

for round in $(seq 1 10); do
    url=$(fresh t040)
    pids=()
    for p in $(seq 1 8); do
        DATABASE_URL=$url "$MEDITRACK" db upgrade head >"$tmp/out.$p" 2>&1 &
        pids+=($!)
    done
    fails=0
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            fails=$((fails + 1))
            sed 's/^/#   /' "$tmp/out.$((i + 1))" | tail -n 5
        fi
    done
    check_eq "round $round: all 8 processes succeed" "$fails" 0
    check_eq "round $round: at head" "$(version "$url")" "$head_rev"
    check_eq "round $round: head schema" "$(schema "$url")" "$want_schema"
    a=$(audit "$url")
    check_eq "round $round: each revision applied exactly once" \
        "$(awk '{print $1, $3, $4}' <<<"$a" | tr '\n' ';')" \
        "upgrade ${revs[0]} success=1;upgrade ${revs[1]} success=1;upgrade ${revs[2]} success=1;upgrade ${revs[3]} success=1;upgrade ${revs[4]} success=1;"
    applied=$(cat "$tmp"/out.* | grep -c "Running upgrade  -> ${revs[0]}")
    check_eq "round $round: one process ran the first revision" "$applied" 1
done
waited=$(cat "$tmp"/out.* | grep -c "Waiting for the migration lock" || true)
echo "# the last round logged $waited waits for the lock"
finish
