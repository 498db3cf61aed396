// A test file that shares a process with the other files of its folder. Starting a test process
// costs about 2 s of CPU before its first test (Node, tap and tsx's loaders, the service's modules)
// and most files then test for 1-2 s: the folder's `parts.test.ts` runs each `*.part.ts` of the
// folder, one after another, each as a subtest of its own with its own app and database (closed
// when it ends). `npx tap test/<folder>/<name>.part.ts` runs one alone, the same way.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Test } from 'tap';

export type PartBody = (t: Test) => Promise<void>;
export type Part = { name: string; body: PartBody };

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const nameOf = (url: string) => path.relative(repoRoot, fileURLToPath(url));

/** Declares a part; run at once when the file is the one Node was started with. */
export function part(url: string, body: PartBody): Part {
  const p = { name: nameOf(url), body };
  const main = process.argv[1];
  if (main && pathToFileURL(fs.realpathSync(path.resolve(main))).href === url) {
    void import('tap').then(({ default: t }) => t.test(p.name, p.body));
  }
  return p;
}

/** Runs every `*.part.ts` in the folder of `url`, in name order, one after another (runPartFiles). */
export async function runParts(t: Test, url: string): Promise<void> {
  const dir = path.dirname(fileURLToPath(url));
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.part.ts')).sort();
  if (files.length === 0) throw new Error(`no *.part.ts in ${nameOf(url)}`);
  await runPartFiles(t, files.map((f) => path.join(dir, f)));
}

/**
 * Runs these part files in this order, one after another. Each part has tap's whole time limit
 * (package.json's tap.timeout) to itself, as it had as a file of its own: the timer is restarted
 * before each (tap.setTimeout tells the runner too).
 */
export async function runPartFiles(t: Test, files: string[]): Promise<void> {
  const limit = Number(process.env.TAP_TIMEOUT || 30) * 1000;
  for (const file of files) {
    const { default: p } = (await import(pathToFileURL(path.resolve(repoRoot, file)).href)) as { default: Part };
    if (limit > 0) t.setTimeout(limit);
    await t.test(p.name, p.body);
  }
}
