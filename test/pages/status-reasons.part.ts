import { buildTestApp } from '../helpers/app.js';
import { sweepOnce } from '../../src/scheduler/scheduler.js';
import { LANGS, statusChangeLabels } from '../../workflows/labels.js';
import { DAY, certificationCast } from '../certification/cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // A certificate's status history shows the regulator's own words as written; a change the
  // regulator gave no reason for (RESTORE without one, EXPIRE) reads as a label in the reader's
  // language, never as English text of the system's.
  const en = { 'accept-language': 'en' };
  const zh = { 'accept-language': 'zh-CN' };

  const ta = await buildTestApp(t);
  const c = await certificationCast(ta);
  const lab = await c.lab(['robot-safety'], new Date(ta.clock.now().getTime() + 5 * 365 * DAY).toISOString(), '深圳人工智能检测实验室');
  const kase = await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab });
  const number = kase.record.certificate.number as string;
  c.ok(await c.fire(c.regulator.token, kase.id, 'SUSPEND', { reason: '急停装置失效' }));
  c.ok(await c.fire(c.regulator.token, kase.id, 'RESTORE'));

  /** The Event and Reason cells of the page's status history, in order. */
  async function history(headers: Record<string, string>) {
    const r = await ta.req({ method: 'GET', url: `/register/certificates/${number}`, headers });
    t.equal(r.statusCode, 200);
    return [...r.body.matchAll(/<td data-label="(?:Event|事项)">([^<]*)<\/td>\n<td data-label="(?:Status|状态)">.*?<\/td>\n<td data-label="(?:Reason|原因)">([^<]*)<\/td>/g)].map((m) => [m[1], m[2]]);
  }

  t.test('a RESTORE without a reason reads as a label in the page’s language, the regulator’s reasons as written', async (t) => {
    t.same(await history(zh), [
      ['颁发证书', '—'],
      ['暂停证书', '急停装置失效'],
      ['恢复证书', '暂停已解除'],
    ]);
    t.same(await history(en), [
      ['Certify', '—'],
      ['Suspend', '急停装置失效'],
      ['Restore', 'Suspension lifted'],
    ]);
    const body = (await ta.req({ method: 'GET', url: `/register/certificates/${number}`, headers: zh })).body;
    t.notMatch(body, /suspension lifted/i, 'the machine’s English text is nowhere on the Chinese page');
  });

  t.test('an expiry reads as a label in the page’s language', async (t) => {
    ta.clock.set(new Date(Date.parse(kase.record.certificate.valid_until) + 1));
    t.match(await sweepOnce(ta.app.engine), { fired: 1, failed: 0 }, 'the scheduler fires EXPIRE');
    const zhRows = await history(zh);
    t.same(zhRows.at(-1), ['证书到期', '有效期届满']);
    t.ok(zhRows.every(([, reason]) => !/[A-Za-z]/.test(reason!)), 'no reason on the Chinese page is in English');
    t.same((await history(en)).at(-1), ['Expire', 'Validity period ended']);
    const body = (await ta.req({ method: 'GET', url: `/register/certificates/${number}`, headers: zh })).body;
    t.notMatch(body, /validity ended/i);
  });

  t.test('every status-change label has both languages', async (t) => {
    for (const [event, label] of Object.entries(statusChangeLabels)) {
      for (const lang of LANGS) t.ok(label?.[lang]?.trim(), `${event} ${lang}`);
      t.match(label?.['zh-Hans'], /[\u4e00-\u9fff]/, `${event}: the Chinese label is Chinese`);
    }
  });
});
