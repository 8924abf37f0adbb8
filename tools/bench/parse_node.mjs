// Times one JavaScript HL7 v2 parser on one message file and prints one JSON line.
//
//   node --experimental-websocket tools/bench/parse_node.mjs LIB MODE FILE [--warmup S] [--seconds S] [--count N]
//
// LIB:  medplum          @medplum/core  Hl7Message.parse(text)
//       node-hl7-client  node-hl7-client new Message({ text })
// MODE: full  parse, then force the library's whole tree (both libraries split lazily, on first
//             access), so the work matches a parser that indexes everything up front
//       lazy  parse, then read one deep field (PID-5.1) and nothing else
//
// Both modes read PID-5.1 on every parse and fold its length into a checksum, so nothing can be
// optimised away. Warm-up runs for --warmup seconds (default 2); its rate fixes the timed count
// (--seconds worth, default 2) unless --count is given. --count alone skips warm-up (smoke runs).
// The text is decoded from UTF-8 once, outside the timed loop; MB/s counts the file's bytes.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../package.json', import.meta.url));
const versionOf = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;

function usage(message) {
  process.stderr.write(`parse_node.mjs: ${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const positional = [];
const options = { warmup: 2, seconds: 2, count: 0 };
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--warmup' || arg === '--seconds' || arg === '--count') {
    const value = Number(args[++i]);
    if (!Number.isFinite(value) || value < 0) usage(`${arg} needs a number`);
    options[arg.slice(2)] = value;
  } else {
    positional.push(arg);
  }
}
if (positional.length !== 3) usage('expected LIB MODE FILE');
const [lib, mode, file] = positional;
if (mode !== 'full' && mode !== 'lazy') usage(`unknown mode ${mode}`);

const bytes = readFileSync(file);
const text = bytes.toString('utf8');

// Each parse function returns PID-5.1 plus, in full mode, a count of the nodes it forced (as a
// number folded into the checksum by the caller).
let nodes = 0;
let parse;
let version;
if (lib === 'medplum') {
  const { Hl7Message } = require('@medplum/core');
  version = versionOf('@medplum/core');
  if (mode === 'full') {
    parse = (t) => {
      const msg = Hl7Message.parse(t);
      // .segments parses every segment into fields; .fields parses every field into
      // repetitions × components (string[][]). Medplum keeps sub-components inside the component
      // string and splits them only when getComponent(c, sub) asks.
      for (const segment of msg.segments) {
        for (const field of segment.fields) nodes += field.components.length;
      }
      return msg.getSegment('PID').getField(5).getComponent(1);
    };
  } else {
    parse = (t) => Hl7Message.parse(t).getSegment('PID').getField(5).getComponent(1);
  }
} else if (lib === 'node-hl7-client') {
  const { Message } = require('node-hl7-client');
  version = versionOf('node-hl7-client');
  // Its tree: Message → Segment → Field → FieldRepetition → Component → SubComponent; each node
  // splits its text into children the first time they are asked for. node.length and node.get(i)
  // are the public way to ask. SubComponents are leaves (they have no delimiter to split on).
  const walk = (node, depth) => {
    const n = node.length;
    nodes += n;
    if (depth < 4) for (let i = 0; i < n; i++) walk(node.get(i), depth + 1);
  };
  if (mode === 'full') {
    parse = (t) => {
      const msg = new Message({ text: t });
      walk(msg, 0);
      return msg.get('PID.5.1').toString();
    };
  } else {
    parse = (t) => new Message({ text: t }).get('PID.5.1').toString();
  }
} else {
  usage(`unknown library ${lib}`);
}

// Sanity: the parse must find the family name, and must succeed on this message at all.
const check = parse(text);
if (typeof check !== 'string' || check.length === 0) {
  process.stderr.write(`parse_node.mjs: ${lib} found no PID-5.1 in ${file}\n`);
  process.exit(1);
}

let checksum = 0;
const now = () => Number(process.hrtime.bigint()) / 1e9;

let count = options.count;
let warmupParses = 0;
if (count === 0) {
  const start = now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 1000; i++) checksum += parse(text).length;
    warmupParses += 1000;
    elapsed = now() - start;
  } while (elapsed < options.warmup);
  count = Math.max(1000, Math.round((warmupParses / elapsed) * options.seconds));
}

const start = now();
for (let i = 0; i < count; i++) checksum += parse(text).length;
const seconds = now() - start;

const expected = check.length * (count + warmupParses);
if (checksum !== expected) {
  process.stderr.write(`parse_node.mjs: checksum ${checksum} != ${expected}\n`);
  process.exit(1);
}
const result = {
  contender: lib === 'medplum' ? '@medplum/core' : 'node-hl7-client',
  version,
  mode,
  file,
  bytes: bytes.length,
  warmup_parses: warmupParses,
  messages: count,
  seconds,
  messages_per_second: count / seconds,
  mb_per_second: (count * bytes.length) / seconds / 1e6,
  check,
  nodes_forced: nodes,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
