#!/usr/bin/env node
// Helsebro development FHIR R4 server: @medplum/fhir-router + an in-memory repository over node:http,
// with validation of every written resource and test hooks under /$test/. See README.md.
import './websocket-shim.mjs'; // must stay the first import (before any @medplum module)
import { readFileSync, realpathSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { allOk, getResourceTypes, getStatus, isOk, tryGetDataType } from '@medplum/core';
import { FhirRouter } from '@medplum/fhir-router';
import { batchHandler, DevRepository, validationError, validationOutcomes } from './repository.mjs';
import { issueForEntry, loadDefinitions, validate } from './validation.mjs';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json-patch+json']);
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_BODY_BYTES = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(status, message, code = 'invalid') {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function outcome(code, text, diagnostics) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, details: { text }, ...(diagnostics ? { diagnostics } : {}) }],
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readBody(req, limit = MAX_BODY_BYTES) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk) => {
      if (failed) {
        return;
      }
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError(413, `Request body larger than ${limit} bytes`, 'too-long'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks)));
    req.on('error', (err) => failed || reject(err));
  });
}

function identifierValues(resource) {
  const ids = resource?.identifier;
  const list = Array.isArray(ids) ? ids : ids ? [ids] : [];
  return list.filter((i) => i && typeof i === 'object').map((i) => `${i.system ?? ''}|${i.value ?? ''}`);
}

function typeFromUrl(url) {
  const first = String(url ?? '')
    .replace(/^\/+/, '')
    .split(/[/?]/)[0];
  return /^[A-Z][A-Za-z]+$/.test(first) ? first : undefined;
}

/** Only ids and identifiers of what was written: the arrivals log never keeps resource content. */
function summarizeEntry({ method, url, fullUrl, resource, ifNoneExist }) {
  const resourceType =
    resource && typeof resource === 'object' && !Array.isArray(resource) && typeof resource.resourceType === 'string'
      ? resource.resourceType
      : typeFromUrl(url);
  const summary = { method, url };
  if (fullUrl) {
    summary.fullUrl = fullUrl;
  }
  summary.resourceType = resourceType ?? null;
  if (resource?.id) {
    summary.id = resource.id;
  }
  summary.ifNoneExist = ifNoneExist ?? null;
  summary.identifiers = identifierValues(resource);
  return summary;
}

function httpDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d.toUTCString();
}

function parsePrefer(header) {
  const match = /return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(header ?? '');
  return match ? match[1].toLowerCase() : undefined;
}

function formatBase(host, port, scheme = 'http') {
  let h = host;
  if (h === '0.0.0.0' || h === '') {
    h = '127.0.0.1';
  } else if (h === '::') {
    h = '::1';
  }
  if (h.includes(':')) {
    h = `[${h}]`;
  }
  return `${scheme}://${h}:${port}/fhir`;
}

/** Bearer tokens the auth hook accepts: token → expiry (ms since epoch, or null for never). */
function newAuth() {
  return { tokens: new Map(), rejectNext: 0 };
}

/** A 401 reason, or null when the Authorization header carries an accepted, unexpired token. */
function refusal(auth, header) {
  const match = /^Bearer (\S+)$/.exec(header ?? '');
  if (!match) {
    return 'invalid_request';
  }
  const expiresAt = auth.tokens.get(match[1]);
  if (expiresAt === undefined || (expiresAt !== null && Date.now() >= expiresAt)) {
    return 'invalid_token';
  }
  if (auth.rejectNext > 0) {
    auth.rejectNext--;
    return 'invalid_token';
  }
  return null;
}

/**
 * Creates the server (not yet listening). With `tls` ({cert, key} PEM, optional `clientCa` PEM to
 * require client certificates signed by it) it speaks HTTPS.
 * @param {{host?: string, quiet?: boolean, log?: (line: string) => void,
 *          tls?: {cert: string|Buffer, key: string|Buffer, clientCa?: string|Buffer}}} options
 */
