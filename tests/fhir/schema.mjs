// Validates export documents (GET /api/v1/export, `meditrack export`)
// against docs/export-format.schema.json with ajv (JSON Schema 2020-12).
// Usage: node schema.mjs SCHEMA DOCUMENT...; prints one JSON line per
// document; exit status 1 when any fails.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';

const [schemaFile, ...files] = process.argv.slice(2);
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
let bad = 0;
for (const file of files) {
    const ok = validate(JSON.parse(readFileSync(file, 'utf8')));
    if (!ok) bad++;
    const errors = (validate.errors || []).slice(0, 10).map((e) => `${e.instancePath} ${e.message}`);
    console.log(JSON.stringify({ file, valid: ok, errors }));
}
process.exit(bad ? 1 : 0);
