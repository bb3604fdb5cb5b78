#!/usr/bin/env bash
# Installs what building, running or testing meditrack needs, from Debian 12's
# archive, when it is missing. Usage: setup.sh build | test
set -euo pipefail
what=${1:-build}
pkgs=(build-essential meson ninja-build pkg-config libjansson-dev
      libsqlite3-dev libpq-dev libmariadb-dev libcairo2-dev libpango1.0-dev libsodium-dev
      libgnutls28-dev libcurl4-gnutls-dev tzdata
      fonts-dejavu-core fonts-droid-fallback)
if [[ $what == test ]]; then
    pkgs+=(clang libclang-rt-14-dev postgresql mariadb-server mariadb-client sqlite3
           python3 curl wrk poppler-utils chromium openssl
           python3-aiosmtpd)
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql and mariadb-server packages start system services; the
# tests use their own throw-away servers, so those are left as they are.
