import type { Test as Tap } from 'tap';
import { workflowByKind } from '../../workflows/index.js';
import { fireEventIn } from '../../src/cases/fire.js';
import { DAY, receiver, webhookApp } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('deliveries', async (t) => {
    const w = await webhookApp(t);
    const { ta, applicant, regulator } = w;
    const attemptsOf = (id: string) => ta.app.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', id).orderBy('id').execute();
    const deliveryRow = (id: string) => ta.app.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    /** An endpoint of the applicant's organization on receiver `r`, deleted when the subtest ends (so it hears no other subtest). */
    const hookOn = async (t: Tap, r: Awaited<ReturnType<typeof receiver>>, events: string[]) => {
      const hook = await w.hook(applicant.token, { url: r.url, events });
      r.state.secret = () => hook.secret;
      t.teardown(() => ta.req({ method: 'DELETE', url: `/v1/webhooks/${hook.id}`, token: applicant.token }));
      return hook;
    };
    /** Dispatches, moving the clock to each retry, until the delivery is no longer pending. */
    const untilSettled = async (id: string) => {
      for (let i = 0; i < 100; i++) {
        await w.dispatch();
        const d = await deliveryRow(id);
        if (d.status !== 'pending') return d;
        ta.clock.set(d.next_attempt_at);
      }
      throw new Error('never settled');
    };

    t.test('a committed event is delivered, signed, with only the SPEC fields; a rolled-back one sends nothing', async (t) => {
      const r = await receiver(t);
      const hook = await hookOn(t, r, ['sandbox-cases.*']);
      const c = await w.sandboxCase();
      await w.fire(applicant.token, c.id, 'SUBMIT');
      t.match(await w.dispatch(), { claimed: 2, delivered: 2, failed: 0 });
      t.same(r.invalid, [], 'every signature verifies with standardwebhooks');
      t.equal(r.got.length, 2);
      const history = w.ok(await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${c.id}/events`, token: applicant.token })).items;
      t.same(
        r.got.map((g) => g.json),
        history.map((e: any) => ({ type: `sandbox-cases.${e.type}`, timestamp: e.at, data: { case_id: c.id, number: c.number, kind: 'sandbox-cases', event: e.type, from_state: e.from_state, to_state: e.to_state, at: e.at } })),
        'oldest first, the body as SPEC 9 has it',
      );
      const listed = await w.deliveries(applicant.token, hook.id);
      t.same(listed.map((d: any) => d.id), r.got.map((g) => g.id), 'webhook-id is the delivery id');
      t.match(listed, [{ status: 'delivered', attempts: 1, last_status_code: 200, next_attempt_at: null }, { status: 'delivered', attempts: 1 }]);
      t.equal(w.ok(await ta.req({ method: 'GET', url: `/v1/webhooks/${hook.id}/deliveries?status=pending`, token: applicant.token })).items.length, 0);

      // An event written in a transaction that then rolls back: no delivery, nothing sent.
      const before = await ta.app.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      await t.rejects(
        ta.app.db.transaction().execute(async (trx) => {
          await fireEventIn(trx, ta.app.engine, workflowByKind.get('sandbox-cases')!, { principal_id: applicant.id, role: 'applicant', organization_id: w.applicantOrg.id }, c.id, { type: 'WITHDRAW' });
          const inside = await trx.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
          t.equal(Number(inside.n), Number(before.n) + 1, 'the outbox row is written with the event');
          throw new Error('roll back');
        }),
        /roll back/,
      );
      const after = await ta.app.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      t.equal(after.n, before.n, 'the rolled-back event left no delivery');
      t.match(await w.dispatch(), { claimed: 0 });
      t.equal(r.got.length, 2, 'and nothing was sent');

      const ping = w.ok(await ta.req({ method: 'POST', url: `/v1/webhooks/${hook.id}/ping`, token: applicant.token }));
      t.match(ping, { type: 'ping', status: 'delivered', attempts: 1, last_status_code: 200 });
      t.match(r.got.at(-1)!.json, { type: 'ping', data: {} });
      t.same(r.invalid, []);
    });

    t.test('a receiver failing 3 times then succeeding: delivered, every attempt logged, the same message, growing delays', async (t) => {
      const r = await receiver(t);
      r.state.respond = (n) => (n < 3 ? { status: 500, body: 'x'.repeat(5000) } : { status: 204 });
      const hook = await hookOn(t, r, ['sandbox-cases.SUBMIT']);
      const c = await w.sandboxCase();
      await w.fire(applicant.token, c.id, 'SUBMIT');
      const [d] = await w.deliveries(applicant.token, hook.id);
      const settled = await untilSettled(d.id);
      t.match(settled, { status: 'delivered', attempts: 4, last_status_code: 204 });
      const attempts = await attemptsOf(d.id);
      t.same(attempts.map((a) => a.status_code), [500, 500, 500, 204]);
      t.ok(attempts.slice(0, 3).every((a) => a.response_body!.length === 1024), 'at most 1 KiB of an answer is kept');
      const delays = attempts.slice(1).map((a, i) => a.attempted_at.getTime() - attempts[i]!.attempted_at.getTime());
      t.ok(delays.every((x, i) => i === 0 || x > delays[i - 1]!), `delays grow: ${delays.join(', ')} ms`);
      t.equal(new Set(r.got.map((g) => g.id)).size, 1, 'the same webhook-id every time');
      t.equal(new Set(r.got.map((g) => g.body)).size, 1, 'the same body every time');
      t.same(r.invalid, []);
    });

    t.test('a failing delivery does not hold back later ones', async (t) => {
      const r = await receiver(t);
      let first: string | null = null;
      r.state.respond = (n) => {
        first ??= r.got[n]!.id;
        return { status: r.got[n]!.id === first ? 500 : 200 };
      };
      const hook = await hookOn(t, r, ['sandbox-cases.SUBMIT', 'sandbox-cases.START_REVIEW']);
      const c = await w.sandboxCase();
      await w.fire(applicant.token, c.id, 'SUBMIT');
      await w.fire(regulator.token, c.id, 'START_REVIEW');
      await w.dispatch();
      await w.dispatch();
      const [a, b] = await w.deliveries(applicant.token, hook.id);
      t.match(a, { type: 'sandbox-cases.SUBMIT', status: 'pending', attempts: 1, last_status_code: 500 });
      t.match(b, { type: 'sandbox-cases.START_REVIEW', status: 'delivered' });
    });

    t.test('always failing: failed after 3 days of retries, the endpoint disabled after failing for 5, a manual retry', async (t) => {
      const r = await receiver(t);
      r.state.respond = () => ({ status: 503 });
      const hook = await hookOn(t, r, ['sandbox-cases.SUBMIT']);
      const c = await w.sandboxCase();
      await w.fire(applicant.token, c.id, 'SUBMIT');
      const [d] = await w.deliveries(applicant.token, hook.id);
      const start = (await deliveryRow(d.id)).created_at.getTime();
      const settled = await untilSettled(d.id);
      t.equal(settled.status, 'failed');
      t.ok(settled.attempts >= 8, `${settled.attempts} attempts`);
      const attempts = await attemptsOf(d.id);
      t.ok(attempts.at(-1)!.attempted_at.getTime() - start <= 3 * DAY, 'no attempt after the 3-day window');
      t.ok(attempts.at(-1)!.attempted_at.getTime() - start > 2 * DAY, 'retried for (almost) the whole window');
      t.match(w.ok(await ta.req({ method: 'GET', url: `/v1/webhooks/${hook.id}`, token: applicant.token })), { enabled: true }, 'failing for 3 days is not yet 5');

      ta.clock.set(new Date(start + 5 * DAY + 60_000));
      t.match(await w.dispatch(), { disabled: 1 });
      t.match(w.ok(await ta.req({ method: 'GET', url: `/v1/webhooks/${hook.id}`, token: applicant.token })), { enabled: false, disabled_reason: 'failing for 5 days' });
      const disabled = await ta.app.db.selectFrom('audit_events').select(['type', 'actor_role']).where('type', '=', 'WEBHOOK_DISABLED').execute();
      t.same(disabled, [{ type: 'WEBHOOK_DISABLED', actor_role: 'system' }], 'on the registry chain');
      const sent = r.got.length;
      await w.fire(regulator.token, c.id, 'START_REVIEW');
      await w.dispatch();
      t.equal(r.got.length, sent, 'a disabled endpoint hears nothing');

      // Back on its feet: enabled by its owner, the failed delivery sent again by hand.
      r.state.respond = () => ({ status: 200 });
      w.ok(await ta.req({ method: 'PATCH', url: `/v1/webhooks/${hook.id}`, token: applicant.token, payload: { enabled: true } }));
      t.match(w.ok(await ta.req({ method: 'POST', url: `/v1/webhooks/${hook.id}/deliveries/${d.id}/retry`, token: applicant.token }), 202), { id: d.id, status: 'pending' });
      await w.dispatch();
      t.match(await deliveryRow(d.id), { status: 'delivered', attempts: settled.attempts + 1 });
      t.equal(r.got.at(-1)!.id, d.id, 'the same webhook-id');
      t.equal((await ta.req({ method: 'POST', url: `/v1/webhooks/${hook.id}/deliveries/${hook.id}/retry`, token: applicant.token })).statusCode, 404);
      t.same(r.invalid, []);
    });

    t.test('deleting an endpoint deletes its deliveries and their attempts; one written by an event racing the delete is never sent, and is swept', async (t) => {
      const r = await receiver(t);
      const hook = await w.hook(applicant.token, { url: r.url, events: ['sandbox-cases.*'] });
      r.state.secret = () => hook.secret;
      const c = await w.sandboxCase();
      await w.fire(applicant.token, c.id, 'SUBMIT');
      t.match(await w.dispatch(), { delivered: 2 });
      await w.fire(applicant.token, c.id, 'WITHDRAW');
      const ids = (await ta.app.db.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', hook.id).execute()).map((d) => d.id);
      t.equal(ids.length, 3, 'two delivered, one pending');
      t.equal((await ta.req({ method: 'DELETE', url: `/v1/webhooks/${hook.id}`, token: applicant.token })).statusCode, 204);
      t.equal((await ta.app.db.selectFrom('webhook_deliveries').select('id').where('id', 'in', ids).execute()).length, 0, 'its deliveries are gone');
      t.equal((await ta.app.db.selectFrom('webhook_attempts').select('id').where('delivery_id', 'in', ids).execute()).length, 0, 'and their attempts');

      // What a transition that saw the endpoint and committed after the delete leaves behind: a
      // delivery of an endpoint that no longer exists (the outbox holds no key to it).
      const at = ta.clock.now();
      const orphan = await ta.app.db
        .insertInto('webhook_deliveries')
        .values({ endpoint_id: hook.id, type: 'sandbox-cases.WITHDRAW', data: JSON.stringify({ case_id: c.id }), created_at: at, next_attempt_at: at, expires_at: new Date(at.getTime() + 3 * DAY) })
        .returning('id')
        .executeTakeFirstOrThrow();
      t.match(await ta.app.webhooks.dispatcher.dispatchOnce({ housekeeping: false }), { claimed: 0 }, 'never claimed');
      t.match(await w.dispatch(), { orphans: 1, claimed: 0 }, 'swept by the housekeeping round');
      t.equal(await ta.app.db.selectFrom('webhook_deliveries').select('id').where('id', '=', orphan.id).executeTakeFirst(), undefined);
      t.equal(r.got.length, 2, 'nothing sent after the delete');
    });
  });
});
