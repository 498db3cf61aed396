// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by package/file, the
// way the profiles quoted in bench/README.md were read.
//   npx tsx bench/profile-summary.ts bench/.work/prof/CPU.*.cpuprofile [top]
// Only the seconds in which the process was busy at least half the time are counted (the load
// rounds), so start-up, warm-up edges and the baseline's rounds, when the service idles, do not
// dilute the picture; BUSY_SHARE=0 counts everything.
import fs from 'node:fs';

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
const top = Number(topArg ?? 40);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const busyShare = Number(process.env.BUSY_SHARE ?? 0.5);
const idleId = p.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id;
// Each sample's second since the start, and how busy each second was.
const second: number[] = [];
const seconds = new Map<number, { all: number; idle: number }>();
let clock = 0;
p.samples.forEach((id, i) => {
  clock += p.timeDeltas[i] ?? 0;
  const s = Math.floor(clock / 1e6);
  second.push(s);
  const b = seconds.get(s) ?? { all: 0, idle: 0 };
  b.all += p.timeDeltas[i] ?? 0;
  if (id === idleId) b.idle += p.timeDeltas[i] ?? 0;
  seconds.set(s, b);
});
const counted = (i: number) => {
  const b = seconds.get(second[i]!)!;
  return b.all > 0 && 1 - b.idle / b.all >= busyShare;
};
const self = new Map<number, number>();
p.samples.forEach((id, i) => {
  if (counted(i)) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
});
const busySeconds = [...seconds.values()].filter((b) => b.all > 0 && 1 - b.idle / b.all >= busyShare).length;
process.stdout.write(`${busySeconds} of ${seconds.size} seconds were at least ${Math.round(busyShare * 100)} % busy and are counted\n`);
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (url: string) => {
  if (!url) return '(native/vm)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\/.*?\/(src|workflows|migrations)\//, '$1/');
};
const fn = new Map<string, number>();
const pkg = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const k = `${n.callFrame.functionName || '(anonymous)'}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + us);
  const g = n.callFrame.url ? where(n.callFrame.url) : n.callFrame.functionName;
  pkg.set(g, (pkg.get(g) ?? 0) + us);
}
const show = (m: Map<string, number>, title: string) => {
  process.stdout.write(`\n${title} (total ${(total / 1e6).toFixed(2)} s sampled)\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}\n`);
};
show(pkg, 'self time by package or file');
show(fn, 'self time by function');

// Inclusive ("total") time by package: a sample counts once for every package on its stack.
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map<string, number>();
for (const [id, us] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    const g = n.callFrame.url ? where(n.callFrame.url) : n.callFrame.functionName;
    const f = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}`;
    for (const k of [`[pkg] ${g}`, f]) if (!seen.has(k)) (seen.add(k), incl.set(k, (incl.get(k) ?? 0) + us));
  }
}
show(incl, 'inclusive time (package, or function) ');

// By area of the service: each sample goes to the first frame, from the leaf up, that belongs to a
// known area (so Node's stream internals count for whoever called them); socket writes and idle
// are kept apart, being time in the kernel or waiting for a CPU rather than JavaScript.
const AREAS: Array<[string, RegExp]> = [
  ['logging (pino)', /^(pino|sonic-boom|@pinojs\/redact|pino-std-serializers|src\/logger\.ts)/],
  ['database driver (kysely, pg)', /^(pg|pg-protocol|pg-pool|pg-types|postgres-date|postgres-array|kysely|src\/db\/)/],
  ['validation (ajv)', /^(ajv|ajv-formats|src\/schemas\.ts)|^validate\d*$/],
  ['engine (machine, audit hash)', /^(xstate|src\/services\/(engine|audit)\.ts|workflows\/)/],
  ['routes, auth, plugins (ours)', /^src\//],
  ['HTTP (node:http, fastify)', /^(node:_http|node:net|fastify|@fastify|find-my-way|secure-json-parse|fast-json-stringify|light-my-request|helmet|avvio)/],
];
const area = new Map<string, number>();
for (const [id, us] of self) {
  let a: string | null = null;
  const leaf = byId.get(id)!.callFrame.functionName;
  if (leaf === '(idle)') a = '(idle)';
  else if (leaf === 'writev' || leaf === 'writeBuffer' || leaf === 'writeUtf8String' || leaf === 'writeLatin1String') a = 'socket writes (kernel; includes waiting for a CPU)';
  else if (leaf === '(garbage collector)') a = 'garbage collector';
  for (let cur: number | undefined = id; a === null && cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!;
    const w = n.callFrame.url ? where(n.callFrame.url) : n.callFrame.functionName;
    for (const [name, re] of AREAS) if (re.test(w)) { a = name; break; }
  }
  a ??= 'other (node internals, microtasks)';
  area.set(a, (area.get(a) ?? 0) + us);
}
show(area, 'by area of the service');
