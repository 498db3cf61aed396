import { randomUUID } from 'node:crypto';
import { Schemas, loadSchemaFiles, type JsonSchema } from '../../src/schemas.js';
import { SchemaFiles, optionsOf, type Resolved } from '../../src/workbench/form-schema.js';
import { errorsByField, readFields, toFields } from '../../src/workbench/form-values.js';
import { errorSummary, renderForm } from '../../src/workbench/form.js';
import { submittedFields } from './form-fields.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const schemaFiles = loadSchemaFiles();
  const schemas = new Schemas(schemaFiles);
  const files = new SchemaFiles(schemaFiles);

  /** A value the schema accepts, made from the schema alone: every property, the first choice, the least number, strings that fit. */
  function generate(r: Resolved, depth = 0, requiredOnly = false): unknown {
    const n = r.node;
    if (depth > 8) throw new Error('too deep');
    switch (r.kind) {
      case 'object':
        return Object.fromEntries(
          Object.entries(n.properties!)
            .filter(([k]) => !requiredOnly || (n.required ?? []).includes(k))
            .map(([k, s]) => [k, generate(files.child(r, s), depth + 1)]),
        );
      case 'map':
        return { throughput_rps: 12.5 };
      case 'array': {
        const count = Math.max(n.minItems ?? 1, 2);
        return Array.from({ length: Math.min(count, n.maxItems ?? count) }, (_x, i) => {
          const v = generate(files.child(r, n.items ?? {}), depth + 1);
          return typeof v === 'string' && n.uniqueItems ? `${v}${i}` : v;
        });
      }
      case 'choices':
        return optionsOf(files.child(r, n.items ?? {}).node).slice(0, 2);
      case 'enum':
        return optionsOf(n)[0];
      case 'boolean':
        return true;
      case 'number':
        return (n.minimum ?? 0) + 1.5;
      case 'integer':
        return (n.minimum ?? 0) + 1;
      case 'datetime':
        return '2027-03-31T09:30:00+08:00';
      case 'text':
      case 'textarea': {
        if (n.format === 'uuid') return randomUUID();
        if (n.format === 'email') return 'someone@example.cn';
        const candidates = ['Line one\nline two', 'abc', 'a1', '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', '91440300MA5F12342Q', '12345678', 'ABC-1'];
        const fits = candidates.find((c) => (!n.pattern || new RegExp(n.pattern as string, 'u').test(c)) && c.length >= (n.minLength ?? 0) && c.length <= (n.maxLength ?? Infinity));
        if (fits === undefined) throw new Error(`no sample string fits ${JSON.stringify(n)}`);
        return r.kind === 'text' ? fits.replace(/\n/g, ' ') : fits;
      }
      default:
        return undefined;
    }
  }

  /** Times compared as instants: the form writes them in China Standard Time. */
  const sameInstants = (v: unknown): unknown =>
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v))
      ? new Date(v).toISOString()
      : Array.isArray(v)
        ? v.map(sameInstants)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sameInstants(x)]))
          : v;

  /** A value with its times as instants and its sets of choices in the schema's order (the order the form lists them in). */
  function canonical(r: Resolved, v: unknown): unknown {
    if (v === undefined || v === null) return v;
    switch (r.kind) {
      case 'object':
        return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, r.node.properties![k] ? canonical(files.child(r, r.node.properties![k]!), x) : x]));
      case 'array':
        return (v as unknown[]).map((x) => canonical(files.child(r, r.node.items ?? {}), x));
      case 'choices': {
        const order = optionsOf(files.child(r, r.node.items ?? {}).node);
        return [...(v as unknown[])].sort((a, b) => order.indexOf(a) - order.indexOf(b));
      }
      default:
        return sameInstants(v);
    }
  }

  /** The value drawn into a form, sent back as a browser sends the form, and read back. */
  function roundTrip(root: Resolved, value: unknown) {
    const { controls } = renderForm({ lang: 'en', files, root, fields: toFields(files, root, value), errors: new Map() });
    return readFields(files, root, submittedFields(controls.value));
  }

  for (const file of schemaFiles) {
    t.test(`the form generator draws and reads back ${file.$id}`, async (t) => {
      const root = files.resolve(file, file.$id!);
      for (const lang of ['en', 'zh-Hans'] as const) {
        const { controls } = renderForm({ lang, files, root, fields: {}, errors: new Map() });
        t.type(controls.value, 'string', `draws in ${lang}`);
      }
      const validate = schemas.body.getSchema(file.$id!)!;
      // Every property where the schema allows them all at once, else the required ones (a rule between fields forbids some together).
      const full = generate(root);
      const values: Array<[string, unknown]> = [['generated', validate(full) ? full : generate(root, 0, true)]];
      const example = (file.examples as unknown[] | undefined)?.[0] ?? (root.node as JsonSchema).examples;
      if (example !== undefined) values.push(['its example', Array.isArray(example) ? example[0] : example]);
      for (const [what, value] of values) {
        const back = roundTrip(root, value);
        t.ok(validate(value), `${what} value is one the schema accepts`);
        t.ok(validate(back), `${what} value, submitted through the form, validates: ${JSON.stringify(validate.errors)}`);
        t.same(canonical(root, back), canonical(root, value), `${what} value comes back as it went in`);
      }
    });
  }

  const admit = files.resolve(files.file('sandbox/events/ADMIT.json'), 'sandbox/events/ADMIT.json');

  t.test('an empty submission is refused with each error beside its field and in the summary', async (t) => {
    const value = readFields(files, admit, { conditions: ['', ''], '_rows.conditions': ['2'], 'testing_period.start': ['2027-01-01T09:00'], 'testing_period.end': ['next week'] });
    t.same(value, { testing_period: { start: '2027-01-01T09:00:00+08:00', end: 'next week' } }, 'blank rows are left out; what cannot be read is kept as typed');
    const errors = errorsByField(files, admit, schemas.check('sandbox/events/ADMIT.json', value, 'body/payload'), 'body/payload');
    t.same([...errors.keys()].sort(), ['conditions', 'testing_period.end']);
    const fields = { 'testing_period.end': ['next week'], 'testing_period.start': ['2027-01-01T09:00'] };
    const { controls, labels } = renderForm({ lang: 'en', files, root: admit, fields, errors });
    t.match(controls.value, /<fieldset class="group has-error" id="f_conditions"/);
    t.match(controls.value, /<p class="field-error" id="f_testing_period-2e-end-error"><span class="visually-hidden">Error: <\/span>Enter a date and time like 2027-01-31 09:00<\/p>/);
    t.match(controls.value, /id="f_testing_period-2e-end" name="testing_period.end" value="next week" aria-describedby="f_testing_period-2e-end-hint f_testing_period-2e-end-error" aria-invalid="true"/, 'the input kept, described by its error');
    const summary = errorSummary('en', errors, labels).value;
    t.match(summary, /<a href="#f_conditions">Conditions: Enter this<\/a>/);
    t.match(summary, /<a href="#f_testing_period-2e-end">Testing period › End: Enter a date and time/);
  });

  t.test('"add another" shows one more row and keeps what was typed, without JavaScript', async (t) => {
    const fields = { 'conditions[0]': ['First'], '_rows.conditions': ['1'], _add: ['conditions'] };
    const { controls } = renderForm({ lang: 'en', files, root: admit, fields, errors: new Map() });
    t.match(controls.value, /name="conditions\[0\]" value="First"|name="conditions\[0\]"[^>]*>First</);
    t.match(controls.value, /name="conditions\[1\]"/);
    t.match(controls.value, /<input type="hidden" name="_rows.conditions" value="2">/);
    t.match(controls.value, /<button type="submit" class="secondary" name="_add" value="conditions" formnovalidate>Add another<\/button>/);
  });

  t.test('required marks, limits and descriptions are shown; long texts are text areas; few choices are radios', async (t) => {
    const results = files.resolve(files.file('certification/events/POST_RESULTS.json'), 'certification/events/POST_RESULTS.json');
    const { controls } = renderForm({ lang: 'zh-Hans', files, root: results, fields: {}, errors: new Map() });
    t.match(controls.value, /检测结果 <span class="req">\(必填\)<\/span>/);
    t.match(controls.value, /<textarea id="f_summary" name="summary" rows="4" maxlength="20000"/);
    t.match(controls.value, /不超过 20000 个字符/);
    t.match(controls.value, /已签署检测报告的 SHA-256/, 'the schema’s description in the reader’s language');
    t.notMatch(controls.value, /leap second/, 'a referenced file’s own description is not a field’s hint');
    t.match(controls.value, /日期和时间，北京时间（UTC\+8）/);
    t.match(controls.value, /<input type="radio" id="f_results-5b-0-5d--2e-verdict-0" name="results\[0\].verdict" value="pass"/);
    const given = renderForm({ lang: 'en', files, root: results, fields: {}, errors: new Map(), options: { criterion_id: [{ value: 'emergency-stop', label: 'Emergency stop (mandatory)' }] } });
    t.match(given.controls.value, /<input type="radio" id="f_results-5b-0-5d--2e-criterion_id-0" name="results\[0\].criterion_id" value="emergency-stop"> Emergency stop \(mandatory\)/, 'a property given its choices offers them');
  });

  t.test('ajv’s words become the reader’s, in both languages', async (t) => {
    const { errorText } = await import('../../src/workbench/form.js');
    t.equal(errorText('en', 'must NOT have more than 200 characters'), 'Enter at most 200 characters');
    t.equal(errorText('zh-Hans', 'must NOT have more than 200 characters'), '不得超过 200 个字符');
    t.equal(errorText('zh-Hans', 'must match pattern "^[0-9a-f]{64}$"'), '格式不符合要求，请参照提示填写');
    t.equal(errorText('en', 'must be >= 1'), 'Enter a number of at least 1');
    t.equal(errorText('zh-Hans', 'is required'), '请填写此项');
    t.equal(errorText('en', 'testing_period.end must be after testing_period.start'), 'testing_period.end must be after testing_period.start', 'a rule’s own sentence as it is');
  });
});