export function createDevFhirServer(options = {}) {
  const host = options.host ?? '127.0.0.1';
  const scheme = options.tls ? 'https' : 'http';
  const log = options.quiet ? () => undefined : (options.log ?? ((line) => process.stderr.write(line + '\n')));

  loadDefinitions();
  const repo = new DevRepository();
  const router = new FhirRouter();
  // Own batch/transaction handler: same as Medplum's, minus the 8-entry "strict isolation" limit.
  const batchRoute = router.router.routes.find((r) => r.method === 'POST' && r.path.length === 0);
  batchRoute.handler = batchHandler;
  router.add('GET', 'metadata', async () => [allOk, capabilities()], 'capabilities');

  let base = formatBase(host, 0, scheme);
  let capabilityStatement;
  const hooks = newHooks();
  let arrivals = [];
  let seq = 0;

  function newHooks() {
    return { fail: null, delayMs: 0, auth: null };
  }

  // All FHIR requests run one at a time: MemoryRepository is not isolated, and serializing makes
  // conditional creates race-free (a second identical transaction always sees the first one's Patient).
  let chain = Promise.resolve();
  function exclusive(fn) {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  }

  function capabilities() {
    if (!capabilityStatement) {
      const interaction = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
      capabilityStatement = {
        resourceType: 'CapabilityStatement',
        status: 'active',
        date: new Date().toISOString(),
        kind: 'instance',
        software: { name: 'helsebro-dev-fhir-server' },
        implementation: { description: 'Helsebro development FHIR server (in-memory)', url: base },
        fhirVersion: '4.0.1',
        format: ['application/fhir+json', 'application/json'],
        rest: [
          {
            mode: 'server',
            interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
            resource: getResourceTypes()
              .filter((t) => tryGetDataType(t))
              .map((type) => ({
                type,
                interaction: interaction.map((code) => ({ code })),
                versioning: 'versioned',
                readHistory: true,
                updateCreate: false,
                conditionalCreate: true,
                conditionalUpdate: true,
                conditionalDelete: 'single',
              })),
          },
        ],
      };
    }
    return capabilityStatement;
  }

  function send(ctx, status, body, headers = {}, contentType = FHIR_JSON) {
    const { res, record } = ctx;
    if (record) {
      record.status = status;
    }
    if (res.headersSent) {
      return;
    }
    const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      ...(payload ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : { 'Content-Length': 0 }),
      ...headers,
    });
    res.end(payload);
  }

  function sendOutcome(ctx, status, code, text, diagnostics, headers) {
    send(ctx, status, outcome(code, text, diagnostics), headers);
  }

  // ---------------------------------------------------------------- test hooks (/$test/...)

  function failFor(isWrite, raw) {
    const f = hooks.fail;
    if (!f || (f.scope !== 'all' && !isWrite)) {
      return null;
    }
    // A content rule, as a real server's business rules refuse what they refuse: only requests
    // whose body holds the text fail, and the others do not count.
    if (f.whenBodyContains !== null && !raw.toString('utf8').includes(f.whenBodyContains)) {
      return null;
    }
    if ((f.until !== null && Date.now() >= f.until) || (f.remaining !== null && f.remaining <= 0)) {
      hooks.fail = null;
      return null;
    }
    if (f.remaining !== null) {
      f.remaining--;
    }
    return f;
  }

  function hookState() {
    const f = hooks.fail;
    return {
      fail: f
        ? {
            status: f.status,
            remaining: f.remaining,
            secondsLeft: f.until === null ? null : Math.max(0, (f.until - Date.now()) / 1000),
            retryAfter: f.retryAfter,
            scope: f.scope,
            whenBodyContains: f.whenBodyContains,
          }
        : null,
      delayMs: hooks.delayMs,
      auth: hooks.auth !== null,
    };
  }

  async function handleTest(ctx, name, url) {
    const { req } = ctx;
    const ok = (extra = {}) => send(ctx, 200, { ok: true, ...hookState(), ...extra }, {}, 'application/json');
    const bad = (text) => send(ctx, 400, outcome('invalid', text), {});
    if (req.method === 'GET' && name === 'arrivals') {
      const since = Number(url.searchParams.get('since') ?? 0);
      send(ctx, 200, since > 0 ? arrivals.filter((a) => a.seq > since) : arrivals, {}, 'application/json');
      return;
    }
    if (req.method === 'GET' && name === 'state') {
      ok({ resources: repo.counts(), arrivals: arrivals.length, lastSeq: seq });
      return;
    }
    if (req.method !== 'POST' || !['fail', 'delay', 'reset', 'auth'].includes(name)) {
      sendOutcome(ctx, 404, 'not-found', `Unknown test hook: ${req.method} /$test/${name}`);
      return;
    }
    const raw = await readBody(req, 1024 * 1024);
    let cfg = {};
    if (raw.length) {
      try {
        cfg = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        bad(`Invalid JSON: ${err.message}`);
        return;
      }
    }
    if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) {
      bad('Expected a JSON object');
      return;
    }
    switch (name) {
      case 'reset':
        repo.clear();
        arrivals = [];
        seq = 0;
        Object.assign(hooks, newHooks());
        ok();
        return;
      case 'delay': {
        const ms = Number(cfg.ms ?? 0);
        if (!Number.isFinite(ms) || ms < 0) {
          bad('"ms" must be a number >= 0');
          return;
        }
        hooks.delayMs = ms;
        ok();
        return;
      }
      case 'auth':
        configureAuth(cfg, ok, bad);
        return;
      case 'fail': {
        const status = Number(cfg.status ?? 0);
        if (!status) {
          hooks.fail = null;
          ok();
          return;
        }
        if (!Number.isInteger(status) || status < 100 || status > 599) {
          bad('"status" must be an HTTP status code (or 0 to clear)');
          return;
        }
        const count = cfg.count === undefined || cfg.count === null ? null : Number(cfg.count);
        const seconds = cfg.seconds === undefined || cfg.seconds === null ? null : Number(cfg.seconds);
        if ((count !== null && !(count >= 0)) || (seconds !== null && !(seconds >= 0))) {
          bad('"count" and "seconds" must be numbers >= 0');
          return;
        }
        if (cfg.scope !== undefined && cfg.scope !== 'writes' && cfg.scope !== 'all') {
          bad('"scope" must be "writes" or "all"');
          return;
        }
        if (cfg.whenBodyContains !== undefined && (typeof cfg.whenBodyContains !== 'string' || !cfg.whenBodyContains)) {
          bad('"whenBodyContains" must be a non-empty string');
          return;
        }
        hooks.fail = {
          status,
          remaining: count,
          until: seconds === null ? null : Date.now() + seconds * 1000,
          retryAfter: cfg.retryAfter ?? null,
          body: cfg.body,
          scope: cfg.scope ?? 'writes',
          whenBodyContains: cfg.whenBodyContains ?? null,
        };
        ok();
        return;
      }
    }
  }

  // {"token": "abc"|null} sets the one accepted token (null: no auth); {"add": "abc",
  // "expiresIn": 3} accepts one more, for 3 s; {"rejectNext": N} refuses the next N requests
  // even with an accepted token (a revoked token, seen from the client).
  function configureAuth(cfg, ok, bad) {
    if (cfg.token !== null && cfg.token !== undefined && typeof cfg.token !== 'string') {
      bad('"token" must be a string or null');
      return;
    }
    if (cfg.add !== undefined && (typeof cfg.add !== 'string' || !cfg.add)) {
      bad('"add" must be a non-empty string');
      return;
    }
    const expiresIn = cfg.expiresIn ?? null;
    if (expiresIn !== null && !(typeof expiresIn === 'number' && expiresIn >= 0)) {
      bad('"expiresIn" must be a number of seconds >= 0');
      return;
    }
    const rejectNext = cfg.rejectNext ?? 0;
    if (!Number.isInteger(rejectNext) || rejectNext < 0) {
      bad('"rejectNext" must be an integer >= 0');
      return;
    }
    if ('token' in cfg) {
      hooks.auth = cfg.token ? newAuth() : null;
      hooks.auth?.tokens.set(cfg.token, null);
    }
    if (cfg.add !== undefined) {
      hooks.auth ??= newAuth();
      hooks.auth.tokens.set(cfg.add, expiresIn === null ? null : Date.now() + expiresIn * 1000);
    }
    if (cfg.rejectNext !== undefined) {
      if (!hooks.auth) {
        bad('"rejectNext" needs a token first');
        return;
      }
      hooks.auth.rejectNext = rejectNext;
    }
    ok();
  }

  // ---------------------------------------------------------------- FHIR (/fhir...)

  function decorateSearch(bundle, rel, url) {
    const entry = (bundle.entry ?? []).map((e) => ({
      fullUrl: e.resource?.id ? `${base}/${e.resource.resourceType}/${e.resource.id}` : undefined,
      ...e,
    }));
    const self = `${base}/${rel}${url.search}`;
    const link = [{ relation: 'self', url: self }];
    const count = Number(url.searchParams.get('_count') ?? NaN);
    const offset = Number(url.searchParams.get('_offset') ?? 0);
    if (count > 0 && typeof bundle.total === 'number' && offset + count < bundle.total) {
      const next = new URL(self);
      next.searchParams.set('_offset', String(offset + count));
      link.push({ relation: 'next', url: next.toString() });
    }
    return {
      resourceType: 'Bundle',
      type: bundle.type,
      ...(bundle.total !== undefined ? { total: bundle.total } : {}),
      link,
      ...(entry.length ? { entry } : {}),
    };
  }

  function decorateBatchResponse(bundle, prefer) {
    const entry = (bundle.entry ?? []).map((e) => {
      if (!e) {
        return e;
      }
      const response = { ...e.response };
      if (response.outcome && validationOutcomes.has(response.outcome)) {
        response.status = '422';
      }
      const r = e.resource;
      const result = {};
      if (r?.id && r.resourceType && isOk(response.outcome ?? { issue: [] })) {
        result.fullUrl = `${base}/${r.resourceType}/${r.id}`;
        if (r.meta?.versionId) {
          response.etag = `W/"${r.meta.versionId}"`;
        }
        if (r.meta?.lastUpdated) {
          response.lastModified = r.meta.lastUpdated;
        }
      }
      if (r && prefer !== 'minimal' && prefer !== 'operationoutcome') {
        result.resource = r;
      } else if (prefer === 'operationoutcome' && response.outcome) {
        result.resource = response.outcome;
      }
      const { status, location, etag, lastModified, outcome: entryOutcome } = response;
      result.response = { status, location, etag, lastModified, outcome: entryOutcome };
      return result;
    });
    return { resourceType: 'Bundle', type: bundle.type, entry };
  }

  async function handleFhir(ctx, pathname, url) {
    const { req } = ctx;
    const method = req.method;
    const rel = pathname.slice('/fhir'.length).replace(/^\/+/, '').replace(/\/+$/, '');
    const isSearchPost = method === 'POST' && (rel === '_search' || rel.endsWith('/_search'));
    const isWrite = WRITE_METHODS.has(method) && !isSearchPost;

    let raw = Buffer.alloc(0);
    let bodyError;
    try {
      if (method !== 'GET' && method !== 'HEAD') {
        raw = await readBody(req);
      }
    } catch (err) {
      bodyError = err;
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    let body;
    let parseError;
    let unsupported = false;
    if (!bodyError && raw.length) {
      if (contentType === 'application/x-www-form-urlencoded' && isSearchPost) {
        body = {};
        for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
          body[k] = body[k] === undefined ? v : [].concat(body[k], v);
        }
      } else if (!contentType || JSON_TYPES.has(contentType)) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch (err) {
          parseError = err.message;
        }
      } else {
        unsupported = true;
      }
    }

    if (isWrite) {
      const record = { seq: ++seq, method, path: pathname + url.search, receivedAt: new Date().toISOString() };
      if (rel === '' && body?.resourceType === 'Bundle') {
        record.bundleType = body.type ?? null;
        record.entries = (Array.isArray(body.entry) ? body.entry : []).map((e) =>
          summarizeEntry({
            method: e?.request?.method,
            url: e?.request?.url,
            fullUrl: e?.fullUrl,
            resource: e?.resource,
            ifNoneExist: e?.request?.ifNoneExist,
          })
        );
      } else {
        record.entries =
          rel === '' && body === undefined
            ? []
            : [
                summarizeEntry({
                  method,
                  url: rel + url.search,
                  resource: method === 'PATCH' ? undefined : body,
                  ifNoneExist: req.headers['if-none-exist'],
                }),
              ];
      }
      record.status = null;
      arrivals.push(record);
      ctx.record = record;
    }

    if (hooks.delayMs > 0) {
      await sleep(hooks.delayMs);
    }
    const refused = hooks.auth && refusal(hooks.auth, req.headers.authorization);
    if (refused) {
      sendOutcome(ctx, 401, 'login', 'Unauthorized', undefined, {
        'WWW-Authenticate': `Bearer realm="helsebro-dev", error="${refused}"`,
      });
      return;
    }
    const fail = failFor(isWrite, raw);
    if (fail) {
      const headers = {};
      if (fail.retryAfter !== null && fail.retryAfter !== undefined) {
        headers['Retry-After'] = String(fail.retryAfter);
      }
      if (fail.body === undefined || fail.body === null) {
        sendOutcome(ctx, fail.status, 'transient', `Simulated failure (HTTP ${fail.status}) from /$test/fail`, undefined, headers);
      } else if (typeof fail.body === 'string') {
        send(ctx, fail.status, fail.body, headers, 'text/plain; charset=utf-8');
      } else {
        send(ctx, fail.status, fail.body, headers);
      }
      return;
    }
    if (bodyError) {
      if (bodyError instanceof HttpError) {
        sendOutcome(ctx, bodyError.status, bodyError.code, bodyError.message);
      } else {
        sendOutcome(ctx, 400, 'invalid', 'Could not read request body', String(bodyError.message));
      }
      return;
    }
    if (unsupported) {
      sendOutcome(ctx, 415, 'not-supported', `Unsupported Content-Type: ${contentType}`);
      return;
    }
    if (parseError) {
      sendOutcome(ctx, 400, 'structure', 'Invalid JSON in request body', parseError);
      return;
    }
    if ((method === 'POST' || method === 'PUT') && !isSearchPost) {
      if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
        sendOutcome(ctx, 400, 'structure', 'Request body must be a FHIR resource (JSON object)');
        return;
      }
    }
    if (method === 'PATCH' && (body === undefined || body === null || typeof body !== 'object')) {
      sendOutcome(ctx, 400, 'structure', 'PATCH body must be a JSON Patch array or a Parameters resource');
      return;
    }

    // Validate everything that is about to be written, before anything is stored.
    if ((method === 'POST' || method === 'PUT') && !isSearchPost && !rel.includes('$')) {
      let issues = [];
      if (rel === '') {
        if (body.resourceType === 'Bundle' && body.type === 'transaction' && Array.isArray(body.entry)) {
          body.entry.forEach((e, i) => {
            const m = e?.request?.method;
            if ((m === 'POST' || m === 'PUT') && e.resource !== undefined) {
              issues.push(...validate(e.resource).map((x) => issueForEntry(x, i, e.resource?.resourceType)));
            }
          });
        }
        // batch Bundles: invalid entries fail individually (422 in entry.response.status).
      } else {
        issues = validate(body);
      }
      if (issues.length) {
        send(ctx, 422, validationError(issues));
        return;
      }
    }

    const segments = rel.split('/');
    if (method === 'POST' && segments.length === 1 && rel !== '' && !rel.startsWith('$')) {
      delete body.id; // create: the server assigns the id (FHIR R4 http.html#create)
    }
    const fhirReq = {
      method,
      url: rel + url.search,
      pathname: '',
      body,
      params: {},
      query: {},
      headers: req.headers,
      config: { transactions: true },
    };
    let createdByPut = false;
    const [resultOutcome, resource] = await exclusive(() => {
      if (method === 'PUT' && segments.length === 2) {
        createdByPut = !repo.resources.get(segments[0])?.has(segments[1]);
      }
      return router.handleRequest(fhirReq, repo);
    });
    let status = validationOutcomes.has(resultOutcome) ? 422 : getStatus(resultOutcome);
    if (createdByPut && status === 200) {
      status = 201; // update as create
    }
    if (!isOk(resultOutcome) || !resource) {
      send(ctx, status, resultOutcome);
      return;
    }
    const prefer = parsePrefer(req.headers.prefer);
    if (resource.resourceType === 'Bundle' && rel === '' && method === 'POST') {
      send(ctx, status, decorateBatchResponse(resource, prefer));
      return;
    }
    if (resource.resourceType === 'Bundle' && resource.type === 'searchset' && (method === 'GET' || isSearchPost)) {
      send(ctx, status, decorateSearch(resource, isSearchPost ? rel.replace(/\/?_search$/, '') : rel, url));
      return;
    }
    const headers = {};
    if (resource.id && resource.meta?.versionId) {
      headers.ETag = `W/"${resource.meta.versionId}"`;
      const lm = httpDate(resource.meta.lastUpdated);
      if (lm) {
        headers['Last-Modified'] = lm;
      }
      if (status === 201 || (isWrite && method !== 'DELETE')) {
        headers[status === 201 ? 'Location' : 'Content-Location'] =
          `${base}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
      }
    }
    if (isWrite && prefer === 'minimal') {
      send(ctx, status, undefined, headers);
    } else if (isWrite && prefer === 'operationoutcome') {
      send(ctx, status, resultOutcome, headers);
    } else {
      send(ctx, status, resource, headers);
    }
  }

  // ---------------------------------------------------------------- dispatch

  async function onRequest(req, res) {
    const started = performance.now();
    const ctx = { req, res, record: undefined };
    let url;
    let pathname;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      try {
        pathname = decodeURIComponent(url.pathname);
      } catch {
        pathname = url.pathname;
      }
    } catch {
      url = new URL('http://localhost/');
      pathname = '?';
    }
    // Log the path only (no query string: it may hold national identity numbers), never bodies.
    res.on('finish', () =>
      log(
        JSON.stringify({
          t: new Date().toISOString(),
          method: req.method,
          path: pathname,
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
        })
      )
    );
    try {
      if (pathname === '/fhir' || pathname.startsWith('/fhir/')) {
        await handleFhir(ctx, pathname, url);
      } else if (pathname.startsWith('/$test/')) {
        await handleTest(ctx, pathname.slice('/$test/'.length), url);
      } else {
        sendOutcome(ctx, 404, 'not-found', `No route for ${req.method} ${pathname}`);
      }
    } catch (err) {
      if (err instanceof HttpError) {
        sendOutcome(ctx, err.status, err.code, err.message);
      } else {
        log(JSON.stringify({ t: new Date().toISOString(), event: 'error', message: String(err?.stack ?? err) }));
        sendOutcome(ctx, 500, 'exception', 'Internal server error', String(err?.message ?? err));
      }
    }
  }

  const server = options.tls
    ? https.createServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ...(options.tls.clientCa ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        },
        onRequest
      )
    : http.createServer(onRequest);
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;

  return {
    server,
    repo,
    router,
    /** Starts listening; resolves with the bound port and the FHIR base URL. */
    listen(port = 8090) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const bound = server.address().port;
          base = formatBase(host, bound, scheme);
          resolve({ port: bound, base });
        });
      });
    },
    /** Stops accepting connections and closes the open ones (idle at once, busy after graceMs). */
    close(graceMs = 2000) {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), graceMs).unref();
      });
    },
  };
}

// ------------------------------------------------------------------ command line

const USAGE = `Usage: node --experimental-websocket tools/dev-fhir-server/server.mjs [--port N] [--host H] [--quiet]
       [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]
  --port N             port to listen on (default 8090, env DEV_FHIR_PORT; 0 = any free port)
  --host H             address to bind (default 127.0.0.1, env DEV_FHIR_HOST)
  --quiet              no request log lines on stderr
  --tls-cert FILE      serve HTTPS with this PEM certificate chain (needs --tls-key)
  --tls-key FILE       PEM private key of --tls-cert
  --tls-client-ca FILE require client certificates signed by these PEM authorities (mutual TLS)
On listen, prints one JSON line to stdout: {"event":"listening","port":N,"base":"http://127.0.0.1:N/fhir"}`;

async function main() {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-client-ca': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const portText = args.port ?? process.env.DEV_FHIR_PORT ?? '8090';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    process.stderr.write(`Invalid port: ${portText}\n${USAGE}\n`);
    process.exit(2);
  }
  const host = args.host ?? process.env.DEV_FHIR_HOST ?? '127.0.0.1';

  if (Boolean(args['tls-cert']) !== Boolean(args['tls-key']) || (args['tls-client-ca'] && !args['tls-cert'])) {
    process.stderr.write(`--tls-cert and --tls-key go together; --tls-client-ca needs them\n${USAGE}\n`);
    process.exit(2);
  }
  let tls;
  try {
    tls = args['tls-cert'] && {
      cert: readFileSync(args['tls-cert']),
      key: readFileSync(args['tls-key']),
      ...(args['tls-client-ca'] ? { clientCa: readFileSync(args['tls-client-ca']) } : {}),
    };
  } catch (err) {
    process.stderr.write(JSON.stringify({ event: 'error', message: `cannot read TLS files: ${err.message}` }) + '\n');
    process.exit(2);
  }
  const dev = createDevFhirServer({ host, quiet: args.quiet, tls });
  let info;
  try {
    info = await dev.listen(port);
  } catch (err) {
    process.stderr.write(JSON.stringify({ event: 'error', message: `listen failed: ${err.message}` }) + '\n');
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ event: 'listening', port: info.port, base: info.base }) + '\n');

  let stopping = false;
  const stop = (signal) => {
    if (stopping) {
      process.exit(1); // second signal: do not wait any longer
    }
    stopping = true;
    process.stderr.write(JSON.stringify({ event: 'stopping', signal }) + '\n');
    dev.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function isMain() {
  try {
    return Boolean(process.argv[1]) && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  await main();
}
