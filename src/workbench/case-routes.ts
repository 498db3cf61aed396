// The case page and its event forms. A form posts through fireEvent, the very call the API's
// POST …/events makes, with the version the form was drawn at as If-Match: whatever the API
// would refuse, the form refuses, and nothing else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { workflows } from '../../workflows/index.js';
import type { Workflow } from '../../workflows/kit.js';
import { eventLabel } from '../../workflows/labels.js';
import { caseHistory, getCase } from '../cases/read.js';
import { fireEvent } from '../cases/fire.js';
import type { Caller } from '../engine/caller.js';
import type { CaseView } from '../engine/case.js';
import { allowedEvents } from '../engine/machine.js';
import { AppError, notFound, type FieldError } from '../errors.js';
import { check } from '../engine/transition.js';
import { callerOf } from '../http/plugins/auth.js';
import { html } from '../pages/html.js';
import { href } from '../pages/views.js';
import { getScheme, type Criterion } from '../registry/schemes.js';
import { mayEdit } from './applicant-routes.js';
import { casePage, checkPage, eventFormPage, type CasePageData } from './case-page.js';
import { SchemaFiles } from './form-schema.js';
import { readFields, toFields, type Fields } from './form-values.js';
import { fieldMessages } from './form-errors.js';
import { errorSummary, renderForm } from './form.js';
import { HIDE, requireSession, sendHtml, wbContext } from './http.js';
import { WB } from './i18n.js';
import { formFields, messagePage, type WbContext } from './layout.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAYLOAD_PREFIX = 'body/payload';
/** Decisions that get a "check your answers" step before they are fired (GOV.UK's pattern for consequential decisions). */
export const CONSEQUENTIAL = new Set(['ADMIT', 'REJECT', 'CERTIFY', 'DENY', 'REVOKE', 'TERMINATE', 'CONCLUDE', 'COMPLETE']);
type Params = { kind: string; id: string; type?: string };

/** A posted form as fields: every value a list, as the browser may repeat a name. */
const fieldsOf = (body: unknown): Fields =>
  Object.fromEntries(Object.entries((body ?? {}) as Record<string, unknown>).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)]));

