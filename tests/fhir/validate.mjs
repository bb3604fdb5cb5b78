// Validates FHIR R4 bundles written by GET /api/v1/persons/{id}/fhir: the
// fhir package (FHIR.js) checks each resource against the R4 structure
// definitions (cardinality, data types, required value sets, unexpected
// members), and this script adds what FHIR.js leaves out for a bundle of
// type collection: fullUrls are unique urn:uuid values, every reference
// resolves to an entry of the same bundle and names a resource of the
// expected type, and there is exactly one Patient. Usage: node validate.mjs
// BUNDLE.json...; prints one JSON line per file; exit status 1 when any
// file fails.
import { readFileSync } from 'node:fs';
import fhirPackage from 'fhir';

const { Fhir } = fhirPackage;
const fhir = new Fhir();
const UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// Where each reference must point.
const TARGETS = {
    subject: 'Patient',
    medicationReference: 'Medication',
};

function references(node, path, out) {
    if (Array.isArray(node)) {
        node.forEach((v, i) => references(v, `${path}[${i}]`, out));
    } else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
            if (v && typeof v === 'object' && !Array.isArray(v) && typeof v.reference === 'string') {
                out.push({ member: k, path: `${path}.${k}`, reference: v.reference });
            }
            references(v, `${path}.${k}`, out);
        }
    }
}

function check(file) {
    const errors = [];
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    const result = fhir.validate(bundle, { errorOnUnexpected: true });
    for (const m of result.messages || []) {
        if (m.severity === 'error') errors.push(`${m.resourceId || ''} ${m.location}: ${m.message}`);
    }
    if (!result.valid && errors.length === 0) errors.push('FHIR.js: not valid');
    if (bundle.resourceType !== 'Bundle') errors.push('not a Bundle');
    if (bundle.type !== 'collection') errors.push(`type ${bundle.type}, not collection`);
    const byUrl = new Map();
    const counts = {};
    (bundle.entry || []).forEach((e, i) => {
        const type = e.resource && e.resource.resourceType;
        counts[type] = (counts[type] || 0) + 1;
        if (!UUID.test(e.fullUrl || '')) errors.push(`entry[${i}].fullUrl ${e.fullUrl} is not a urn:uuid`);
        if (byUrl.has(e.fullUrl)) errors.push(`entry[${i}].fullUrl ${e.fullUrl} repeats`);
        byUrl.set(e.fullUrl, type);
    });
    if (counts.Patient !== 1) errors.push(`${counts.Patient || 0} Patient resources`);
    const refs = [];
    (bundle.entry || []).forEach((e, i) => references(e.resource, `entry[${i}].resource`, refs));
    for (const r of refs) {
        if (!byUrl.has(r.reference)) errors.push(`${r.path}: ${r.reference} does not resolve in the bundle`);
        else if (TARGETS[r.member] && byUrl.get(r.reference) !== TARGETS[r.member]) {
            errors.push(`${r.path}: points to a ${byUrl.get(r.reference)}, not a ${TARGETS[r.member]}`);
        }
    }
    return { file, valid: errors.length === 0, errors: errors.slice(0, 20), entries: byUrl.size, references: refs.length, counts };
}

let bad = 0;
for (const file of process.argv.slice(2)) {
    let r;
    try {
        r = check(file);
    } catch (e) {
        r = { file, valid: false, errors: [String(e)] };
    }
    if (!r.valid) bad++;
    console.log(JSON.stringify(r));
}
process.exit(bad ? 1 : 0);
