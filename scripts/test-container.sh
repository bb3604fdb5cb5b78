#!/usr/bin/env bash
# The container test behind `make test-container` (also run by .ci/run): builds
# the real Dockerfile with `podman build --isolation chroot`, then starts the
# image's entrypoint and command as the image's user from its mounted root
# filesystem (podman mount + chroot --userspec; `podman run` is not available
# on the test machines) against a fresh SQLite volume and against throw-away
# PostgreSQL and MariaDB servers, and checks the start-up log, GET /health,
# GET /api/v1/persons/ and the image's HEALTHCHECK. Then it plays the
# deployment process of docs/docker.md: a second image with one more
# revision replaces the first on the same data, which must be migrated with
# every row kept. Ends with "N passed, N failed".
#
# Needs root (mounts, chroot). Installs podman, debootstrap and curl when
# missing. When no debian:bookworm-slim image exists it makes one with
# debootstrap from the Debian archive (MT_DEBIAN_MIRROR).
# Environment: MT_CONTAINER_KEEP=1 keeps the work directory and the two
# images for inspection.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mirror=${MT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_image=debian:bookworm-slim
tag=localhost/meditrack-container-test

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
die() { echo "test-container: $*" >&2; bad "$*"; echo "$passed passed, $failed failed"; exit 1; }

if [[ $(id -u) -ne 0 ]]; then die "must run as root (podman storage, mounts, chroot)"; fi

# ---------------------------------------------------------------------------
# Tools and the base image
# ---------------------------------------------------------------------------
need=()
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
    echo "== installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        die "cannot install ${need[*]}"
fi

work=$(mktemp -d /tmp/meditrack-container.XXXXXX)
chmod 755 "$work"
pids=()          # processes this script started
containers=()    # podman containers created (for their mounted root fs)
binds=()         # mount points to undo, innermost last
servers_dir=""

cleanup() {
    local i
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    for ((i = ${#binds[@]} - 1; i >= 0; i--)); do umount -l "${binds[$i]}" 2>/dev/null; done
    for c in "${containers[@]}"; do
        podman umount "$c" >/dev/null 2>&1
        podman rm -f "$c" >/dev/null 2>&1
    done
    if [[ -n $servers_dir ]]; then
        MT_TEST_PG_PORT=$pg_port MT_TEST_MY_PORT=$my_port scripts/test-servers.sh stop "$servers_dir" >/dev/null 2>&1
    fi
    if [[ ${MT_CONTAINER_KEEP:-0} == 1 ]]; then
        echo "kept $work and the images $tag:v1, $tag:v2"
    else
        rm -rf "$work"
        podman rmi -f "$tag:v1" "$tag:v2" >/dev/null 2>&1
    fi
}
trap cleanup EXIT
trap 'echo interrupted; exit 130' INT TERM

if ! podman image exists "$base_image"; then
    echo "== no $base_image image: making one with debootstrap --variant=minbase bookworm"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -n 20 "$work/debootstrap.log"; die "debootstrap failed"; }
    # Like the official slim image: no package lists or caches in the layer.
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    # The archive this machine reaches may be a dated snapshot; apt in the
    # image must accept its Release files as the host's apt does.
    printf 'Acquire::Check-Valid-Until "false";\n' >"$work/rootfs/etc/apt/apt.conf.d/99snapshot"
    tar -C "$work/rootfs" -c . | podman import --change 'CMD ["bash"]' - "$base_image" >/dev/null ||
        die "podman import failed"
    rm -rf "$work/rootfs"
fi
ok "base image $base_image present"

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# build IMAGE CONTEXT: the real Dockerfile, chroot isolation, docker format
# (the OCI format has no HEALTHCHECK).
build() {
    local image=$1 ctx=$2 log="$work/build-${1##*:}.log" t0=$SECONDS
    echo "== podman build $image (log: $log)"
    if podman build --isolation chroot --pull=never --format docker -t "$image" -f "$ctx/Dockerfile" "$ctx" >"$log" 2>&1; then
        ok "podman build $image ($((SECONDS - t0)) s)"
    else
        tail -n 40 "$log"
        die "podman build $image failed"
    fi
}

# image_json IMAGE EXPR: a value of `podman image inspect`, via Python.
image_json() {
    podman image inspect "$1" | python3 -c "import json,sys; d=json.load(sys.stdin)[0]; c=d['Config']; v=$2; print(json.dumps(v) if not isinstance(v,str) else v)"
}

# The image's environment as NAME=VALUE lines.
image_env() { podman image inspect "$1" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)[0]["Config"].get("Env") or []))'; }

