import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // A new user's `git clone && npm install` must leave the clone clean and print no EBADENGINE
  // warning: the lockfile is what npm would write for package.json, and every package it installs
  // accepts every Node that package.json's `engines` claims (cookie 2, pulled in by light-my-request
  // 6.8, needs Node 22 while the service says Node 20: hence the override in package.json).

  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));

  type V = [number, number, number];
  const cmp = (a: V, b: V) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

  /**
   * The node-semver range forms that packages' `engines.node` use (`>=20`, `^20.17.0 || >=22.9.0`,
   * `20 || >=22`, `6.* || >= 10.x`, `~1.2`, `*`), for release versions. Anything else throws rather
   * than passing unchecked; semver itself is only a dependency of our dependencies.
   */
  function satisfies(version: string, range: string): boolean {
    const v = version.replace(/^v/, '').split('.').map(Number) as V;
    // Parsed whole before any is judged, so an unknown form throws wherever it stands.
    const alternatives = range.split('||').map((alt) =>
      alt
        .trim()
        .replace(/(<=|>=|<|>|=|\^|~)\s+/g, '$1')
        .split(/\s+/)
        .filter(Boolean)
        .map((c) => {
          const m = /^(<=|>=|<|>|=|\^|~)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/.exec(c);
          if (!m) throw new Error(`unsupported range ${JSON.stringify(range)}`);
          const [, op = '', ...parts] = m;
          return { op, given: parts.filter((p) => p !== undefined && !/^[xX*]$/.test(p)).map(Number) };
        }),
    );
    const holds = ({ op, given }: { op: string; given: number[] }) => {
      if (given.length === 0) return op !== '<' && op !== '>';
      const low = [given[0], given[1] ?? 0, given[2] ?? 0] as V;
      // The first version past a partial one (20 -> 21.0.0, 20.1 -> 20.2.0), or past a caret/tilde span.
      const bump = (at: number): V => (at === 0 ? [low[0] + 1, 0, 0] : at === 1 ? [low[0], low[1] + 1, 0] : [low[0], low[1], low[2] + 1]);
      const past = bump(given.length - 1);
      switch (op) {
        case '>=':
          return cmp(v, low) >= 0;
        case '>':
          return given.length === 3 ? cmp(v, low) > 0 : cmp(v, past) >= 0;
        case '<':
          return cmp(v, low) < 0;
        case '<=':
          return cmp(v, past) < 0;
        case '^':
          return cmp(v, low) >= 0 && cmp(v, bump(low[0] > 0 || given.length === 1 ? 0 : low[1] > 0 || given.length === 2 ? 1 : 2)) < 0;
        case '~':
          return cmp(v, low) >= 0 && cmp(v, bump(given.length === 1 ? 0 : 1)) < 0;
        default:
          return cmp(v, low) >= 0 && cmp(v, past) < 0;
      }
    };
    return alternatives.some((comparators) => comparators.every(holds));
  }

  t.test('the range check reads the forms packages use', async (t) => {
    const cases: Array<[string, string, boolean]> = [
      ['20.0.0', '>=20', true],
      ['20.20.2', '>=22', false],
      ['20.20.2', '>= 16', true],
      ['20.16.0', '^20.17.0 || >=22.9.0', false],
      ['22.8.0', '^20.17.0 || >=22.9.0', false],
      ['23.1.0', '^20.17.0 || >=22.9.0', true],
      ['20.5.1', '20 || >=22', true],
      ['21.0.0', '18 || 20 || >=22', false],
      ['20.19.0', '6.* || 8.* || >= 10.*', true],
      ['9.1.0', '6.* || 8.* || >= 10.*', false],
      ['20.0.0', '^14.13', false],
      ['14.20.0', '^12.20.0 || ^14.13.1 || >=16.0.0', true],
      ['0.10.5', '~0.10.2', true],
      ['20.0.0', '*', true],
      ['20.0.0', '>19.2', true],
      ['19.2.9', '>19.2', false],
      ['20.0.0', '<=20', true],
      ['21.0.0', '<=20', false],
    ];
    for (const [version, range, expected] of cases) t.equal(satisfies(version, range), expected, `${version} ${range}`);
    t.throws(() => satisfies('20.0.0', '18 - 20'), /unsupported range/, 'a form it does not know is refused, not passed');
  });

  t.test('package-lock.json is what npm install writes for package.json, so a fresh clone stays clean', async (t) => {
    const rootEntry = lock.packages[''];
    t.equal(lock.lockfileVersion, 3);
    t.same(rootEntry.dependencies, pkg.dependencies);
    t.same(rootEntry.devDependencies, pkg.devDependencies);
    t.same(rootEntry.engines, pkg.engines);
    const installScript = ['preinstall', 'install', 'postinstall'].some((s) => pkg.scripts?.[s]);
    t.equal(Boolean(rootEntry.hasInstallScript), installScript, 'hasInstallScript matches package.json\'s install scripts');
  });

  t.test("every installed package accepts every Node that package.json's engines allow", async (t) => {
    const ours: string = pkg.engines.node;
    // The lowest version of each alternative we claim, and the Node running this test when we claim it.
    const nodes = ours.split('||').map((alt) => /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(alt)!.slice(1).map((n) => n ?? '0').join('.'));
    if (satisfies(process.version, ours)) nodes.push(process.version.slice(1));
    t.comment(`checked against Node ${nodes.join(', ')}`);
    for (const n of nodes) t.ok(satisfies(n, ours), `${n} is within our own range ${ours}`);
    const refused: string[] = [];
    for (const [where, entry] of Object.entries<any>(lock.packages)) {
      const range = entry.engines?.node;
      if (!where || typeof range !== 'string') continue;
      for (const n of nodes) if (!satisfies(n, range)) refused.push(`${where}@${entry.version} needs node ${range}, not ${n}`);
    }
    t.same(refused, [], 'npm would warn EBADENGINE for none');
  });

  t.test("Kysely's values are loaded from src/db/kysely.ts (its CommonJS build), never by a value import of 'kysely'", async (t) => {
    // One value import of 'kysely' (or of kysely-pglite-dialect's ES-module build, which makes one)
    // loads Kysely's 263 ES modules beside the CommonJS build: ~0.6 s of CPU at every start (src/db/kysely.ts says why).
    const dirs = ['src', 'migrations', 'workflows', 'test', 'bench', 'scripts'];
    const files = dirs.flatMap((d) =>
      readdirSync(path.join(root, d), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && /\.(ts|mts|mjs|js)$/.test(e.name))
        .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)),
    );
    t.ok(files.length > 300, `${files.length} files read`);
    const shim = path.join(root, 'src', 'db', 'kysely.ts');
    const found: string[] = [];
    for (const file of files) {
      if (file === shim) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s*'(kysely(?:-pglite-dialect)?)'/gm)) {
        const [, typeOnly, clause, spec] = m as unknown as [string, string | undefined, string, string];
        const names = /\{([^}]*)\}/.exec(clause)?.[1]?.split(',').map((s) => s.trim()).filter(Boolean) ?? [clause];
        if (!typeOnly && names.some((n) => !n.startsWith('type '))) found.push(`${path.relative(root, file)}: ${m[0].trim()}`);
        void spec;
      }
      for (const m of text.matchAll(/(?<!typeof\s+)import\(\s*'(kysely(?:-pglite-dialect)?)'\s*\)/g)) found.push(`${path.relative(root, file)}: ${m[0]}`);
    }
    t.same(found, [], 'every other import of kysely is `import type`');
  });
});
