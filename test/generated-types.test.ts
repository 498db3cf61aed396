import fs from 'node:fs';
import t from 'tap';
import { generateTypes, generatedFile } from '../scripts/gen-types.js';

t.test('src/generated/schemas.ts is current with schemas/ (run `npm run gen:types`)', async (t) => {
  t.equal(fs.readFileSync(generatedFile, 'utf8'), await generateTypes());
});