# mount_image IMAGE NAME DATA_DIR: a container's root fs, with /proc, /dev and
# the data volume mounted; prints the mount point.
mount_image() {
    local image=$1 name=$2 data=$3 c m
    c=$(podman create --name "$name" "$image" 2>>"$work/podman.log") || return 1
    containers+=("$c")
    m=$(podman mount "$c") || return 1
    mount -t proc proc "$m/proc" && binds+=("$m/proc")
    mount --bind /dev "$m/dev" && binds+=("$m/dev")
    if [[ -n $data ]]; then mount --bind "$data" "$m/app/data" && binds+=("$m/app/data"); fi
    echo "$m"
}

# in_image MNT USER ENV... -- CMD...: runs CMD inside the image's root fs as
# USER with exactly the image's environment plus ENV, in the image's WORKDIR.
in_image() {
    local mnt=$1 user=$2; shift 2
    local envs=() wd
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    wd=$(image_json "$image_under_test" "c.get('WorkingDir') or '/'")
    mapfile -t base_env < <(image_env "$image_under_test")
    env -i "${base_env[@]}" "${envs[@]}" chroot --userspec="$user" "$mnt" \
        /bin/sh -c 'cd "$0" && exec "$@"' "$wd" "$@"
}

# start_image MNT LOG ENV...: the image's ENTRYPOINT + CMD as the image's
# USER, in the background; sets started_pid. setsid, env and chroot each exec
# the next program, so started_pid ends up being the server itself and gets
# the signals, as PID 1 of a container would.
start_image() {
    local mnt=$1 log=$2; shift 2
    local user wd ep cmd base_env
    user=$(image_json "$image_under_test" "c.get('User') or '0:0'")
    [[ $user == *:* ]] || user="$user:$user"
    wd=$(image_json "$image_under_test" "c.get('WorkingDir') or '/'")
    mapfile -t ep < <(image_json "$image_under_test" "'\\n'.join(c.get('Entrypoint') or [])")
    mapfile -t cmd < <(image_json "$image_under_test" "'\\n'.join(c.get('Cmd') or [])")
    mapfile -t base_env < <(image_env "$image_under_test")
    setsid env -i "${base_env[@]}" "$@" chroot --userspec="$user" "$mnt" \
        /bin/sh -c 'cd "$0" && exec "$@"' "$wd" "${ep[@]}" "${cmd[@]}" >"$log" 2>&1 &
    started_pid=$!
    pids+=("$started_pid")
}

