import { buildTestApp, uniq } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { DAY, receiver } from '../webhooks/support.js';
import { WbClient, csrfOf, formValues } from './client.js';
import { sandboxApplication } from './data.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  const { app, clock } = ta;
  const cast = await certificationCast(ta);
  const { ok } = cast;

  const signedIn = async (token: string) => {
    const c = new WbClient(app, { 'accept-language': 'en' });
    await c.signIn(token);
    return c;
  };

  type Item = { id: string; unread: boolean; what: string; number: string | null; text: string };
  /** The notifications a page lists, in its order: each row's id, whether unread, what happened, its case number. */
  function itemsOf(body: string): Item[] {
    return body
      .split('<tr')
      .filter((r) => r.includes('data-label="What happened"'))
      .map((r) => {
        const text = r.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
        return {
          id: /^ id="n(\d+)"/.exec(r)![1]!,
          unread: /^ id="n\d+" class="unread"/.test(r),
          what: /data-label="What happened">([^<]*)/.exec(r)![1]!,
          number: /data-label="Case"><a [^>]*>([A-Z]+-\d{4}-\d{6})<\/a>/.exec(r)?.[1] ?? null,
          text,
        };
      });
  }
  const seen = (items: Item[], numbers: Record<string, string>) =>
    items.flatMap((i) => {
      const name = Object.entries(numbers).find(([, n]) => n === i.number)?.[0];
      return name ? [`${name}:${i.what}`] : [];
    });
  const navCount = (body: string) => /href="\/workbench\/notifications">Notifications(?: <span class="badge" aria-hidden="true">([0-9+]+)<\/span>)?/.exec(body)?.[1] ?? '0';

  async function member(role: 'applicant' | 'lab', orgId: string) {
    return (await cast.principal(role, orgId)).token as string;
  }

  async function sandboxCase(token: string) {
    const product = await cast.product(token);
    return ok(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token, payload: sandboxApplication(product.id) }), 201);
  }
  const fireSandbox = async (token: string, id: string, type: string, payload?: unknown) =>
    ok(await ta.req({ method: 'POST', url: `/v1/sandbox-cases/${id}/events`, token, payload: payload === undefined ? { type } : { type, payload } }));

  t.test('tenancy: an applicant sees its own cases, a lab its assignments, a regulator every case but its own actions', async (t) => {
    const lab = await cast.lab();
    const otherLab = await cast.lab();
    const colleague = await member('applicant', cast.applicantOrg.id);
    const labColleague = await member('lab', lab.org.id);
    const regulatorB = (await cast.principal('regulator')).token as string;

    const cert = await cast.createCase(await cast.robot(), 'robot-safety');
    ok(await cast.fire(cast.applicant.token, cert.id, 'SUBMIT'));
    ok(await cast.fire(cast.regulator.token, cert.id, 'ASSIGN_LAB', { lab_id: lab.org.id }));
    ok(await cast.fire(lab.token, cert.id, 'ACCEPT_ASSIGNMENT'));
    const other = await cast.createCase(await cast.robot(cast.otherApplicant.token), 'robot-safety', cast.otherApplicant.token);
    ok(await cast.fire(cast.otherApplicant.token, other.id, 'SUBMIT'));
    const numbers = { cert: cert.number, other: other.number };
    const inbox = async (token: string) => itemsOf((await (await signedIn(token)).get('/workbench/notifications?limit=100')).body);

    t.same(seen(await inbox(colleague), numbers), ['cert:Accept assignment', 'cert:Assign lab', 'cert:Submit', 'cert:Case created'], 'a colleague: every event of its organization’s case, newest first, and never another’s');
    t.same(seen(await inbox(cast.applicant.token), numbers), ['cert:Accept assignment', 'cert:Assign lab'], 'the applicant itself: not what it did (created, submitted)');
    t.same(seen(await inbox(labColleague), numbers), ['cert:Accept assignment', 'cert:Assign lab'], 'the lab: from its assignment on');
    t.same(seen(await inbox(lab.token), numbers), ['cert:Assign lab'], 'the lab principal that accepted: only the assignment');
    t.same(seen(await inbox(otherLab.token), numbers), [], 'a lab not assigned: nothing');
    const otherSees = seen(await inbox(cast.otherApplicant.token), numbers);
    t.same(otherSees, [], 'the other applicant did both things on its case itself');

    t.same(seen(await inbox(regulatorB), numbers), ['other:Submit', 'other:Case created', 'cert:Accept assignment', 'cert:Assign lab', 'cert:Submit', 'cert:Case created'], 'another regulator: every event of both cases');
    t.same(seen(await inbox(cast.regulator.token), numbers), ['other:Submit', 'other:Case created', 'cert:Accept assignment', 'cert:Submit', 'cert:Case created'], 'the regulator that assigned the lab: all but that');

    // Another organization's notification reads like a missing one, and nothing is marked.
    const foreign = await app.db.selectFrom('notifications').select(app.db.fn.max('id').as('id')).where('organization_id', '=', cast.otherOrg.id).executeTakeFirstOrThrow();
    const c = await signedIn(colleague);
    t.equal((await c.get(`/workbench/notifications/${foreign.id}`)).statusCode, 404);
    const page = await c.get('/workbench/notifications');
    t.equal((await c.post(`/workbench/notifications/${foreign.id}/read`, { _csrf: csrfOf(page.body) })).statusCode, 404);
    t.equal((await c.get('/workbench/notifications/abc')).statusCode, 404);
    const marks = await app.db.selectFrom('notification_read_marks').selectAll().where('notification_id', '=', String(foreign.id) as never).execute();
    t.same(marks, []);
  });

  t.test('reminders of the deadlines the organization must meet appear, without any webhook endpoint, once per offset', async (t) => {
    const reader = await member('applicant', cast.applicantOrg.id);
    const c = await sandboxCase(cast.applicant.token);
    await fireSandbox(cast.applicant.token, c.id, 'SUBMIT');
    await fireSandbox(cast.regulator.token, c.id, 'START_REVIEW');
    const start = clock.now().getTime();
    const respondBy = new Date(start + 5 * DAY).toISOString();
    await fireSandbox(cast.regulator.token, c.id, 'REQUEST_INFO', { questions: ['Which sites?'], respond_by: respondBy });
    const reminders = async (token: string) => itemsOf((await (await signedIn(token)).get('/workbench/notifications?limit=100')).body).filter((i) => i.number === c.number && /^Reminder/.test(i.what));

    clock.set(new Date(start + 2 * DAY + 60_000));
    await app.webhooks.dispatcher.dispatchOnce();
    await app.webhooks.dispatcher.dispatchOnce();
    let got = await reminders(reader);
    t.equal(got.length, 1, 'the 3-day reminder, once');
    t.equal(got[0]!.what, 'Reminder: respond by');
    t.match(got[0]!.text, /System \(at a deadline\).*2 days left/, 'who, the deadline and the time left');
    t.ok(got[0]!.unread);

    clock.set(new Date(start + 4 * DAY + 60_000));
    await app.webhooks.dispatcher.dispatchOnce();
    got = await reminders(reader);
    t.equal(got.length, 2, 'then the 1-day one');
    t.match(got[0]!.text, /23 hours left/, 'the newest first');
    t.same(await reminders(cast.otherApplicant.token), [], 'another organization: none');
    const regulator = await signedIn(cast.regulator.token);
    t.same(itemsOf((await regulator.get('/workbench/notifications?limit=100')).body).filter((i) => /^Reminder/.test(i.what)), [], 'regulators meet none of these deadlines');
    const rows = await app.db.selectFrom('webhook_reminders').select(['offset_days']).where('case_id', '=', c.id).orderBy('offset_days', 'desc').execute();
    t.same(rows, [{ offset_days: 3 }, { offset_days: 1 }], 'recorded once per offset though the organization has no endpoint');

    const zh = new WbClient(app);
    await zh.signIn(reader);
    t.match((await zh.get('/workbench/notifications')).body, /提醒：答复期限/);
  });

  /** A new applicant organization with two members: one acts, the other reads. */
  async function pair() {
    const org = await cast.org();
    return { org, actor: await member('applicant', org.id), reader: await member('applicant', org.id) };
  }

  t.test('unread first; opening one or its button marks it read; mark all read covers what the page showed; CSRF refused', async (t) => {
    const { org, actor, reader } = await pair();
    const cases = [];
    for (let i = 0; i < 3; i++) {
      const c = await sandboxCase(actor);
      await fireSandbox(actor, c.id, 'SUBMIT');
      cases.push(c);
    }
    const c = await signedIn(reader);
    let page = await c.get('/workbench/notifications');
    let items = itemsOf(page.body);
    t.equal(items.length, 6);
    t.ok(items.every((i) => i.unread));
    t.same(items.map((i) => i.number), [cases[2].number, cases[2].number, cases[1].number, cases[1].number, cases[0].number, cases[0].number], 'newest first');
    t.same(items.map((i) => i.what), ['Submit', 'Case created', 'Submit', 'Case created', 'Submit', 'Case created']);
    t.equal(navCount(page.body), '6', 'the unread count in the nav');
    t.match(page.body, /<h2 id="unread-h">Unread<\/h2>/);
    t.match(page.body, /You have 6 unread notifications\./);
    t.equal(navCount((await c.get('/workbench')).body), '6', 'on every page');

    // The button: the newest is read, and goes after the unread ones.
    const newest = items[0]!;
    let res = await c.post(`/workbench/notifications/${newest.id}/read`, { _csrf: csrfOf(page.body) });
    t.equal(res.statusCode, 303);
    page = await c.get(String(res.headers.location));
    t.match(page.body, /role="status"[^>]*>The notification is marked as read\./);
    items = itemsOf(page.body);
    t.same(items.map((i) => i.unread), [true, true, true, true, true, false]);
    t.equal(items.at(-1)!.id, newest.id);
    t.match(page.body, /<h2 id="read-h">Read<\/h2>/);
    t.equal(navCount(page.body), '5');

    // Opening one: read, and on to its case.
    res = await c.get(`/workbench/notifications/${items[0]!.id}`);
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, `/workbench/cases/sandbox-cases/${cases[2].id}`);
    t.equal(navCount((await c.get(String(res.headers.location))).body), '4');

    // Mark all read without the form's token: refused, nothing changed.
    page = await c.get('/workbench/notifications');
    const upTo = formValues(page.body, '/workbench/notifications/read-all').find(([k]) => k === 'up_to')![1];
    res = await c.post('/workbench/notifications/read-all', { up_to: upTo });
    t.equal(res.statusCode, 403);
    t.match(res.body, /This form has expired/);
    res = await c.post('/workbench/notifications/read-all', { _csrf: 'forged', up_to: upTo });
    t.equal(res.statusCode, 403);
    res = await c.post(`/workbench/notifications/${items[1]!.id}/read`, {});
    t.equal(res.statusCode, 403);
    t.equal(navCount((await c.get('/workbench/notifications')).body), '4', 'still four unread');
    res = await c.post('/workbench/notifications/read-all', { _csrf: csrfOf(page.body), up_to: 'lots' });
    t.equal(res.statusCode, 400, 'up_to must be a notification number');
    t.match(res.body, /up_to/);

    // Something happens after the page was shown: mark all read leaves it unread.
    const late = await sandboxCase(actor);
    res = await c.post('/workbench/notifications/read-all', Object.fromEntries(formValues(page.body, '/workbench/notifications/read-all')));
    t.equal(res.statusCode, 303);
    page = await c.get(String(res.headers.location));
    t.match(page.body, /All notifications up to the newest you were shown are marked as read\./);
    items = itemsOf(page.body);
    t.same(items.filter((i) => i.unread).map((i) => i.number), [late.number], 'only what came after the page');
    t.equal(items.length, 7);
    t.equal(navCount(page.body), '1');
    const marks = await app.db.selectFrom('notification_read_marks as m').innerJoin('principals as p', 'p.id', 'm.principal_id').select('m.notification_id').where('p.organization_id', '=', org.id).execute();
    t.same(marks, [], 'the marks the watermark now covers are gone');
  });

  t.test('keyset pages across the unread and read sections: nothing lost, nothing twice, in order', async (t) => {
    const { org, actor, reader } = await pair();
    const c = await signedIn(reader);
    const older = await sandboxCase(actor);
    await fireSandbox(actor, older.id, 'SUBMIT');
    let page = await c.get('/workbench/notifications');
    t.equal((await c.post('/workbench/notifications/read-all', Object.fromEntries(formValues(page.body, '/workbench/notifications/read-all')))).statusCode, 303);
    for (let i = 0; i < 3; i++) {
      const k = await sandboxCase(actor);
      await fireSandbox(actor, k.id, 'SUBMIT');
    }
    page = await c.get('/workbench/notifications?limit=100');
    const fresh = itemsOf(page.body).filter((i) => i.unread);
    t.equal(fresh.length, 6);
    for (const i of [fresh[1]!, fresh[4]!]) t.equal((await c.post(`/workbench/notifications/${i.id}/read`, { _csrf: csrfOf(page.body) })).statusCode, 303);

    const all: Item[] = [];
    let url: string | undefined = '/workbench/notifications?limit=3';
    let pages = 0;
    while (url && pages < 10) {
      const res = await c.get(url);
      t.equal(res.statusCode, 200);
      const got = itemsOf(res.body);
      t.ok(got.length <= 3);
      all.push(...got);
      url = /<a href="([^"]+)" rel="next">/.exec(res.body)?.[1]?.replace(/&amp;/g, '&');
      pages++;
    }
    t.equal(pages, 3, 'eight notifications in pages of three');
    const expected = await app.db.selectFrom('notifications').select('id').where('organization_id', '=', org.id).execute();
    t.equal(all.length, expected.length, 'nothing lost');
    t.equal(new Set(all.map((i) => i.id)).size, all.length, 'nothing twice');
    t.same(new Set(all.map((i) => i.id)), new Set(expected.map((e) => String(e.id))));
    t.same(all.map((i) => i.unread), [true, true, true, true, false, false, false, false], 'the four unread first');
    const desc = (xs: Item[]) => xs.every((x, k) => k === 0 || BigInt(xs[k - 1]!.id) > BigInt(x.id));
    t.ok(desc(all.slice(0, 4)) && desc(all.slice(4)), 'each section newest first');
    t.same(all.slice(4, 6).map((i) => i.id), [fresh[1]!.id, fresh[4]!.id], 'those read one by one are the newest read');
    t.equal((await c.get('/workbench/notifications?cursor=bm9wZQ')).statusCode, 400, 'a cursor the service did not issue');
  });

  t.test('an endpoint disabled after failing 5 days is told to its organization; the regulators’ to the regulators', async (t) => {
    const { actor, reader } = await pair();
    const r = await receiver(t);
    r.state.respond = () => ({ status: 503 });
    const url = `${r.url}?${uniq()}`;
    ok(await ta.req({ method: 'POST', url: '/v1/webhooks', token: actor, payload: { url, events: ['*'], description: 'Our case system' } }), 201);
    const regUrl = `${r.url}?regulators-${uniq()}`;
    ok(await ta.req({ method: 'POST', url: '/v1/webhooks', token: cast.regulator.token, payload: { url: regUrl, events: ['sandbox-cases.SUBMIT'] } }), 201);
    const k = await sandboxCase(actor);
    await fireSandbox(actor, k.id, 'SUBMIT');
    await app.webhooks.dispatcher.dispatchOnce();
    clock.set(new Date(clock.now().getTime() + 5 * DAY + 60_000));
    t.match(await app.webhooks.dispatcher.dispatchOnce(), { disabled: 2 });

    const mine = itemsOf((await (await signedIn(reader)).get('/workbench/notifications')).body).filter((i) => i.what === 'Webhook endpoint disabled');
    t.equal(mine.length, 1);
    t.ok(mine[0]!.unread);
    t.ok(mine[0]!.text.includes(url.replace(/&/g, '&amp;')) || mine[0]!.text.includes(url), 'names the endpoint');
    t.match(mine[0]!.text, /Our case system/);
    t.notOk(mine[0]!.text.includes(regUrl), 'not the regulators’ one');
    const regs = itemsOf((await (await signedIn(cast.regulator.token)).get('/workbench/notifications?limit=100')).body).filter((i) => i.what === 'Webhook endpoint disabled');
    t.equal(regs.length, 1);
    t.ok(regs[0]!.text.includes(regUrl));
    const others = itemsOf((await (await signedIn(cast.otherApplicant.token)).get('/workbench/notifications?limit=100')).body);
    t.same(others.filter((i) => i.what === 'Webhook endpoint disabled'), [], 'another organization is not told');
    const zh = new WbClient(app);
    await zh.signIn(reader);
    t.match((await zh.get('/workbench/notifications')).body, /回调接收地址已停用/, 'in Chinese too');
    // Without a case to open, opening it marks it read and comes back to the list.
    const c = await signedIn(reader);
    const res = await c.get(`/workbench/notifications/${mine[0]!.id}`);
    t.equal(res.headers.location, '/workbench/notifications?read=one');
    t.notOk(itemsOf((await c.get('/workbench/notifications')).body).find((i) => i.id === mine[0]!.id)!.unread);
  });

  t.test('an administrator has no inbox and no link to one', async (t) => {
    const c = await signedIn(ta.adminToken);
    t.notMatch((await c.get('/workbench')).body, /href="\/workbench\/notifications"/);
    const res = await c.get('/workbench/notifications');
    t.equal(res.statusCode, 200);
    t.match(res.body, /there are no notifications for you/);
  });
});
