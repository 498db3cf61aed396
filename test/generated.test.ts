import fs from 'node:fs';
import t from 'tap';
import { generateTypes, generatedFile } from '../scripts/gen-types.js';

t.test('src/generated/schemas.ts is current with schemas/ (run `npm run gen:types`)', async (t) => {
  t.equal(fs.readFileSync(generatedFile, 'utf8'), await generateTypes());
});

t.test('README.md workflow diagrams are current with the machines (run `npm run gen:readme`)', async (t) => {
  const { readmeFile, updatedReadme } = await import('../scripts/gen-readme.js');
  const readme = fs.readFileSync(readmeFile, 'utf8');
  t.equal(readme, updatedReadme(readme));
});
