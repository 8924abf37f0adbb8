// FHIR behaviour of the dev server: transactions, conditional create/update, search, validation.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { admitTransaction, FNR, patient, request, searchUrl, startServer } from '../testkit.mjs';

describe('dev FHIR server: FHIR API', () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });
  beforeEach(async () => {
    const r = await request(`${srv.root}/$test/reset`, { method: 'POST' });
    assert.equal(r.status, 200);
  });

  it('prints exactly one listening line with the bound port and base', () => {
    assert.equal(srv.stdoutLines.length, 1);
    assert.deepEqual(Object.keys(srv.info), ['event', 'port', 'base']);
    assert.equal(srv.info.event, 'listening');
    assert.ok(Number.isInteger(srv.info.port) && srv.info.port > 0);
    assert.equal(srv.info.base, `http://127.0.0.1:${srv.info.port}/fhir`);
  });

  it('transaction: Patient (ifNoneExist) + Encounter referencing it by urn:uuid', async () => {
    const r = await request(srv.base, { method: 'POST', body: admitTransaction() });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/fhir\+json/);
    assert.equal(r.json.resourceType, 'Bundle');
    assert.equal(r.json.type, 'transaction-response');
    const [p, e] = r.json.entry;
    assert.equal(p.response.status, '201');
    assert.equal(e.response.status, '201');
    assert.equal(p.resource.resourceType, 'Patient');
    assert.equal(p.response.location, `Patient/${p.resource.id}`);
    assert.equal(p.fullUrl, `${srv.base}/Patient/${p.resource.id}`);
    assert.match(p.response.etag, /^W\/".+"$/);
    assert.equal(e.resource.subject.reference, `Patient/${p.resource.id}`);

    const stored = await request(`${srv.base}/Encounter/${e.resource.id}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.json.subject.reference, `Patient/${p.resource.id}`);
    const readPatient = await request(`${srv.base}/Patient/${p.resource.id}`);
    assert.equal(readPatient.status, 200);
    assert.deepEqual(readPatient.json.identifier, [{ system: FNR, value: '01010112345' }]);
  });

  it('the same transaction twice creates one Patient (conditional create)', async () => {
    const first = await request(srv.base, { method: 'POST', body: admitTransaction() });
    const second = await request(srv.base, { method: 'POST', body: admitTransaction() });
    assert.equal(second.status, 200, second.text);
    const patientId = first.json.entry[0].resource.id;
    assert.equal(second.json.entry[0].response.status, '200');
    assert.equal(second.json.entry[0].resource.id, patientId);
    assert.equal(second.json.entry[1].resource.subject.reference, `Patient/${patientId}`);

    const search = await request(searchUrl(srv.base, '01010112345'));
    assert.equal(search.status, 200);
    assert.equal(search.json.type, 'searchset');
    assert.equal(search.json.total, 1);
    assert.equal(search.json.entry.length, 1);
    assert.equal(search.json.entry[0].resource.id, patientId);
    const encounters = await request(`${srv.base}/Encounter?_summary=count`);
    assert.equal(encounters.json.total, 2);
    assert.equal(encounters.json.entry, undefined);
  });

  it('parallel identical transactions still create one Patient', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => request(srv.base, { method: 'POST', body: admitTransaction('03030312345') }))
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array(10).fill(200)
    );
    const search = await request(searchUrl(srv.base, '03030312345'));
    assert.equal(search.json.total, 1);
  });

  it('conditional update (PUT Type?identifier=...) in a transaction updates or creates', async () => {
    const created = await request(srv.base, { method: 'POST', body: admitTransaction() });
    const patientId = created.json.entry[0].resource.id;
    const urn = 'urn:uuid:6f1c2a52-3f0e-4d4e-9b1a-0c7e2d9a0011';
    const tx = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6f1c2a52-3f0e-4d4e-9b1a-0c7e2d9a0010',
          resource: patient('01010112345', { name: [{ family: 'Nordmann', given: ['Kari'] }], gender: 'female' }),
          request: { method: 'PUT', url: `Patient?identifier=${FNR}|01010112345` },
        },
        {
          fullUrl: urn,
          resource: patient('02020212345', { gender: 'other' }),
          request: { method: 'PUT', url: `Patient?identifier=${FNR}|02020212345` },
        },
        {
          resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: urn } },
          request: { method: 'POST', url: 'Encounter' },
        },
      ],
    };
    const r = await request(srv.base, { method: 'POST', body: tx });
    assert.equal(r.status, 200, r.text);
    const [updated, newPatient, encounter] = r.json.entry;
    assert.equal(updated.response.status, '200');
    assert.equal(updated.resource.id, patientId);
    assert.deepEqual(updated.resource.name[0].given, ['Kari']);
    assert.equal(newPatient.response.status, '201');
    assert.equal(encounter.resource.subject.reference, `Patient/${newPatient.resource.id}`);
    assert.equal((await request(searchUrl(srv.base, '01010112345'))).json.total, 1);
    assert.equal((await request(`${srv.base}/Patient?_summary=count`)).json.total, 2);
  });

  it('transactions with more than 8 entries and conditional creates are accepted', async () => {
    const tx = admitTransaction('04040412345');
    for (let i = 0; i < 10; i++) {
      tx.entry.push({
        resource: {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
          subject: { reference: tx.entry[0].fullUrl },
          valueQuantity: { value: 60 + i, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        },
        request: { method: 'POST', url: 'Observation' },
      });
    }
    const r = await request(srv.base, { method: 'POST', body: tx });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.entry.length, 12);
    const obs = await request(`${srv.base}/Observation?_count=3`);
    assert.equal(obs.json.total, 10);
    assert.equal(obs.json.entry.length, 3);
    assert.ok(obs.json.link.some((l) => l.relation === 'next'));
  });

  it('invalid resources are answered 422 with an OperationOutcome and not stored', async () => {
    const banana = await request(`${srv.base}/Patient`, {
      method: 'POST',
      body: patient('05050512345', { gender: 'banana' }),
    });
    assert.equal(banana.status, 422, banana.text);
    assert.equal(banana.json.resourceType, 'OperationOutcome');
    assert.ok(banana.json.issue.some((i) => i.severity === 'error' && i.expression?.includes('Patient.gender')));

    const badDate = await request(`${srv.base}/Patient`, {
      method: 'POST',
      body: patient('05050512345', { birthDate: '2020-13-45' }),
    });
    assert.equal(badDate.status, 422);
    assert.ok(badDate.json.issue.some((i) => i.expression?.includes('Patient.birthDate')));

    const unknownField = await request(`${srv.base}/Patient`, { method: 'POST', body: patient('0505', { foo: 1 }) });
    assert.equal(unknownField.status, 422);

    // In a transaction: the valid Patient must not be stored either.
    const tx = admitTransaction('05050512345');
    tx.entry[1].resource.status = 'banana-status';
    delete tx.entry[1].resource.class; // required 1..1 in R4
    const r = await request(srv.base, { method: 'POST', body: tx });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json.resourceType, 'OperationOutcome');
    const expressions = r.json.issue.flatMap((i) => i.expression ?? []);
    assert.ok(expressions.includes('Bundle.entry[1].resource.status'), JSON.stringify(expressions));
    assert.ok(expressions.includes('Bundle.entry[1].resource.class'), JSON.stringify(expressions));
    assert.equal((await request(`${srv.base}/Patient?_summary=count`)).json.total, 0);
    assert.equal((await request(`${srv.base}/Encounter?_summary=count`)).json.total, 0);
  });

  it('a transaction failing half-way is rolled back', async () => {
    const tx = admitTransaction('06060612345');
    tx.entry.push({
      resource: { resourceType: 'Patient', id: 'does-not-exist' },
      request: { method: 'PUT', url: 'Patient/does-not-exist', ifMatch: 'W/"1"' },
    });
    const r = await request(srv.base, { method: 'POST', body: tx });
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.resourceType, 'OperationOutcome');
    assert.equal((await request(`${srv.base}/Patient?_summary=count`)).json.total, 0);
    assert.equal((await request(`${srv.base}/Encounter?_summary=count`)).json.total, 0);
  });

  it('identifier search stays correct after update, delete and rollback', async () => {
    const count = async (value) => (await request(`${searchUrl(srv.base, value)}&_summary=count`)).json.total;
    const created = await request(`${srv.base}/Patient`, { method: 'POST', body: patient('10101012345') });
    const id = created.json.id;
    assert.equal(await count('10101012345'), 1);
    assert.equal((await request(`${srv.base}/Patient?identifier=10101012345`)).json.total, 1); // value only
    assert.equal((await request(`${srv.base}/Patient?identifier=${encodeURIComponent('urn:other|10101012345')}`)).json.total, 0);
    assert.equal((await request(`${srv.base}/Patient?identifier=${encodeURIComponent(FNR + '|')}`)).json.total, 1);

    await request(`${srv.base}/Patient/${id}`, { method: 'PUT', body: { ...patient('11111112345'), id } });
    assert.equal(await count('10101012345'), 0);
    assert.equal(await count('11111112345'), 1);

    // rolled back update: the old identifier must still be found, the new one not
    const tx = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...patient('12121212345'), id }, request: { method: 'PUT', url: `Patient/${id}` } },
        {
          resource: { resourceType: 'Patient', id: 'not-there' },
          request: { method: 'PUT', url: 'Patient/not-there', ifMatch: 'W/"1"' },
        },
      ],
    };
    assert.equal((await request(srv.base, { method: 'POST', body: tx })).status, 404);
    assert.equal(await count('11111112345'), 1);
    assert.equal(await count('12121212345'), 0);

    await request(`${srv.base}/Patient/${id}`, { method: 'DELETE' });
    assert.equal(await count('11111112345'), 0);
  });

  it('direct create, If-None-Exist, read, update, patch, delete', async () => {
    const created = await request(`${srv.base}/Patient`, {
      method: 'POST',
      body: patient('07070712345', { id: 'client-chosen' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(created.status, 201, created.text);
    assert.notEqual(created.json.id, 'client-chosen');
    const id = created.json.id;
    assert.equal(created.headers.get('location'), `${srv.base}/Patient/${id}/_history/${created.json.meta.versionId}`);

    const again = await request(`${srv.base}/Patient`, {
      method: 'POST',
      body: patient('07070712345'),
      headers: { 'if-none-exist': `identifier=${FNR}|07070712345` },
    });
    assert.equal(again.status, 200);
    assert.equal(again.json.id, id);

    const updated = await request(`${srv.base}/Patient/${id}`, {
      method: 'PUT',
      body: { ...created.json, gender: 'female' },
    });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.json.gender, 'female');

    const badUpdate = await request(`${srv.base}/Patient/${id}`, { method: 'PUT', body: { ...created.json, gender: 'f' } });
    assert.equal(badUpdate.status, 422);

    const badPatch = await request(`${srv.base}/Patient/${id}`, {
      method: 'PATCH',
      body: [{ op: 'replace', path: '/gender', value: 'banana' }],
      headers: { 'content-type': 'application/json-patch+json' },
    });
    assert.equal(badPatch.status, 422, badPatch.text);
    const patched = await request(`${srv.base}/Patient/${id}`, {
      method: 'PATCH',
      body: [{ op: 'add', path: '/birthDate', value: '1970-01-01' }],
      headers: { 'content-type': 'application/json-patch+json' },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json.gender, 'female');
    assert.equal(patched.json.birthDate, '1970-01-01');

    const deleted = await request(`${srv.base}/Patient/${id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    assert.equal((await request(`${srv.base}/Patient/${id}`)).status, 404);
  });

  it('robustness: invalid JSON 400, unknown route 404, bad media type 415, metadata', async () => {
    const badJson = await request(`${srv.base}/Patient`, {
      method: 'POST',
      raw: '{"resourceType": "Patient",',
      headers: { 'content-type': 'application/fhir+json' },
    });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.json.resourceType, 'OperationOutcome');
    for (const url of [`${srv.root}/nowhere`, `${srv.base}/Patient/x/y/z/w`, `${srv.root}/$test/nope`]) {
      const r = await request(url);
      assert.equal(r.status, 404, url);
      assert.equal(r.json.resourceType, 'OperationOutcome');
    }
    const xml = await request(`${srv.base}/Patient`, {
      method: 'POST',
      raw: '<Patient xmlns="http://hl7.org/fhir"/>',
      headers: { 'content-type': 'application/fhir+xml' },
    });
    assert.equal(xml.status, 415);
    const notABundle = await request(srv.base, { method: 'POST', body: patient('1') });
    assert.equal(notABundle.status, 400);
    const meta = await request(`${srv.base}/metadata`);
    assert.equal(meta.status, 200);
    assert.equal(meta.json.resourceType, 'CapabilityStatement');
    assert.equal(meta.json.fhirVersion, '4.0.1');
  });
});
