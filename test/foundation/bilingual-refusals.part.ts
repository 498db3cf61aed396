import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // Every refusal a workflow's rules (and its application check) can give is declared in both languages
  // where the rule is: refusal(en, zh). Read from the source, so that a branch no test reaches is judged
  // too. What is typed in is judged; the values put into it (ids, dates, names, numbers) are data.
  const dir = path.resolve(import.meta.dirname, '../../workflows');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
  const LATIN = /[A-Za-z]/;
  const HAN = /[\u4e00-\u9fff]/;

  /** The text written into a string or template literal, its ${…} values left out; null for any other expression. */
  function written(node: ts.Expression): string[] | null {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
    if (ts.isTemplateExpression(node)) return [node.head.text, ...node.templateSpans.map((s) => s.literal.text)];
    return null;
  }

  type Call = { where: string; args: readonly ts.Expression[] };
  const calls: Call[] = [];
  const appErrors: Call[] = [];
  for (const file of files) {
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(dir, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'refusal') {
        calls.push({ where: `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`, args: node.arguments });
      }
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'AppError') {
        appErrors.push({ where: `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`, args: node.arguments ?? [] });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }

  t.test('every refusal in workflows/ says it in English and in Chinese, each in its own words', async (t) => {
    // The sandbox, certification, genai and accreditation rules, the deadline rule of kit.ts: dozens, not a handful.
    t.ok(calls.length >= 45, `refusals found: ${calls.length}`);
    let literal = 0;
    for (const { where, args } of calls) {
      t.equal(args.length, 2, `${where}: refusal(en, zh)`);
      const en = written(args[0]!);
      const zh = written(args[1]!);
      // The one refusal that joins others (results checks): both sides built the same way from refusals already judged here.
      if (en === null || zh === null) {
        t.ok(en === null && zh === null && /\.en\b/.test(args[0]!.getText()) && /\['zh-Hans'\]/.test(args[1]!.getText()), `${where}: a refusal built from refusals, language by language`);
        continue;
      }
      literal++;
      t.ok(en.join('').trim() !== '' && !HAN.test(en.join('')), `${where}: the English is written in English`);
      t.ok(HAN.test(zh.join('')), `${where}: the Chinese is written in Chinese`);
      t.notOk(LATIN.test(zh.join('')), `${where}: no Latin letters typed into the Chinese (only values put in): ${JSON.stringify(zh)}`);
    }
    t.ok(literal >= calls.length - 1, 'all but the joined one are literals');
  });

  t.test('a rule_violation a workflow throws itself carries its Chinese too', async (t) => {
    const rules = appErrors.filter((c) => c.args[0] && ts.isStringLiteral(c.args[0]) && c.args[0].text === 'rule_violation');
    t.ok(rules.length >= 1);
    for (const { where, args } of rules) t.equal(args.length, 4, `${where}: new AppError('rule_violation', detail, extra, said)`);
  });
});
