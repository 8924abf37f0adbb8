// Every Bundle that the mappings make of a corpus (written as NDJSON by
// tests/corpus/corpus_mapping_test.cpp for HL7 v2, kith_corpus_mapping_test.cpp for the KITH
// samples when HELSEBRO_CORPUS_FAMILY=kith) through the dev FHIR server's validator (Medplum), entry
// by entry, as the server checks a transaction. The failures, by file, message, resourceType and
// FHIR path, must be exactly those listed and explained in tests/corpus/<family>-bundle-exceptions.tsv.
//
// After a deliberate change, UPDATE_CORPUS_EXPECTATIONS=1 rewrites the file, keeping the
// explanations of lines that stay; new lines get an empty explanation, which fails until written.
// Skips when the NDJSON is absent (no corpus beside the source tree).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validate } from '../../tools/dev-fhir-server/validation.mjs';

const sourceDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const family = process.env.HELSEBRO_CORPUS_FAMILY === 'kith' ? 'kith' : 'hl7v2';
const corpusName = family === 'kith' ? 'KITH e-message samples' : 'HL7 v2 corpus';
const mappingTest = family === 'kith' ? 'kith_corpus_mapping_test.cpp' : 'corpus_mapping_test.cpp';
const bundlesFile = process.env.HELSEBRO_CORPUS_BUNDLES ||
  join(sourceDir, 'build', 'tests', family === 'kith' ? 'corpus-kith-bundles.ndjson' : 'corpus-bundles.ndjson');
const exceptionsFile = join(sourceDir, 'tests', 'corpus', `${family}-bundle-exceptions.tsv`);
const update = process.env.UPDATE_CORPUS_EXPECTATIONS === '1';

const header = `# Entries of Bundles made from the ${corpusName} that the dev FHIR server's validator (Medplum)
# refuses (tests/corpus/corpus_bundles.test.mjs; the Bundles come from ${mappingTest}).
# One line per file, message, resourceType and FHIR path; the explanation says why it is accepted.
# Regenerate: UPDATE_CORPUS_EXPECTATIONS=1${family === 'kith' ? ' HELSEBRO_CORPUS_FAMILY=kith' : ''} node --test tests/corpus/corpus_bundles.test.mjs
# (after the mapping test has written the Bundles); then explain every new line.
# file\tmessage (1-based)\tresourceType\tFHIR path\texplanation
`;

// A validator's text may quote values of the message: show only its shape.
const redact = (text) => String(text ?? '').replace(/"[^"]*"|'[^']*'/g, '"…"');

/** Failures of every entry resource: Map key "file\tmessage\ttype\tpath" -> [issue texts]. */
function failures(lines) {
  const out = new Map();
  for (const { file, message, bundle } of lines) {
    for (const entry of bundle.entry ?? []) {
      const type = entry.resource?.resourceType ?? '';
      for (const issue of validate(entry.resource)) {
        const path = issue.expression?.[0] ?? type;
        const key = [file, message, type, path].join('\t');
        if (!out.has(key)) {
          out.set(key, []);
        }
        out.get(key).push(`${issue.code}: ${redact(issue.details?.text ?? issue.diagnostics)}`);
      }
    }
  }
  return out;
}

/**
 * The NDJSON lines; a Bundle that is not JSON at all (the gateway would send it so) becomes a
 * failure of path "(not JSON)", found by the line's head, which the C++ test writes before it.
 */
function readBundles() {
  const lines = [];
  const notJson = new Map();
  for (const text of readFileSync(bundlesFile, 'utf8').split('\n')) {
    if (text === '') {
      continue;
    }
    try {
      lines.push(JSON.parse(text));
    } catch (err) {
      const { file, message } = JSON.parse(text.slice(0, text.indexOf(',"bundle":')) + '}');
      notJson.set([file, message, 'Bundle', '(not JSON)'].join('\t'), [redact(err.message)]);
    }
  }
  return { lines, notJson };
}

/** The checked-in exceptions: Map key -> explanation. */
function readExceptions() {
  const out = new Map();
  if (!existsSync(exceptionsFile)) {
    return out;
  }
  for (const line of readFileSync(exceptionsFile, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const cols = line.split('\t');
    out.set(cols.slice(0, 4).join('\t'), cols.slice(4).join('\t').trim());
  }
  return out;
}

describe(`${corpusName}: Bundles against the dev FHIR server validator`, () => {
  const present = existsSync(bundlesFile);
  it(`fails exactly where tests/corpus/${family}-bundle-exceptions.tsv says, each explained`, { skip: present ? false : `no ${bundlesFile} (no corpus)` }, () => {
    const { lines, notJson } = readBundles();
    assert.ok(lines.length + notJson.size > 0, `${bundlesFile} holds no Bundle`);
    for (const { bundle } of lines) {
      assert.equal(bundle?.resourceType, 'Bundle');
    }
    const actual = new Map([...notJson, ...failures(lines)]);
    const failing = new Set([...actual.keys()].map((k) => k.split('\t').slice(0, 2).join('\t')));
    console.log(`corpus bundles: ${lines.length} Bundles, ${failing.size} with entries Medplum refuses, ${actual.size} failures`);
    const expected = readExceptions();
    if (update) {
      const body = [...actual.keys()].sort().map((k) => `${k}\t${expected.get(k) ?? ''}\n`).join('');
      writeFileSync(exceptionsFile, header + body);
      console.log(`corpus bundles: rewrote ${exceptionsFile}`);
      return;
    }
    const gone = [...expected.keys()].filter((k) => !actual.has(k)).map((k) => `- ${k}`);
    const added = [...actual.keys()].filter((k) => !expected.has(k)).map((k) => `+ ${k}\t${actual.get(k).join('; ')}`);
    assert.deepEqual([...gone, ...added], [], `Medplum's failures differ from ${exceptionsFile} (- listed but gone, + new):\n${[...gone, ...added].join('\n')}`);
    const unexplained = [...expected].filter(([, why]) => why === '').map(([k]) => k);
    assert.deepEqual(unexplained, [], `explain these lines of ${exceptionsFile}`);
  });
});
