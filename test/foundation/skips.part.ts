// A test that did not run is reported as skipped (t.plan(0, reason), t.skip, { skip }), never as
// passed: the closing "N passed, N failed, N skipped" line must be true. Issue 17 item 22 found three
// files that reported a pass saying "skipped" on the embedded database.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));

  t.test('no test file reports work it skipped as passed', async (t) => {
    const offenders: string[] = [];
    for (const f of files) {
      const lines = fs.readFileSync(path.join(root, f), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (/\bt\.(pass|ok)\s*\([^)]*\bskip/i.test(line)) offenders.push(`test/${f}:${i + 1}: ${line.trim()}`);
      });
    }
    t.ok(files.length > 50, `${files.length} test sources read`);
    t.same(offenders, [], 'skips are reported with t.plan(0, reason), t.skip or { skip }');
  });

  // .ci/run runs the files of .ci/embedded on the embedded database too: a file renamed or removed
  // must not silently drop out of that pass.
  t.test('every file .ci/embedded names exists', async (t) => {
    const listed = fs
      .readFileSync(path.join(root, '..', '.ci', 'embedded'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    t.ok(listed.length >= 10, `${listed.length} files listed`);
    t.same(
      listed.filter((f) => !fs.existsSync(path.join(root, '..', f))),
      [],
      'each exists',
    );
  });

  // A *.part.ts runs only in its folder's parts.test.ts (test/helpers/part.ts): one in a folder
  // without it, or that does not declare itself with part(), would never run and never be missed.
  t.test('every *.part.ts is run by its folder\'s parts.test.ts, and declares itself with part()', async (t) => {
    const parts = files.filter((f) => f.endsWith('.part.ts'));
    t.ok(parts.length >= 50, `${parts.length} parts`);
    const notRun = parts.filter((f) => {
      const runner = path.join(root, path.dirname(f), 'parts.test.ts');
      return !fs.existsSync(runner) || !/^await runParts\(t, import\.meta\.url\);$/m.test(fs.readFileSync(runner, 'utf8'));
    });
    t.same(notRun, [], 'each folder with parts has a parts.test.ts that runs them');
    const undeclared = parts.filter((f) => !/^export default part\(import\.meta\.url, async \(t\) => \{$/m.test(fs.readFileSync(path.join(root, f), 'utf8')));
    t.same(undeclared, [], 'each part is `export default part(import.meta.url, async (t) => {…})`');
    const runnersWithoutParts = files.filter((f) => path.basename(f) === 'parts.test.ts' && !parts.some((p) => path.dirname(p) === path.dirname(f)));
    t.same(runnersWithoutParts, [], 'no parts.test.ts without parts');
  });
});
