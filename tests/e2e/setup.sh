#!/usr/bin/env bash
# Installs what the browser tests need and nothing else: Debian's chromium
# (also listed in scripts/setup.sh test) and the npm packages pinned in
# package-lock.json (playwright-core, axe-core) into tests/e2e/node_modules.
# playwright-core downloads no browser; the tests drive /usr/bin/chromium.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [[ ! -x /usr/bin/chromium ]]; then
    echo "e2e setup: installing Debian's chromium"
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "e2e setup: node and npm are needed (Node.js 20 or newer)" >&2
    exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 20)); then
    echo "e2e setup: Node.js $(node --version) is too old; playwright-core needs 20 or newer" >&2
    exit 1
fi
# Reinstall only when the lock file changed since the last install.
stamp=$here/node_modules/.meditrack-lock
if [[ -f $stamp ]] && cmp -s "$stamp" "$here/package-lock.json" &&
    [[ -d $here/node_modules/playwright-core && -d $here/node_modules/axe-core ]]; then
    exit 0
fi
echo "e2e setup: npm ci in tests/e2e"
cd "$here"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
cp package-lock.json "$stamp"
