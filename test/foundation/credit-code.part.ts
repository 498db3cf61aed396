import fc from 'fast-check';
import { buildTestApp } from '../helpers/app.js';
import { creditCodeProblem } from '../../src/registry/credit-code.js';
import { assertProblem, countRows } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // An independent reference for the check characters, written from the standards rather than
  // from src/: GB 32100-2015 weights are 3^(i-1) mod 31, GB 11714-1997 maps A-Z to 10-35.
  const CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const ref = {
    uscc(first17: string): string {
      let sum = 0;
      for (let i = 0; i < 17; i++) {
        let w = 1;
        for (let k = 0; k < i; k++) w = (w * 3) % 31;
        sum += CHARSET.indexOf(first17[i]!) * w;
      }
      return CHARSET[(31 - (sum % 31)) % 31]!;
    },
    orgCode(body8: string): string {
      const weights = [3, 7, 9, 10, 5, 8, 4, 2];
      let sum = 0;
      for (let i = 0; i < 8; i++) sum += parseInt(body8[i]!, 36) * weights[i]!;
      const c = 11 - (sum % 11);
      return c === 10 ? 'X' : c === 11 ? '0' : String(c);
    },
  };

  const char = (set: string) => fc.constantFrom(...set.split(''));
  const NOT_ZERO = CHARSET.slice(1);
  const ORG_BODY = CHARSET; // the 31 characters; I, O, S, V, Z never appear in a credit code
  const validCode = fc
    .tuple(char(NOT_ZERO), char(NOT_ZERO), fc.stringMatching(/^\d{6}$/), fc.array(char(ORG_BODY), { minLength: 8, maxLength: 8 }))
    .map(([authority, category, division, body]) => {
      const org = body.join('') + ref.orgCode(body.join(''));
      const first17 = authority + category + division + org;
      return first17 + ref.uscc(first17);
    });

  /** Every code that differs from `code` in exactly one character, over the charset, lower case and the letters the charset leaves out. */
  function corruptions(code: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < code.length; i++) {
      for (const c of `${CHARSET}IOSVZ`) if (c !== code[i]) out.push(code.slice(0, i) + c + code.slice(i + 1));
    }
    return out;
  }

  const REAL = [
    '914403001922038216', // Huawei Technologies Co., Ltd.
    '91110000600037341L',
    '9144030071526726XG', // Shenzhen Tencent Computer Systems Co., Ltd. (organization code check character X)
    '91330100716105852F',
    '91110000802100433B',
    '91440300MA5H8REU3K', // a post-2015 "MA" organization code, letters inside the organization code
    '91440300MA5DLQQW0F',
    '12100000400000624D', // a public institution (registration authority 1)
    '91350100M000100Y43', // the worked example of GB 32100-2015 with its check character corrected
  ];

  t.test('the validator accepts every generated valid code', async (t) => {
    fc.assert(
      fc.property(validCode, (code) => creditCodeProblem(code) === null),
      { numRuns: 2000 },
    );
    t.pass('2000 generated codes accepted');
  });

  t.test('every single-character corruption of a generated valid code is refused', async (t) => {
    fc.assert(
      fc.property(validCode, (code) => corruptions(code).every((bad) => creditCodeProblem(bad) !== null)),
      { numRuns: 200 },
    );
    t.pass('all corruptions of 200 generated codes refused');
  });

  t.test('every transposition of two different adjacent characters is refused', async (t) => {
    fc.assert(
      fc.property(validCode, fc.integer({ min: 0, max: 16 }), (code, i) => {
        fc.pre(code[i] !== code[i + 1]);
        return creditCodeProblem(code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2)) !== null;
      }),
      { numRuns: 1000 },
    );
    t.pass('transpositions refused');
  });

  t.test('the validator agrees with the reference on the check characters of real codes', async (t) => {
    for (const code of REAL) {
      t.equal(creditCodeProblem(code), null, `${code} is valid`);
      t.equal(ref.uscc(code.slice(0, 17)), code[17], `${code}: reference check character`);
      t.equal(ref.orgCode(code.slice(8, 16)), code[16], `${code}: reference organization-code check character`);
    }
  });

  t.test('shapes that are not credit codes are refused with a reason', async (t) => {
    for (const bad of ['', '91440300192203821', '9144030019220382160', '914403001922038216 ', '914403001922o38216', '014403001922038216', '91440A001922038216', '91350100M000100Y4Z']) {
      t.type(creditCodeProblem(bad), 'string', JSON.stringify(bad));
    }
  });

  t.test('through HTTP', async (t) => {
    const ta = await buildTestApp(t);
    const create = (credit_code: string, region = 'guangdong') =>
      ta.req({ method: 'POST', url: '/v1/organizations', token: ta.adminToken, payload: { name: `Org ${credit_code}`, kind: 'enterprise', region, credit_code, contact_email: 'a@example.cn' } });

    t.test('real codes are accepted and stored as given', async (t) => {
      for (const code of REAL) {
        const res = await create(code, code.slice(2, 4) === '44' ? 'guangdong' : 'mainland_other');
        t.equal(res.statusCode, 201, `${code}: ${res.body.slice(0, 200)}`);
        t.equal(res.json().credit_code, code);
      }
      t.equal(await countRows(ta, 'organizations'), REAL.length);
    });

    t.test('every single-character corruption of a real code is refused with 400 naming body/credit_code', async (t) => {
      const before = await countRows(ta, 'organizations');
      const bad = corruptions('914403001922038216');
      let refused = 0;
      for (const code of bad) {
        const res = await create(code);
        const body = JSON.parse(res.body);
        if (res.statusCode === 400 && body.code === 'validation_failed' && body.errors?.some((e: { path: string }) => e.path === 'body/credit_code')) refused++;
        else t.fail(`${code} answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
      }
      t.equal(refused, bad.length, `${bad.length} corruptions refused`);
      assertProblem(t, await create(bad[0]!), 400, 'validation_failed', 'body/credit_code');
      t.equal(await countRows(ta, 'organizations'), before, 'none stored');
    });

    t.test('generated valid codes are accepted (property over HTTP)', async (t) => {
      await fc.assert(
        fc.asyncProperty(validCode, async (code) => {
          const res = await create(code);
          // A generated code may repeat one already registered; that is a 409, never a refusal of the code.
          return res.statusCode === 201 || res.statusCode === 409;
        }),
        { numRuns: 40 },
      );
      t.pass('accepted');
    });

    t.test('a lower-case code is refused: codes are upper case', async (t) => {
      assertProblem(t, await create('9144030071526726xg'), 400, 'validation_failed', 'body/credit_code');
    });
  });
});
