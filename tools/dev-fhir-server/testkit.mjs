// Test kit (used by test/*.test.mjs): starts server.mjs as a child process on a free port and offers small HTTP helpers.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'server.mjs');
export const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';

export async function startServer(extraArgs = []) {
  const child = spawn(process.execPath, ['--experimental-websocket', SERVER, '--port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderrLines = [];
  createInterface({ input: child.stderr }).on('line', (line) => stderrLines.push(line));
  const stdoutLines = [];
  const lines = createInterface({ input: child.stdout });
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 20 s: ' + stderrLines.join('\n'))), 20_000);
    lines.on('line', (line) => {
      stdoutLines.push(line);
      if (stdoutLines.length === 1) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code}): ${stderrLines.join('\n')}`));
    });
  });
  const info = await listening;
  const root = info.base.replace(/\/fhir$/, '');
  return {
    child,
    info,
    base: info.base,
    root,
    stderrLines,
    stdoutLines,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) {
        return { code: child.exitCode, signal: child.signalCode };
      }
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
}

export async function request(url, { method = 'GET', body, headers = {}, raw } = {}) {
  const init = { method, headers: { ...headers } };
  if (raw !== undefined) {
    init.body = raw;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] ??= 'application/fhir+json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function patient(value, extra = {}) {
  return { resourceType: 'Patient', identifier: [{ system: FNR, value }], ...extra };
}

/** Transaction: Patient (conditional create on its identifier) + Encounter whose subject is the Patient's urn:uuid. */
export function admitTransaction(value = '01010112345', patientExtra = {}) {
  const patientUrn = 'urn:uuid:6f1c2a52-3f0e-4d4e-9b1a-0c7e2d9a0001';
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: patientUrn,
        resource: patient(value, { name: [{ family: 'Nordmann', given: ['Ola'] }], gender: 'male', ...patientExtra }),
        request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${FNR}|${value}` },
      },
      {
        fullUrl: 'urn:uuid:6f1c2a52-3f0e-4d4e-9b1a-0c7e2d9a0002',
        resource: {
          resourceType: 'Encounter',
          status: 'in-progress',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
          subject: { reference: patientUrn },
        },
        request: { method: 'POST', url: 'Encounter' },
      },
    ],
  };
}

export function searchUrl(base, value) {
  return `${base}/Patient?identifier=${encodeURIComponent(`${FNR}|${value}`)}`;
}
