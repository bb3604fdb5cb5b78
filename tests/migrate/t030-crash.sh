#!/usr/bin/env bash
# Crash safety: `db upgrade head` and `db downgrade base` are killed with
# SIGKILL at every crash point of the engine in turn (--crash-at N, a real
# kill -9 raised inside the process: before and after each statement, the
# version update and the commit), plus at random moments from outside.
# SQLite / PostgreSQL: afterwards the recorded revision always matches the
# schema and data exactly, with no half-applied revision. MariaDB: an
# interrupted revision is recorded with its progress, and the next run
# completes it; the history ends exact (each revision once, in order).
. "$(dirname "$0")/lib.sh"

# The schema and data the chain gives at each revision.
declare -A expect
ref=$(fresh t030ref)
expect[base]=$(schema "$ref")
for r in "${revs[@]}"; do
    mt "$ref" upgrade "$r"
    expect[$r]=$(schema "$ref")
done

pos_of() {
    local i
    for i in "${!revs[@]}"; do [[ ${revs[$i]} == "$1" ]] && { echo "$i"; return; }; done
    echo -1
}

# After a crash of a run going in direction $2 ("upgrade" or "downgrade").
verify() {
    local url=$1 dir=$2 label=$3 v state unfinished
    v=$(version "$url")
    state=${v:-base}
    unfinished=$(audit "$url" | grep -c 'success=-1')
    if [[ $dialect != mysql ]]; then
        check_eq "$label: no half-applied revision is recorded" "$unfinished" 0
        if [[ "$(schema "$url")" == "${expect[$state]}" ]]; then
            ok "$label: recorded revision $state matches the schema"
        else
            not_ok "$label: recorded revision $state does not match the schema"
        fi
    elif ((unfinished == 0)); then
        if [[ "$(schema "$url")" == "${expect[$state]}" ]]; then
            ok "$label: no run in progress and revision $state matches the schema"
        else
            not_ok "$label: revision $state does not match the schema and no run is recorded"
        fi
    else
        ok "$label: the interrupted step is recorded ($(audit "$url" | grep 'success=-1'))"
    fi
    local target=head want=$head_rev
    [[ $dir == downgrade ]] && target=base want=""
    mt "$url" "$dir" "$target"
    check_eq "$label: the next run completes" "$rc" 0
    [[ $rc == 0 ]] || echo "$err" | tail -n 3
    check_eq "$label: at the target afterwards" "$(version "$url")" "$want"
    check_eq "$label: schema at the target" "$(schema "$url")" "${expect[${want:-base}]}"
    local a ups downs
    a=$(audit "$url")
    ups=$(grep '^upgrade ' <<<"$a" | awk '$4 == "success=1" {print $3}' | tr '\n' ' ')
    check_eq "$label: each revision upgraded exactly once, in order" "$ups" "${revs[*]} "
    if [[ $dir == downgrade ]]; then
        downs=$(grep '^downgrade ' <<<"$a" | awk '$4 == "success=1" {print $2}' | tr '\n' ' ')
        local rev_order=""
        for ((i = ${#revs[@]} - 1; i >= 0; i--)); do rev_order+="${revs[$i]} "; done
        check_eq "$label: each revision downgraded exactly once, in order" "$downs" "$rev_order"
    fi
    check_eq "$label: nothing left unfinished" "$(grep -c 'success=-1' <<<"$a")" 0
}

runs=0
for dir in upgrade downgrade; do
    # Every point of an upgrade; MariaDB's downgrade has as many points again
    # (four per statement), of which every other one keeps the run short.
    stride=1
    [[ $dir == downgrade && $dialect == mysql ]] && stride=2
    n=1
    while ((n < 1000)); do
        url=$(fresh t030)
        if [[ $dir == downgrade ]]; then
            mt "$url" upgrade head
        fi
        target=head
        [[ $dir == downgrade ]] && target=base
        # (The braces keep bash's "Killed" notice out of the output.)
        { DATABASE_URL=$url "$MEDITRACK" db "$dir" "$target" --crash-at "$n" >/dev/null 2>"$tmp/crash.err"; } 2>/dev/null
        st=$?
        if ((st == 0)); then
            echo "# $dir: done after point $((n - 1)) (stride $stride)"
            check "$dir: the engine has crash points" test "$n" -gt 5
            break
        fi
        if ((st != 137)); then
            not_ok "$dir --crash-at $n: exited $st instead of being killed"
            tail -n 5 "$tmp/crash.err"
        fi
        runs=$((runs + 1))
        verify "$url" "$dir" "$dir killed at point $n"
        n=$((n + stride))
    done
done

# Kills from outside at random moments of a whole run.
url=$(fresh t030t)
t0=$(date +%s%N)
mt "$url" upgrade head
span=$((($(date +%s%N) - t0) / 1000000 + 20))
for i in $(seq 1 12); do
    url=$(fresh t030r)
    DATABASE_URL=$url "$MEDITRACK" db upgrade head >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' $((RANDOM % span % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    runs=$((runs + 1))
    verify "$url" upgrade "random kill $i"
done

echo "# $runs killed runs on $dialect"
check "at least 50 killed runs" test "$runs" -ge 50
finish
