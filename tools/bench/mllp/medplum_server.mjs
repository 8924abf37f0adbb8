// The baseline for the MLLP benchmark: Medplum's HL7 server (@medplum/hl7 Hl7Server) answering
// every message with message.buildAck() and storing nothing. Binds 127.0.0.1 on --port (0: any
// free port) and prints one JSON line, {"port":…,"pid":…,"medplumHl7":"…","noDelay":…}, once it
// listens.
//
//   node --experimental-websocket tools/bench/mllp/medplum_server.mjs [--port P] [--nagle]
//
// Node 20 needs the flag: @medplum/core 5.x (which @medplum/hl7 imports) expects a global WebSocket.
// Each connection's socket gets setNoDelay(true), as Helsebro's do: with Node's default (Nagle on)
// an acknowledgement can wait for the sender's next segment, which cost Medplum about 17 % of
// its throughput and puts its p99 near 10 ms at 5,000 messages/s. --nagle keeps Node's default.
import { readFile } from 'node:fs/promises';
import { Hl7Server } from '@medplum/hl7';

const args = process.argv.slice(2);
const portAt = args.indexOf('--port');
const port = portAt >= 0 ? Number(args[portAt + 1]) : 0;
const noDelay = !args.includes('--nagle');

const server = new Hl7Server((connection) => {
  connection.socket.setNoDelay(noDelay);
  connection.addEventListener('message', ({ message }) => {
    connection.send(message.buildAck());
  });
  connection.addEventListener('error', () => {}); // a sender hanging up at the end is not news
});

await server.start(port);
const pkg = JSON.parse(await readFile(new URL('../../node_modules/@medplum/hl7/package.json', import.meta.url), 'utf8'));
console.log(JSON.stringify({ port: server.server.address().port, pid: process.pid, medplumHl7: pkg.version, noDelay }));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.stop({ forceDrainTimeoutMs: 100 }).finally(() => process.exit(0));
  });
}
