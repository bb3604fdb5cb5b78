#!/usr/bin/env bash
# Installs what the FHIR validation needs and nothing else: the npm packages
# pinned in package-lock.json (the fhir package, FHIR.js, with the R4
# structure definitions it validates against, and ajv for the export
# document's JSON Schema) into tests/fhir/node_modules.
# Called by tests/fhir/t082-fhir-bundle.py; needs node and npm (Node.js 18+).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "fhir setup: node and npm are needed (Node.js 18 or newer)" >&2
    exit 1
fi
# Reinstall only when the lock file changed since the last install.
stamp=$here/node_modules/.meditrack-lock
if [[ -f $stamp ]] && cmp -s "$stamp" "$here/package-lock.json" &&
    [[ -d $here/node_modules/fhir && -d $here/node_modules/ajv ]]; then
    exit 0
fi
echo "fhir setup: npm ci in tests/fhir"
cd "$here"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
cp package-lock.json "$stamp"
