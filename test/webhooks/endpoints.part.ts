import { webhookApp } from './support.js';
import { buildTestApp } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // One app for the file, without WEBHOOK_ALLOW_PRIVATE (https to public addresses only); each test makes its own cast.
  const shared = await buildTestApp(t);

  t.test('webhook endpoints: created with a secret shown once, listed, changed, deleted, audited without the secret', async (t) => {
    const w = await webhookApp(t, { ta: shared });
    const { ta, applicant, otherApplicant, regulator } = w;
    const created = await w.hook(applicant.token, { url: 'https://hooks.example.cn/registry', events: ['sandbox-cases.REQUEST_INFO', 'certification-cases.*', 'reminder.*'], description: 'Compliance desk' });
    t.match(created, { url: 'https://hooks.example.cn/registry', events: ['sandbox-cases.REQUEST_INFO', 'certification-cases.*', 'reminder.*'], enabled: true, description: 'Compliance desk', organization_id: w.applicantOrg.id });
    t.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    t.equal(Buffer.from(created.secret.slice(6), 'base64').length, 32, '32 random bytes');

    const got = w.ok(await ta.req({ method: 'GET', url: `/v1/webhooks/${created.id}`, token: applicant.token }));
    t.notOk('secret' in got, 'the secret is never shown again');
    const list = w.ok(await ta.req({ method: 'GET', url: '/v1/webhooks', token: applicant.token }));
    t.same(list.items.map((x: any) => x.id), [created.id]);
    t.equal(list.next_cursor, null);

    t.equal((await ta.req({ method: 'GET', url: `/v1/webhooks/${created.id}`, token: otherApplicant.token })).statusCode, 404, 'another organization never sees it');
    t.equal((await ta.req({ method: 'GET', url: `/v1/webhooks/${created.id}`, token: regulator.token })).statusCode, 404, 'a regulator manages the regulators’ endpoints only');
    t.same(w.ok(await ta.req({ method: 'GET', url: '/v1/webhooks', token: otherApplicant.token })).items, []);
    t.equal((await ta.req({ method: 'PATCH', url: `/v1/webhooks/${created.id}`, token: otherApplicant.token, payload: { enabled: false } })).statusCode, 404);
    t.equal((await ta.req({ method: 'DELETE', url: `/v1/webhooks/${created.id}`, token: otherApplicant.token })).statusCode, 404);
    t.equal((await ta.req({ method: 'POST', url: '/v1/webhooks', token: ta.adminToken, payload: { url: 'https://a.example.cn', events: ['*'] } })).statusCode, 403, 'admins run the service, they do not subscribe');

    const regulatorHook = await w.hook(regulator.token, { url: 'https://hooks.gd.gov.cn/all', events: ['*'] });
    t.equal(regulatorHook.organization_id, null, 'a regulators’ endpoint hears every case');

    const patched = w.ok(await ta.req({ method: 'PATCH', url: `/v1/webhooks/${created.id}`, token: applicant.token, payload: { enabled: false, events: ['*'] } }));
    t.match(patched, { enabled: false, events: ['*'], url: created.url, disabled_reason: 'disabled by its owner' });
    t.match(w.ok(await ta.req({ method: 'PATCH', url: `/v1/webhooks/${created.id}`, token: applicant.token, payload: { enabled: true, description: null } })), { enabled: true, disabled_reason: null, description: null });

    t.equal((await ta.req({ method: 'DELETE', url: `/v1/webhooks/${created.id}`, token: applicant.token })).statusCode, 204);
    t.equal((await ta.req({ method: 'GET', url: `/v1/webhooks/${created.id}`, token: applicant.token })).statusCode, 404);

    const chain = await ta.app.db.selectFrom('audit_events').select(['type', 'payload']).where('kind', '=', 'webhook').orderBy('seq').execute();
    t.same(chain.map((e) => e.type), ['WEBHOOK_CREATED', 'WEBHOOK_CREATED', 'WEBHOOK_UPDATED', 'WEBHOOK_UPDATED', 'WEBHOOK_DELETED']);
    t.notMatch(JSON.stringify(chain), created.secret.slice(6), 'the secret is never in the audit trail');
    t.notMatch(JSON.stringify(chain), /whsec_/);
    const stored = await ta.app.db.selectFrom('webhook_endpoints').select('secret_ciphertext').where('id', '=', regulatorHook.id).executeTakeFirstOrThrow();
    t.notOk(stored.secret_ciphertext.includes(Buffer.from(regulatorHook.secret.slice(6), 'base64')), 'stored encrypted');
    t.notOk(stored.secret_ciphertext.toString('latin1').includes(regulatorHook.secret.slice(6)), 'not as text either');
    t.match(w.ok(await ta.req({ method: 'GET', url: '/v1/audit/verify', token: regulator.token })), { ok: true });
  });

  t.test('bad endpoints are refused naming the field', async (t) => {
    const ta = shared;
    const w = await webhookApp(t, { ta });
    const refuse = async (payload: Record<string, unknown>, path: RegExp, message: RegExp) => {
      const r = await ta.req({ method: 'POST', url: '/v1/webhooks', token: w.applicant.token, payload });
      t.equal(r.statusCode, 400, JSON.stringify(payload));
      t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      t.match(r.json(), { code: 'validation_failed', errors: [{ path, message }] });
    };
    await refuse({ url: 'http://hooks.example.cn/x', events: ['*'] }, /body\/url/, /https:\/\/.*WEBHOOK_ALLOW_PRIVATE/);
    await refuse({ url: 'https://127.0.0.1/x', events: ['*'] }, /body\/url/, /private, loopback or link-local/);
    await refuse({ url: 'https://[::1]/x', events: ['*'] }, /body\/url/, /private, loopback or link-local/);
    await refuse({ url: 'https://169.254.169.254/latest', events: ['*'] }, /body\/url/, /link-local/);
    await refuse({ url: 'https://localhost/x', events: ['*'] }, /body\/url/, /local host/);
    await refuse({ url: 'not a url', events: ['*'] }, /body\/url/, /not a valid URL/);
    await refuse({ url: 'https://u:p@hooks.example.cn/', events: ['*'] }, /body\/url/, /credentials/);
    await refuse({ url: 'https://hooks.example.cn/', events: ['*', 'sandbox-cases.FLY'] }, /body\/events\/1/, /"sandbox-cases\.FLY" is not an event/);
    await refuse({ url: 'https://hooks.example.cn/', events: ['reminder.lunch'] }, /body\/events\/0/, /not an event/);
    await refuse({ url: 'https://hooks.example.cn/', events: [] }, /body\/events/, /fewer than 1/);
    await refuse({ url: 'https://hooks.example.cn/', events: ['*'], secret: 'mine' }, /body\/secret/, /not an allowed field/);
    const created = await w.hook(w.applicant.token, { url: 'https://hooks.example.cn/', events: ['sandbox-cases.*'] });
    const r = await ta.req({ method: 'PATCH', url: `/v1/webhooks/${created.id}`, token: w.applicant.token, payload: { url: 'https://10.1.2.3/' } });
    t.match(r.json(), { status: 400, errors: [{ path: 'body/url' }] });
    t.equal(w.ok(await ta.req({ method: 'GET', url: `/v1/webhooks/${created.id}`, token: w.applicant.token })).url, 'https://hooks.example.cn/', 'nothing changed');
  });

  t.test('an Idempotency-Key replay answers the endpoint without its secret, and makes no second one', async (t) => {
    const w = await webhookApp(t, { ta: shared });
    const send = () => w.ta.req({ method: 'POST', url: '/v1/webhooks', token: w.applicant.token, headers: { 'idempotency-key': 'hook-1' }, payload: { url: 'https://hooks.example.cn/', events: ['*'] } });
    const first = await send();
    const again = await send();
    t.equal(again.statusCode, 201);
    t.equal(again.headers['idempotent-replayed'], 'true');
    t.equal(again.json().id, first.json().id);
    t.notOk('secret' in again.json());
    t.equal(w.ok(await w.ta.req({ method: 'GET', url: '/v1/webhooks', token: w.applicant.token })).items.length, 1);
  });
});