# wait_health PORT PID: until GET /health answers 200 (60 s), or the process died.
wait_health() {
    local port=$1 pid=$2 code
    for _ in $(seq 1 600); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" 2>/dev/null)
        [[ $code == 200 ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop_process PID: SIGTERM, then the exit status (143 when it had to be killed).
stop_process() {
    local pid=$1 rc
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    local keep=()
    for p in "${pids[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    pids=("${keep[@]}")
    return $rc
}

# log_in_order LOG LINE...: every line occurs, in this order.
log_in_order() {
    python3 - "$@" <<'EOF'
import sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
pos = 0
for want in sys.argv[2:]:
    for i in range(pos, len(log)):
        if want in log[i]:
            pos = i + 1
            break
    else:
        print(f"  missing (in this order): {want!r}")
        sys.exit(1)
EOF
}

# umount_image MNT: undoes mount_image's mounts under MNT (the container stays
# until cleanup).
umount_image() {
    local mnt=$1 keep=() i
    for ((i = ${#binds[@]} - 1; i >= 0; i--)); do
        if [[ ${binds[$i]} == "$mnt"/* ]]; then umount "${binds[$i]}" 2>/dev/null || umount -l "${binds[$i]}"; fi
    done
    for b in "${binds[@]}"; do [[ $b == "$mnt"/* ]] || keep+=("$b"); done
    binds=("${keep[@]}")
}

# The image keeps its default, AUTH=on: the API calls carry the token of an
# administrator made with the CLI in the image (auth_hdr, set per dialect).
auth_hdr=()
http_get() { curl -s -w '\n%{http_code}' "${auth_hdr[@]}" "http://127.0.0.1:$1$2"; }
http_post() { curl -s -w '\n%{http_code}' "${auth_hdr[@]}" -H 'Content-Type: application/json' -d "$3" "http://127.0.0.1:$1$2"; }
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# dump_rows DIALECT URL: the rows of the three MediTrack tables, in id order,
# straight from the database (not through the API under test).
dump_rows() {
    local dialect=$1 url=$2 t
    for t in persons medications doses; do
        echo "-- $t"
        case $dialect in
        # As uid 1000: a WAL side file created by root would lock the server out.
        sqlite) setpriv --reuid=1000 --regid=1000 --clear-groups sqlite3 "${url#sqlite:///}" "SELECT * FROM $t ORDER BY id" ;;
        postgresql) psql "$url" -qAt -c "SELECT * FROM $t ORDER BY id" ;;
        mysql)
            local rest=${url#mysql://} cred hp
            cred=${rest%%@*}; hp=${rest#*@}
            MYSQL_PWD=${cred#*:} mariadb --no-defaults -N -h "${hp%%:*}" -P "$(echo "${hp#*:}" | cut -d/ -f1)" \
                -u "${cred%%:*}" "${hp#*/}" -e "SELECT * FROM $t ORDER BY id" ;;
        esac
    done
}

# ---------------------------------------------------------------------------
# 1. Build the image from this tree
# ---------------------------------------------------------------------------
build "$tag:v1" "$root"
image_under_test="$tag:v1"

check "image runs as uid 1000" test "$(image_json "$tag:v1" "c.get('User')")" = "1000:1000"
check "image exposes 8000/tcp" grep -q '8000/tcp' <<<"$(image_json "$tag:v1" "c.get('ExposedPorts')")"
check "image declares the /app/data volume" grep -q '/app/data' <<<"$(image_json "$tag:v1" "c.get('Volumes')")"
check "image working directory is /app" test "$(image_json "$tag:v1" "c.get('WorkingDir')")" = "/app"
check "entrypoint is docker-entrypoint.sh" grep -q 'docker-entrypoint.sh' <<<"$(image_json "$tag:v1" "c.get('Entrypoint')")"
check "default command is meditrack serve" test "$(image_json "$tag:v1" "' '.join(c.get('Cmd') or [])")" = "meditrack serve"
check "HEALTHCHECK uses the binary, not curl" grep -q '"meditrack", "healthcheck"' \
    <<<"$(image_json "$tag:v1" "d.get('Healthcheck')")"

probe=$(mount_image "$tag:v1" "mt-probe-$$" "") || die "podman mount failed"
check "runtime stage has no compiler" test ! -e "$probe/usr/bin/cc" -a ! -e "$probe/usr/bin/gcc"
check "runtime stage has no curl" test ! -e "$probe/usr/bin/curl"
check "binary at /usr/local/bin/meditrack" test -x "$probe/usr/local/bin/meditrack"
check "alembic is a symlink to the binary" test "$(readlink "$probe/usr/local/bin/alembic")" = meditrack
check "entrypoint is executable" test -x "$probe/usr/local/bin/docker-entrypoint.sh"
# The web UI is compiled into the binary: no copy of web/ and no STATIC_DIR.
check "image has no /app/static (the UI is in the binary)" test ! -e "$probe/app/static"
check "image sets no STATIC_DIR" bash -c '! grep -q "^STATIC_DIR=" <<<"$1"' _ "$(image_env "$tag:v1")"
check "/app/data belongs to uid 1000" test "$(stat -c %u "$probe/app/data")" = 1000
ver=$(in_image "$probe" 1000:1000 -- meditrack --version 2>&1)
check "meditrack --version in the image ($ver)" grep -q '^meditrack ' <<<"$ver"
umount_image "$probe"

# ---------------------------------------------------------------------------
# 2. A second image with one more revision (the deployment process)
# ---------------------------------------------------------------------------
src2="$work/src-v2"
mkdir -p "$src2"
tar -C "$root" --exclude='./build' --exclude='./build-*' --exclude='./.git' --exclude='node_modules' \
    --exclude='./data' -cf - . | tar -C "$src2" -xf -
probe=$(mount_image "$tag:v1" "mt-scaffold-$$" "") || die "podman mount failed"
mkdir -p "$probe/tmp/migrations"
mount --bind "$src2/migrations" "$probe/tmp/migrations" && binds+=("$probe/tmp/migrations")
scaffold=$(in_image "$probe" 0:0 MIGRATIONS_DIR=/tmp/migrations DATABASE_URL=sqlite:////tmp/scaffold.db -- \
    meditrack db revision -m "container test marker table" 2>&1)
umount_image "$probe"
newdir=$(find "$src2/migrations" -maxdepth 1 -type d -name '*container_test_marker*' | head -n 1)
if [[ -z $newdir ]]; then echo "$scaffold"; die "meditrack db revision did not create a revision"; fi
new_rev=$(basename "$newdir"); new_rev=${new_rev%%_*}
for d in sqlite postgresql mysql; do
    echo "CREATE TABLE container_test_marker (id INTEGER PRIMARY KEY, note VARCHAR(40))" >"$newdir/up.$d.sql"
    echo "DROP TABLE container_test_marker" >"$newdir/down.$d.sql"
done
ok "scaffolded revision $new_rev with \`meditrack db revision -m\` in the image"
build "$tag:v2" "$src2"
image_under_test="$tag:v2"
probe=$(mount_image "$tag:v2" "mt-probe2-$$" "") || die "podman mount failed"
heads=$(in_image "$probe" 1000:1000 -- alembic heads 2>&1)
umount_image "$probe"
check "second image's head is the new revision $new_rev" grep -q "$new_rev" <<<"$heads"
image_under_test="$tag:v1"
probe=$(mount_image "$tag:v1" "mt-probe3-$$" "") || die "podman mount failed"
old_head=$(in_image "$probe" 1000:1000 -- alembic heads 2>&1 | grep -oE '[0-9a-f]{12}' | head -n 1)
umount_image "$probe"
check "first image's head ($old_head) differs" test -n "$old_head" -a "$old_head" != "$new_rev"

# ---------------------------------------------------------------------------
# 3. Database servers for the PostgreSQL and MariaDB runs
# ---------------------------------------------------------------------------
pg_port=$(free_port)
my_port=$(free_port)
servers_dir="$work/servers"
echo "== starting PostgreSQL ($pg_port) and MariaDB ($my_port) under $servers_dir"
MT_TEST_PG_PORT=$pg_port MT_TEST_MY_PORT=$my_port scripts/test-servers.sh start "$servers_dir" >"$work/servers.log" 2>&1 ||
    { cat "$work/servers.log"; die "cannot start the database servers"; }
eval "$(MT_TEST_PG_PORT=$pg_port MT_TEST_MY_PORT=$my_port scripts/test-servers.sh env "$servers_dir" | sed 's/^/export /')"
export MT_TEST_TMP="$work"

start_lines=("=== MediTrack Backend Initialization ===" "Waiting for database to be ready..."
    "Database is ready!" "Running database migrations..." "Current migration status:"
    "Applying migrations..." "Migrations completed successfully!"
    "Checking if initial data seeding is needed..." "Initial data seeding completed (if needed)"
    "=== Initialization Complete ===" "Starting application server...")

# ---------------------------------------------------------------------------
# 4. Per database: first image on a fresh database, data, second image
# ---------------------------------------------------------------------------
for dialect in sqlite postgresql mysql; do
    echo "== $dialect"
    data="$work/data-$dialect"
    mkdir -p "$data"
    chown 1000:1000 "$data"
    case $dialect in
    sqlite) url="sqlite:////app/data/meditrack.db"; host_url="sqlite:///$data/meditrack.db" ;;
    *) url=$(MT_TEST_DIALECT=$dialect tests/lib/fresh-db container) || die "fresh-db $dialect failed"; host_url=$url ;;
    esac
    port=$(free_port)

    # -- first image, fresh database
    image_under_test="$tag:v1"
    mnt=$(mount_image "$tag:v1" "mt-$dialect-v1-$$" "$data") || die "podman mount failed"
    log="$work/$dialect-v1.log"
    start_image "$mnt" "$log" PORT="$port" DATABASE_URL="$url"
    pid=$started_pid
    if wait_health "$port" "$pid"; then ok "$dialect v1: GET /health 200 after the start-up sequence"; else
        tail -n 30 "$log"; bad "$dialect v1: never healthy"; fi
    check "$dialect v1: start-up log lines in order" log_in_order "$log" "${start_lines[@]}"
    check "$dialect v1: every revision applied up to $old_head" log_in_order "$log" "Running upgrade" "-> $old_head"
    check "$dialect v1: password not in the log" bash -c "! grep -q 'meditrack-test-pw' '$log'"
    hc=$(in_image "$mnt" 1000:1000 PORT="$port" DATABASE_URL="$url" -- meditrack healthcheck 2>&1)
    check "$dialect v1: the image's HEALTHCHECK command passes ($hc)" test $? -eq 0
    # Access control is on in the image: the first start offers a setup
    # token, the API refuses anonymous calls, and an administrator made with
    # the CLI gets a token for the calls below.
    check "$dialect v1: first start logs a setup token" grep -q 'first run: no account exists' "$log"
    r=$(http_get "$port" /api/v1/persons/)
    check "$dialect v1: anonymous GET /api/v1/persons/ 401" test "$(status_of "$r")" = 401
    printf 'container-admin-pw\n' | in_image "$mnt" 1000:1000 DATABASE_URL="$url" -- \
        meditrack user add admin --role admin --password-stdin >"$work/user-$dialect.log" 2>&1
    check "$dialect v1: meditrack user add in the image" test $? -eq 0
    token=$(in_image "$mnt" 1000:1000 DATABASE_URL="$url" -- \
        meditrack token create --user admin --scope admin --name container 2>>"$work/user-$dialect.log")
    check "$dialect v1: meditrack token create in the image" test -n "$token"
    auth_hdr=(-H "Authorization: Bearer $token")
    r=$(http_get "$port" /)
    check "$dialect v1: GET / 200, the web UI embedded in the binary" \
        test "$(status_of "$r")" = 200 -a "$(body_of "$r")" = "$(cat "$root/web/index.html")"
    r=$(http_get "$port" /api/v1/persons/)
    check "$dialect v1: GET /api/v1/persons/ 200 with the seeded default person" \
        test "$(status_of "$r")" = 200 -a "$(body_of "$r" | json_get 'len(d)' 2>/dev/null)" = 1
    r=$(http_post "$port" /api/v1/persons/ '{"first_name":"Zoë","last_name":"O'"'"'Brien"}')
    pid2=$(body_of "$r" | json_get 'd["id"]' 2>/dev/null)
    check "$dialect v1: POST /api/v1/persons/ 201" test "$(status_of "$r")" = 201
    r=$(http_post "$port" /api/v1/medications/ "{\"person_id\":${pid2:-0},\"name\":\"Aspirin\",\"dosage\":\"100 mg\",\"frequency\":\"daily\",\"max_doses_per_day\":2}")
    med=$(body_of "$r" | json_get 'd["id"]' 2>/dev/null)
    check "$dialect v1: POST /api/v1/medications/ 201" test "$(status_of "$r")" = 201
    r=$(curl -s -w '\n%{http_code}' "${auth_hdr[@]}" -X POST "http://127.0.0.1:$port/api/v1/doses/medications/${med:-0}/dose")
    check "$dialect v1: POST a dose 201" test "$(status_of "$r")" = 201
    # The printable form exercises cairo, pango and the fonts of the runtime stage.
    curl -s -o "$work/form-$dialect.pdf" -w '%{http_code}' "${auth_hdr[@]}" \
        "http://127.0.0.1:$port/api/v1/reports/medications/pdf/$(date -u +%F)?person_id=${pid2:-0}" >"$work/form.status"
    check "$dialect v1: GET the PDF tracking form 200, a PDF" \
        test "$(cat "$work/form.status"):$(head -c 5 "$work/form-$dialect.pdf")" = "200:%PDF-"
    check "$dialect v1: the font cache is valid for the image user" bash -c "! grep -q 'Fontconfig error' '$log'"
    before_api=$(body_of "$(http_get "$port" /api/v1/persons/)")
    before_rows=$(dump_rows "$dialect" "$host_url")
    current=$(in_image "$mnt" 1000:1000 PORT="$port" DATABASE_URL="$url" -- alembic current 2>&1)
    check "$dialect v1: \`alembic current\` in the image says $old_head" grep -q "$old_head" <<<"$current"
    stop_process "$pid"
    check "$dialect v1: SIGTERM stops the server cleanly (exit $?)" test $? -eq 0
    umount_image "$mnt"

    # -- deployment: the second image on the same data
    image_under_test="$tag:v2"
    mnt=$(mount_image "$tag:v2" "mt-$dialect-v2-$$" "$data") || die "podman mount failed"
    log="$work/$dialect-v2.log"
    start_image "$mnt" "$log" PORT="$port" DATABASE_URL="$url" LOG_FORMAT=json
    pid=$started_pid
    if wait_health "$port" "$pid"; then ok "$dialect v2: GET /health 200 after the upgrade"; else
        tail -n 30 "$log"; bad "$dialect v2: never healthy"; fi
    check "$dialect v2: JSON log, one object per line" python3 -c "
import json,sys
for l in open('$log'):
    if l.strip(): json.loads(l)"
    check "$dialect v2: upgraded $old_head -> $new_rev" log_in_order "$log" \
        "Current migration status: $old_head" "Running upgrade $old_head -> $new_rev" "Migrations completed successfully!"
    check "$dialect v2: nothing re-seeded" log_in_order "$log" "Nothing to seed"
    after_api=$(body_of "$(http_get "$port" /api/v1/persons/)")
    after_rows=$(dump_rows "$dialect" "$host_url")
    check "$dialect v2: every row kept (database)" test "$before_rows" = "$after_rows"
    check "$dialect v2: same persons through the API" test "$before_api" = "$after_api"
    check "$dialect v2: rows were there to keep" test "$(grep -c . <<<"$before_rows")" -ge 6
    current=$(in_image "$mnt" 1000:1000 PORT="$port" DATABASE_URL="$url" -- alembic current 2>&1)
    check "$dialect v2: \`alembic current\` says $new_rev" grep -q "$new_rev" <<<"$current"
    stop_process "$pid"
    check "$dialect v2: SIGTERM stops the server cleanly" test $? -eq 0
    # Rollback as documented: the newer image downgrades one step, then the
    # older image starts on the data again.
    out=$(in_image "$mnt" 1000:1000 DATABASE_URL="$url" -- alembic downgrade -1 2>&1)
    check "$dialect: rollback \`alembic downgrade -1\` with the new image" test $? -eq 0
    umount_image "$mnt"
    image_under_test="$tag:v1"
    mnt=$(mount_image "$tag:v1" "mt-$dialect-v1b-$$" "$data") || die "podman mount failed"
    log="$work/$dialect-v1b.log"
    start_image "$mnt" "$log" PORT="$port" DATABASE_URL="$url"
    pid=$started_pid
    if wait_health "$port" "$pid"; then ok "$dialect: the first image starts again after the rollback"; else
        tail -n 30 "$log"; bad "$dialect: first image does not start after the rollback"; fi
    check "$dialect: rows still there after the rollback" test "$before_rows" = "$(dump_rows "$dialect" "$host_url")"
    stop_process "$pid"
    umount_image "$mnt"
done

echo "$passed passed, $failed failed"
((failed == 0))