export default async function casePageRoutes(app: FastifyInstance) {
  const files = new SchemaFiles(app.schemas.files, app.schemas);

  const target = (request: FastifyRequest) => {
    const { kind, id, type } = request.params as Params;
    const wf = workflows.find((w) => w.kind === kind);
    if (!wf || !UUID.test(id)) throw notFound('case');
    if (type !== undefined && (!wf.events[type] || wf.events[type]!.internal)) throw notFound('event');
    return { wf, id, type: type ?? '' };
  };

  async function pageData(ctx: WbContext, wf: Workflow, caller: Caller, id: string): Promise<Omit<CasePageData, 'notice' | 'status'>> {
    const c = await getCase(app.db, wf, caller, id);
    const history = await caseHistory(app.db, wf, caller, id, { limit: 50, cursor: ctx.query.history });
    const ids = [...new Set(history.items.map((e) => e.actor.principal_id).filter((x): x is string => Boolean(x)))];
    const [org, product, lab, actors] = await Promise.all([
      app.db.selectFrom('organizations').select('name').where('id', '=', c.organization_id).executeTakeFirst(),
      c.product_id ? app.db.selectFrom('products').select(['name', 'version']).where('id', '=', c.product_id).executeTakeFirst() : undefined,
      c.lab_id ? app.db.selectFrom('organizations').select('name').where('id', '=', c.lab_id).executeTakeFirst() : undefined,
      ids.length ? app.db.selectFrom('principals').select(['id', 'name']).where('id', 'in', ids).execute() : [],
    ]);
    return {
      c,
      names: { organization: org?.name ?? null, product: product ? `${product.name} ${product.version}` : null, lab: lab?.name ?? null },
      history: history.items,
      historyNext: history.next_cursor,
      actorNames: new Map(actors.filter((a) => a.name).map((a) => [a.id, a.name!])),
      events: allowedEvents(wf, c.state, caller),
      editable: mayEdit(wf, c.state, caller.role),
      now: app.engine.now(),
    };
  }

  /** Choices the schema leaves open but the registry knows: the scheme's criteria, the labs. */
  async function optionsFor(wf: Workflow, c: CaseView, type: string, lang: WbContext['lang']) {
    const options: Record<string, Array<{ value: string; label: string }>> = {};
    const scheme = (c.application as { scheme?: unknown }).scheme;
    let criteria: Criterion[] = [];
    if (type === 'POST_RESULTS' && typeof scheme === 'string') {
      criteria = (await getScheme(app.db, scheme)).criteria;
      options.criterion_id = criteria.map((cr) => ({ value: cr.id, label: `${lang === 'zh-Hans' ? (cr.title_zh ?? cr.title) : cr.title}${cr.mandatory ? ' *' : ''}` }));
    }
    const schema = files.file(`${wf.schemaDir}/events/${type}.json`) as { properties?: Record<string, unknown> };
    const labKeys = Object.keys(schema.properties ?? {}).filter((k) => k === 'lab_id' || k === 'evaluating_lab_id');
    if (labKeys.length) {
      const labs = await app.db.selectFrom('organizations').select(['id', 'name']).where('kind', '=', 'lab').orderBy('name').limit(200).execute();
      for (const k of labKeys) options[k] = labs.map((l) => ({ value: l.id, label: l.name }));
    }
    return { options, criteria };
  }

  async function sendForm(
    reply: FastifyReply,
    ctx: WbContext,
    v: { wf: Workflow; c: CaseView; type: string; fields: Fields | null; errors?: FieldError[]; extra?: string[]; status?: number },
  ) {
    const s = WB[ctx.lang];
    const { wf, c, type } = v;
    const spec = wf.events[type]!;
    const base = `/workbench/cases/${c.kind}/${c.id}`;
    let controls = html``;
    let errors = new Map<string, string[]>();
    let labels = new Map<string, string>();
    if (spec.payload) {
      const id = `${wf.schemaDir}/events/${type}.json`;
      const root = files.resolve(files.file(id), id);
      const { options, criteria } = await optionsFor(wf, c, type, ctx.lang);
      // A lab's results form starts with one row per criterion of the scheme.
      const fields = v.fields ?? (criteria.length ? toFields(files, root, { results: criteria.map((cr) => ({ criterion_id: cr.id })) }) : {});
      errors = fieldMessages(ctx.lang, files, root, fields, v.errors ?? [], PAYLOAD_PREFIX);
      ({ controls, labels } = renderForm({ lang: ctx.lang, files, root, fields, errors, options }));
    }
    const version = v.fields?._version?.[0] ?? String(c.version);
    const label = eventLabel(c.kind, type, ctx.lang);
    const form = html`<form class="event-form" method="post" action="${href(ctx, `${base}/events/${type}`)}" novalidate>
${formFields(ctx)}<input type="hidden" name="_version" value="${version}">
<button type="submit" class="visually-hidden" tabindex="-1" aria-hidden="true">${s.submitEvent(label)}</button>
${controls}
<div class="form-actions"><button type="submit">${s.submitEvent(label)}</button> <a href="${href(ctx, base)}">${s.cancel}</a></div>
</form>`;
    const summary = errorSummary(ctx.lang, errors, labels, v.extra ?? []);
    return sendHtml(reply, ctx, eventFormPage(ctx, { c, type, summary, form, error: errors.size > 0 || (v.extra ?? []).length > 0 }), v.status ?? 200);
  }

  app.get('/cases/:kind/:id', { schema: HIDE }, async (request, reply) => {
    const session = requireSession(request, reply);
    if (!session) return reply;
    const { wf, id } = target(request);
    const ctx = wbContext(request, reply);
    const data = await pageData(ctx, wf, callerOf(session.principal), id);
    const s = WB[ctx.lang];
    const notice = ctx.query.moved
      ? { text: s.stale, warn: true }
      : ctx.query.saved
        ? { text: s.draftSaved }
        : ctx.query.done && wf.events[ctx.query.done]
          ? { text: s.fired(eventLabel(wf.kind, ctx.query.done, ctx.lang)) }
          : undefined;
    return sendHtml(reply, ctx, casePage(ctx, { ...data, notice }));
  });

  /** The answers that are the case page again: someone moved the case (stale), or the event is not possible in its state. */
  async function caseAgain(reply: FastifyReply, ctx: WbContext, wf: Workflow, caller: Caller, id: string, type: string, status: 'stale' | 'not-now') {
    const s = WB[ctx.lang];
    const data = await pageData(ctx, wf, caller, id);
    const text = status === 'stale' ? s.stale : s.notNow(eventLabel(wf.kind, type, ctx.lang));
    return sendHtml(reply, ctx, casePage(ctx, { ...data, status, notice: { text, warn: true } }), 409);
  }

  const forbiddenPage = (reply: FastifyReply, ctx: WbContext) => sendHtml(reply, ctx, messagePage(ctx, WB[ctx.lang].forbiddenTitle, WB[ctx.lang].notForRole, { error: true }), 403);

  app.get('/cases/:kind/:id/events/:type', { schema: HIDE }, async (request, reply) => {
    const session = requireSession(request, reply);
    if (!session) return reply;
    const { wf, id, type } = target(request);
    const ctx = wbContext(request, reply);
    const caller = callerOf(session.principal);
    const c = await getCase(app.db, wf, caller, id);
    if (!wf.events[type]!.roles.includes(caller.role)) return forbiddenPage(reply, ctx);
    if (!allowedEvents(wf, c.state, caller).includes(type)) return caseAgain(reply, ctx, wf, caller, id, type, 'not-now');
    return sendForm(reply, ctx, { wf, c, type, fields: null });
  });

  app.post('/cases/:kind/:id/events/:type', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const session = requireSession(request, reply);
    if (!session) return reply;
    const { wf, id, type } = target(request);
    const ctx = wbContext(request, reply);
    const caller = callerOf(session.principal);
    const fields = fieldsOf(request.body);
    const spec = wf.events[type]!;
    if (fields._add?.length || fields._edit?.length) return sendForm(reply, ctx, { wf, c: await getCase(app.db, wf, caller, id), type, fields });
    const version = /^\d{1,9}$/.test(fields._version?.[0] ?? '') ? Number(fields._version![0]) : undefined;
    if (version === undefined) throw new AppError('validation_failed', 'the form lost its case version; open it again from the case page');
    let payload: unknown;
    if (spec.payload) {
      const schemaId = `${wf.schemaDir}/events/${type}.json`;
      payload = readFields(files, files.resolve(files.file(schemaId), schemaId), fields);
    }
    const input = payload === undefined ? { type } : { type, payload };
    try {
      if (CONSEQUENTIAL.has(type) && !fields._confirm?.length) {
        // The engine's own checks (visibility, role, If-Match, state, payload schema), nothing written; its rules run on confirmation.
        const row = await app.db.selectFrom('cases').selectAll().where('id', '=', id).where('kind', '=', wf.kind).executeTakeFirst();
        check(app.engine, wf, caller, row, input, { ifMatch: version });
        const hidden = Object.entries(fields).flatMap(([k, vs]) => (k === '_confirm' || k === '_edit' ? [] : vs.map((x): [string, string] => [k, k === '_csrf' ? ctx.csrf : x])));
        return sendHtml(reply, ctx, checkPage(ctx, { c: (await getCase(app.db, wf, caller, id)), type, payload, action: href(ctx, `/workbench/cases/${wf.kind}/${id}/events/${type}`), hidden }));
      }
      await fireEvent(app.engine, wf, caller, id, input, { ifMatch: version });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === 'forbidden') return forbiddenPage(reply, ctx);
      if (err.code === 'version_mismatch') return caseAgain(reply, ctx, wf, caller, id, type, 'stale');
      if (err.code === 'invalid_transition') return caseAgain(reply, ctx, wf, caller, id, type, 'not-now');
      const c = await getCase(app.db, wf, caller, id);
      if (err.code === 'validation_failed') return sendForm(reply, ctx, { wf, c, type, fields, errors: (err.extra.errors as FieldError[] | undefined) ?? [], extra: err.extra.errors ? [] : [err.detail], status: 400 });
      if (err.code === 'rule_violation') return sendForm(reply, ctx, { wf, c, type, fields, extra: [`${WB[ctx.lang].refusedRule} ${err.said?.[ctx.lang] ?? err.detail}`], status: 422 });
      throw err;
    }
    return reply.header('cache-control', 'no-store').redirect(href(ctx, `/workbench/cases/${wf.kind}/${id}`, { done: type }), 303);
  });
}
