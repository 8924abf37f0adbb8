// Test hooks under /$test/ (arrivals, fail, delay, auth, reset), request log and shutdown.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { admitTransaction, FNR, patient, request, searchUrl, startServer } from '../testkit.mjs';

const hook = (srv, name, body) => request(`${srv.root}/$test/${name}`, { method: 'POST', body });

describe('dev FHIR server: test hooks', () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });
  beforeEach(async () => {
    assert.equal((await hook(srv, 'reset')).status, 200);
  });

  it('fail hook: next N writes get the status and Retry-After, nothing stored, then recovers', async () => {
    const set = await hook(srv, 'fail', { status: 503, count: 2, retryAfter: 2 });
    assert.equal(set.status, 200);
    for (let i = 0; i < 2; i++) {
      const r = await request(srv.base, { method: 'POST', body: admitTransaction() });
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '2');
      assert.equal(r.json.resourceType, 'OperationOutcome');
      // reads are not affected by the default scope ("writes")
      assert.equal((await request(`${srv.base}/Patient?_summary=count`)).json.total, 0);
    }
    const ok = await request(srv.base, { method: 'POST', body: admitTransaction() });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await request(searchUrl(srv.base, '01010112345'))).json.total, 1);
  });

  it('fail hook: a content rule fails only the writes whose body holds the text, every time', async () => {
    await hook(srv, 'fail', { status: 422, whenBodyContains: '"gender":"unknown"' });
    for (let i = 0; i < 3; i++) {
      const refused = await request(srv.base, { method: 'POST', body: admitTransaction('01010112345', { gender: 'unknown' }) });
      assert.equal(refused.status, 422);
    }
    const ok = await request(srv.base, { method: 'POST', body: admitTransaction('01010112345') });
    assert.equal(ok.status, 200, ok.text);
    const state = await hook(srv, 'fail', { status: 0 });
    assert.equal(state.json.fail, null);
    assert.equal((await hook(srv, 'fail', { status: 422, whenBodyContains: 7 })).status, 400);
  });

  it('fail hook: time window, custom body, scope "all", and clearing with status 0', async () => {
    await hook(srv, 'fail', { status: 429, seconds: 0.4, body: { custom: true } });
    const r1 = await request(`${srv.base}/Patient`, { method: 'POST', body: patient('1') });
    assert.equal(r1.status, 429);
    assert.deepEqual(r1.json, { custom: true });
    assert.equal(r1.headers.get('retry-after'), null);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await request(`${srv.base}/Patient`, { method: 'POST', body: patient('1') })).status, 201);

    await hook(srv, 'fail', { status: 500, scope: 'all' });
    assert.equal((await request(`${srv.base}/Patient`)).status, 500);
    assert.equal((await request(`${srv.base}/Patient`, { method: 'POST', body: patient('2') })).status, 500);
    await hook(srv, 'fail', { status: 0 });
    assert.equal((await request(`${srv.base}/Patient`)).status, 200);
  });

  it('arrivals: every write in arrival order with entries, identifiers and statuses, no content', async () => {
    await hook(srv, 'fail', { status: 503, count: 1, retryAfter: 1 });
    await request(srv.base, { method: 'POST', body: admitTransaction() }); // 503
    await request(srv.base, { method: 'POST', body: admitTransaction() }); // 200
    await request(`${srv.base}/Patient`, { method: 'POST', body: patient('08080812345', { gender: 'banana' }) }); // 422
    await request(`${srv.base}/Patient?_summary=count`); // reads are not recorded
    await request(`${srv.base}/Patient`, {
      method: 'POST',
      raw: 'not json',
      headers: { 'content-type': 'application/json' },
    }); // 400

    const a = await request(`${srv.root}/$test/arrivals`);
    assert.equal(a.status, 200);
    const arrivals = a.json;
    assert.deepEqual(
      arrivals.map((x) => [x.seq, x.method, x.path, x.status]),
      [
        [1, 'POST', '/fhir', 503],
        [2, 'POST', '/fhir', 200],
        [3, 'POST', '/fhir/Patient', 422],
        [4, 'POST', '/fhir/Patient', 400],
      ]
    );
    const tx = arrivals[1];
    assert.equal(tx.bundleType, 'transaction');
    assert.equal(tx.entries.length, 2);
    assert.deepEqual(tx.entries[0], {
      method: 'POST',
      url: 'Patient',
      fullUrl: 'urn:uuid:6f1c2a52-3f0e-4d4e-9b1a-0c7e2d9a0001',
      resourceType: 'Patient',
      ifNoneExist: `identifier=${FNR}|01010112345`,
      identifiers: [`${FNR}|01010112345`],
    });
    assert.equal(tx.entries[1].resourceType, 'Encounter');
    assert.deepEqual(arrivals[2].entries[0].identifiers, [`${FNR}|08080812345`]);
    assert.deepEqual(arrivals[3].entries[0].identifiers, []);
    const text = JSON.stringify(arrivals);
    assert.ok(!text.includes('Nordmann') && !text.includes('banana'), 'arrivals must not keep resource content');

    const since = await request(`${srv.root}/$test/arrivals?since=2`);
    assert.deepEqual(
      since.json.map((x) => x.seq),
      [3, 4]
    );
  });

  it('delay hook slows every FHIR request; 0 clears', async () => {
    await hook(srv, 'delay', { ms: 300 });
    let t = performance.now();
    assert.equal((await request(`${srv.base}/Patient`)).status, 200);
    assert.ok(performance.now() - t >= 290, 'request should take >= 300 ms');
    await hook(srv, 'delay', { ms: 0 });
    t = performance.now();
    await request(`${srv.base}/Patient`);
    assert.ok(performance.now() - t < 250);
  });

  it('auth hook: Bearer token required until cleared with null', async () => {
    await hook(srv, 'auth', { token: 'abc' });
    const denied = await request(`${srv.base}/Patient`);
    assert.equal(denied.status, 401);
    assert.equal(denied.json.resourceType, 'OperationOutcome');
    assert.equal((await request(`${srv.base}/Patient`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await request(`${srv.base}/Patient`, { headers: { authorization: 'Bearer abc' } })).status, 200);
    await hook(srv, 'auth', { token: null });
    assert.equal((await request(`${srv.base}/Patient`)).status, 200);
  });

  it('auth hook: added tokens expire, rejectNext refuses an accepted token once', async () => {
    const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });
    await hook(srv, 'auth', { add: 'short', expiresIn: 0.3 });
    await hook(srv, 'auth', { add: 'long' });
    assert.equal((await request(`${srv.base}/Patient`, bearer('short'))).status, 200);
    assert.equal((await request(`${srv.base}/Patient`, bearer('long'))).status, 200);
    await hook(srv, 'auth', { rejectNext: 1 });
    const revoked = await request(`${srv.base}/Patient`, bearer('long'));
    assert.equal(revoked.status, 401);
    assert.match(revoked.headers.get('www-authenticate'), /error="invalid_token"/);
    assert.equal((await request(`${srv.base}/Patient`, bearer('long'))).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal((await request(`${srv.base}/Patient`, bearer('short'))).status, 401, 'expired');
    assert.equal((await request(`${srv.base}/Patient`, bearer('long'))).status, 200);
    const refused = await request(srv.base, { method: 'POST', body: admitTransaction(), ...bearer('short') });
    assert.equal(refused.status, 401);
    const arrivals = (await request(`${srv.root}/$test/arrivals`)).json;
    assert.equal(arrivals.at(-1).status, 401, 'refused writes are recorded');
    assert.equal((await hook(srv, 'auth', { add: 5 })).status, 400);
    assert.equal((await hook(srv, 'auth', { add: 'x', expiresIn: -1 })).status, 400);
    assert.equal((await hook(srv, 'auth', { token: null })).status, 200);
    assert.equal((await hook(srv, 'auth', { rejectNext: 1 })).status, 400, 'nothing to reject without auth');
  });

  it('reset wipes data, arrivals and hooks', async () => {
    await request(srv.base, { method: 'POST', body: admitTransaction() });
    await hook(srv, 'fail', { status: 503 });
    await hook(srv, 'delay', { ms: 50 });
    await hook(srv, 'auth', { token: 'x' });
    const reset = await hook(srv, 'reset');
    assert.deepEqual(reset.json, { ok: true, fail: null, delayMs: 0, auth: false });
    assert.equal((await request(`${srv.base}/Patient?_summary=count`)).json.total, 0);
    assert.deepEqual((await request(`${srv.root}/$test/arrivals`)).json, []);
  });

  it('logs one JSON line per request on stderr, without query strings', async () => {
    await request(searchUrl(srv.base, '09090912345'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = srv.stderrLines.map((l) => JSON.parse(l));
    const last = lines.filter((l) => l.path === '/fhir/Patient').at(-1);
    assert.equal(last.method, 'GET');
    assert.equal(last.status, 200);
    assert.equal(typeof last.ms, 'number');
    assert.ok(!srv.stderrLines.join('\n').includes('09090912345'));
  });
});

describe('dev FHIR server: process', () => {
  it('exits 0 on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT']) {
      const srv = await startServer(['--quiet']);
      assert.equal((await request(`${srv.base}/metadata`)).status, 200);
      const t = performance.now();
      const { code } = await srv.stop(signal);
      assert.equal(code, 0, signal);
      assert.ok(performance.now() - t < 3000);
    }
  });
});
