// Run by `npm install` (postinstall), and in the background by a start that found none: makes the
// initialised, migrated copy that a new embedded data directory starts from (src/db/index.ts), so
// the first `npm start` does not wait for initdb.
// Never fails the install: without the copy the first start makes it itself, only more slowly.
import { prepareEmbeddedTemplate, templatePath, isInitialised } from '../src/db/index.js';

const t0 = performance.now();
try {
  const existing = templatePath();
  const had = existing !== null && isInitialised(existing);
  const made = await prepareEmbeddedTemplate();
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (had) process.stdout.write('embedded database: initialised copy already prepared\n');
  else if (made) process.stdout.write(`embedded database: initialised copy prepared in ${seconds} s\n`);
  else process.stdout.write('embedded database: no initialised copy (the first start will initialise it)\n');
} catch (err) {
  process.stdout.write(`embedded database: no initialised copy (${err instanceof Error ? err.message : String(err)}); the first start will initialise it\n`);
}
