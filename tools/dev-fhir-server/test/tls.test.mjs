// HTTPS mode (--tls-cert/--tls-key) and mutual TLS (--tls-client-ca), with a throwaway CA made
// by the openssl CLI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../testkit.mjs';

function openssl(...args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`. */
function makePki(dir) {
  const p = (name) => join(dir, name);
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=dev test CA', '-keyout', p('ca.key'), '-out', p('ca.pem'));
  for (const [name, ext] of [['server', 'subjectAltName=IP:127.0.0.1'], ['client', 'extendedKeyUsage=clientAuth']]) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`,
      '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
    writeFileSync(p(`${name}.ext`), ext + '\n');
    openssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-days', '1', '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`));
  }
  return p;
}

function get(url, options) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
}

describe('dev FHIR server: HTTPS', () => {
  let dir;
  let pki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dev-fhir-tls-'));
    pki = makePki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS with --tls-cert/--tls-key and says so in its base URL', async () => {
    const srv = await startServer(['--quiet', '--tls-cert', pki('server.pem'), '--tls-key', pki('server.key')]);
    try {
      assert.match(srv.base, /^https:\/\/127\.0\.0\.1:\d+\/fhir$/);
      assert.equal(await get(`${srv.base}/metadata`, { ca: readFileSync(pki('ca.pem')) }), 200);
      await assert.rejects(get(`${srv.base}/metadata`, {}), /unable to verify the first certificate/);
    } finally {
      await srv.stop();
    }
  });

  it('requires a client certificate signed by --tls-client-ca', async () => {
    const srv = await startServer(['--quiet', '--tls-cert', pki('server.pem'), '--tls-key', pki('server.key'),
      '--tls-client-ca', pki('ca.pem')]);
    try {
      const ca = readFileSync(pki('ca.pem'));
      const client = { ca, cert: readFileSync(pki('client.pem')), key: readFileSync(pki('client.key')) };
      assert.equal(await get(`${srv.base}/metadata`, client), 200);
      await assert.rejects(get(`${srv.base}/metadata`, { ca }));
    } finally {
      await srv.stop();
    }
  });
});
