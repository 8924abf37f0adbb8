// A FHIR target for the forward benchmark that stores nothing and answers every transaction at
// once: 200 with a transaction-response whose entries say "201 Created", one per request entry,
// so that the time measured is the gateway's. Prints {"port": N} when it listens; on SIGTERM
// prints {"requests": N, "entries": M} and exits.
//
//   node tools/bench/forward/fast_target.mjs [--port P]
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
let requests = 0;
let entries = 0;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let count = 0;
    try {
      const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      count = Array.isArray(bundle.entry) ? bundle.entry.length : 0;
    } catch {
      res.writeHead(400, { 'content-type': 'application/fhir+json' });
      res.end('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]}');
      return;
    }
    requests += 1;
    entries += count;
    const response = {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: Array.from({ length: count }, () => ({ response: { status: '201 Created' } })),
    };
    res.writeHead(200, { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify(response));
  });
});

server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ requests, entries }));
  process.exit(0);
});
