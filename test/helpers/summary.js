#!/usr/bin/env node
// Passes tap's TAP stream through and closes with the line CI reads: "N passed, N failed".
// The numbers are tap's own final tally (its "# { total, pass, fail }" comment), never counted by hand;
// tap-parser checks that the stream as a whole is ok.
import { Parser } from 'tap-parser';

let tally = null;
const parser = new Parser((results) => {
  const ok = results.ok;
  const pass = tally?.pass ?? 0;
  const fail = tally?.fail ?? (ok ? 0 : Math.max(1, results.fail ?? 0));
  const skip = (tally?.skip ?? 0) + (tally?.todo ?? 0);
  process.stdout.write(`\n${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ''}\n`);
  process.exitCode = ok && fail === 0 && pass > 0 ? 0 : 1;
});
parser.on('comment', (c) => {
  const m = /^# (\{ total: .* \})\s*$/.exec(c);
  if (m) tally = Object.fromEntries([...m[1].matchAll(/(\w+): (\d+)/g)].map(([, k, v]) => [k, Number(v)]));
});
process.stdin.on('data', (chunk) => process.stdout.write(chunk));
process.stdin.pipe(parser);
