// The parts .ci/embedded lists, run one after another in one process (test/helpers/part.ts): .ci/run
// runs this file on the embedded database beside the listed files that are not parts. Each part
// opens its own embedded database as it would alone; the process (Node, the loaders, the service's
// and PGlite's modules) starts once.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runPartFiles } from './part.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const listed = fs
  .readFileSync(path.join(root, '.ci', 'embedded'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'));
await runPartFiles(t, listed.filter((f) => f.endsWith('.part.ts')));
