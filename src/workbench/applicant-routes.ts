// What an applicant starts from the workbench: products, and applications as drafts it edits and
// then submits (the SUBMIT button is the case page's, like every event). Each form is generated from
// the schema the API validates the same request with, and goes through the same service call.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { workflows } from '../../workflows/index.js';
import type { Workflow } from '../../workflows/kit.js';
import { workflowLabels } from '../../workflows/labels.js';
import { createCase } from '../cases/create.js';
import { fireEvent } from '../cases/fire.js';
import { getCase } from '../cases/read.js';
import { stateNode } from '../engine/machine.js';
import { AppError, notFound, type FieldError } from '../errors.js';
import { callerOf } from '../http/plugins/auth.js';
import { html } from '../pages/html.js';
import { href } from '../pages/views.js';
import { createProduct, listProducts } from '../registry/products.js';
import { listSchemes } from '../registry/schemes.js';
import type { Principal } from '../registry/principals.js';
import { choiceLabel } from './field-labels.js';
import { SchemaFiles } from './form-schema.js';
import { readFields, toFields, type Fields } from './form-values.js';
import { HIDE, requireSession, sendHtml, wbContext } from './http.js';
import { WB } from './i18n.js';
import { messagePage, wbLayout, type WbContext } from './layout.js';
import { schemaFormPage, type SchemaFormPage } from './schema-form.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const fieldsOf = (body: unknown): Fields =>
  Object.fromEntries(Object.entries((body ?? {}) as Record<string, unknown>).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)]));

/** Whether this person may edit the case's application now: the machine's draft edit, by role and state. */
export const mayEdit = (wf: Workflow, state: string, role: string) =>
  Boolean(wf.events.REPLACE_APPLICATION?.roles.includes(role as never) && stateNode(wf.machine, state)?.transitions.has('REPLACE_APPLICATION'));

export default async function applicantRoutes(app: FastifyInstance) {
  const files = new SchemaFiles(app.schemas.files, app.schemas);

  /** The applicant's session, or the answer already sent (sign-in, or 403 for another role). */
  function applicant(request: FastifyRequest, reply: FastifyReply): { p: Principal; ctx: WbContext } | null {
    const session = requireSession(request, reply);
    if (!session) return null;
    const ctx = wbContext(request, reply);
    if (session.principal.role !== 'applicant' || !session.principal.organization_id) {
      sendHtml(reply, ctx, messagePage(ctx, WB[ctx.lang].forbiddenTitle, WB[ctx.lang].notForRole, { error: true }), 403);
      return null;
    }
    return { p: session.principal, ctx };
  }

  type ProductItem = { id: string; name: string; version: string; kind: string };
  const products = async (p: Principal) => (await listProducts(app.db, p, { limit: 200 })).items as unknown as ProductItem[];
  const productOptions = async (p: Principal) => (await products(p)).map((x) => ({ value: x.id, label: `${x.name} ${x.version}` }));
  /** The certification schemes by their titles in the reader's language: chosen, not typed as codes. */
  const schemeOptions = async (ctx: WbContext) =>
    (await listSchemes(app.db, { limit: 100 })).items.map((x) => ({ value: x.code, label: ctx.lang === 'zh-Hans' ? (x.title_zh ?? x.title) : x.title }));

  const kindOf = (request: FastifyRequest) => {
    const wf = workflows.find((w) => w.kind === (request.params as { kind: string }).kind);
    if (!wf) throw notFound('case kind');
    return wf;
  };

  /** A refusal of the service as the form's errors: field errors beside fields, a rule at the top (in the page's language when the rule said it in both). */
  const refusal = (err: unknown, ctx: WbContext): { errors: FieldError[]; extra: string[]; status: number } => {
    if (!(err instanceof AppError)) throw err;
    if (err.code === 'validation_failed') return { errors: (err.extra.errors as FieldError[] | undefined) ?? [], extra: err.extra.errors ? [] : [err.detail], status: 400 };
    if (err.code === 'rule_violation' || err.code === 'conflict') return { errors: [], extra: [err.said?.[ctx.lang] ?? err.detail], status: err.status };
    throw err;
  };

  app.get('/start', { schema: HIDE }, async (request, reply) => {
    const a = applicant(request, reply);
    if (!a) return reply;
    const s = WB[a.ctx.lang];
    const mine = await products(a.p);
    const list = mine.length
      ? html`<ul>${mine.map((x) => html`<li>${x.name} ${x.version} <span class="muted">(${choiceLabel(a.ctx.lang, 'kind', x.kind)})</span></li>`)}</ul>`
      : html`<p>${s.noProducts}</p>`;
    return sendHtml(
      reply,
      a.ctx,
      wbLayout(a.ctx, {
        title: s.startTitle,
        body: html`<p><a href="${href(a.ctx, '/workbench')}">${s.backToMyWork}</a></p><h1>${s.startTitle}</h1>
<section class="panel"><h2>${s.yourProducts}</h2>${list}<p><a class="button secondary" href="${href(a.ctx, '/workbench/products/new')}">${s.newProduct}</a></p></section>
<section class="panel"><ul class="actions">${workflows.map((wf) => html`<li><a class="button" href="${href(a.ctx, `/workbench/cases/${wf.kind}/new`)}">${s.newApplication(workflowLabels[wf.kind]!.title[a.ctx.lang])}</a></li>`)}</ul></section>`,
      }),
    );
  });

  const productPage = (ctx: WbContext, over: Partial<SchemaFormPage>): SchemaFormPage => ({
    title: WB[ctx.lang].newProduct,
    intro: WB[ctx.lang].newProductIntro,
    action: href(ctx, '/workbench/products/new'),
    back: { href: href(ctx, '/workbench/start'), text: `← ${WB[ctx.lang].startTitle}` },
    schemaId: 'products/product.json',
    fields: {},
    submit: WB[ctx.lang].newProduct,
    ...over,
  });

  app.get('/products/new', { schema: HIDE }, async (request, reply) => {
    const a = applicant(request, reply);
    if (!a) return reply;
    return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, productPage(a.ctx, {})));
  });

  app.post('/products/new', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const a = applicant(request, reply);
    if (!a) return reply;
    const fields = fieldsOf(request.body);
    if (fields._add?.length) return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, productPage(a.ctx, { fields })));
    const input = readFields(files, files.resolve(files.file('products/product.json'), 'products/product.json'), fields) as Record<string, unknown>;
    try {
      const errors = app.schemas.check('products/product.json', input, 'body');
      if (errors.length) throw new AppError('validation_failed', 'the product is not valid', { errors });
      await createProduct(app.db, a.p, input as never);
    } catch (err) {
      const r = refusal(err, a.ctx);
      return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, productPage(a.ctx, { fields, errors: r.errors, extra: r.extra })), r.status);
    }
    return reply.header('cache-control', 'no-store').redirect(href(a.ctx, '/workbench/start'), 303);
  });

  const applicationPage = async (ctx: WbContext, p: Principal, wf: Workflow, over: Partial<SchemaFormPage>): Promise<SchemaFormPage> => ({
    title: WB[ctx.lang].newApplication(workflowLabels[wf.kind]!.title[ctx.lang]),
    action: href(ctx, `/workbench/cases/${wf.kind}/new`),
    back: { href: href(ctx, '/workbench/start'), text: `← ${WB[ctx.lang].startTitle}` },
    schemaId: `${wf.schemaDir}/application.json`,
    fields: {},
    submit: WB[ctx.lang].saveDraft,
    options: {
      product_id: await productOptions(p),
      ...((files.file(`${wf.schemaDir}/application.json`) as { properties?: Record<string, unknown> }).properties?.scheme ? { scheme: await schemeOptions(ctx) } : {}),
    },
    ...over,
  });

  app.get('/cases/:kind/new', { schema: HIDE }, async (request, reply) => {
    const a = applicant(request, reply);
    if (!a) return reply;
    const wf = kindOf(request);
    return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, await applicationPage(a.ctx, a.p, wf, {})));
  });

  app.post('/cases/:kind/new', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const a = applicant(request, reply);
    if (!a) return reply;
    const wf = kindOf(request);
    const fields = fieldsOf(request.body);
    if (fields._add?.length) return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, await applicationPage(a.ctx, a.p, wf, { fields })));
    const schemaId = `${wf.schemaDir}/application.json`;
    const application = readFields(files, files.resolve(files.file(schemaId), schemaId), fields);
    let id: string;
    try {
      const errors = app.schemas.check(schemaId, application, 'body');
      if (errors.length) throw new AppError('validation_failed', 'the application is not valid', { errors });
      id = (await createCase(app.engine, wf, callerOf(a.p), application)).id;
    } catch (err) {
      const r = refusal(err, a.ctx);
      return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, await applicationPage(a.ctx, a.p, wf, { fields, errors: r.errors, extra: r.extra })), r.status);
    }
    return reply.header('cache-control', 'no-store').redirect(href(a.ctx, `/workbench/cases/${wf.kind}/${id}`, { saved: '1' }), 303);
  });

  const editPage = async (ctx: WbContext, p: Principal, wf: Workflow, id: string, version: string, over: Partial<SchemaFormPage>) =>
    applicationPage(ctx, p, wf, {
      title: WB[ctx.lang].editApplication,
      action: href(ctx, `/workbench/cases/${wf.kind}/${id}/edit`),
      back: { href: href(ctx, `/workbench/cases/${wf.kind}/${id}`), text: '←' },
      submit: WB[ctx.lang].saveChanges,
      hidden: { _version: version },
      ...over,
    });

  app.get('/cases/:kind/:id/edit', { schema: HIDE }, async (request, reply) => {
    const a = applicant(request, reply);
    if (!a) return reply;
    const wf = kindOf(request);
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) throw notFound('case');
    const c = await getCase(app.db, wf, callerOf(a.p), id);
    if (!mayEdit(wf, c.state, a.p.role)) return reply.header('cache-control', 'no-store').redirect(href(a.ctx, `/workbench/cases/${wf.kind}/${id}`), 303);
    const schemaId = `${wf.schemaDir}/application.json`;
    const fields = toFields(files, files.resolve(files.file(schemaId), schemaId), c.application);
    return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, await editPage(a.ctx, a.p, wf, id, String(c.version), { fields, back: { href: href(a.ctx, `/workbench/cases/${wf.kind}/${id}`), text: `← ${c.number}` } })));
  });

  app.post('/cases/:kind/:id/edit', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const a = applicant(request, reply);
    if (!a) return reply;
    const wf = kindOf(request);
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) throw notFound('case');
    const fields = fieldsOf(request.body);
    const version = fields._version?.[0] ?? '';
    if (fields._add?.length) return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, await editPage(a.ctx, a.p, wf, id, version, { fields })));
    if (!/^\d{1,9}$/.test(version)) throw new AppError('validation_failed', 'the form lost its case version; open it again from the case page');
    const schemaId = `${wf.schemaDir}/application.json`;
    const application = readFields(files, files.resolve(files.file(schemaId), schemaId), fields);
    try {
      // What PATCH /v1/:kind/:id does: the draft edit, through the engine, with If-Match.
      await fireEvent(app.engine, wf, callerOf(a.p), id, { type: 'REPLACE_APPLICATION', payload: application }, { ifMatch: Number(version), allowInternal: true });
    } catch (err) {
      if (err instanceof AppError && (err.code === 'version_mismatch' || err.code === 'invalid_transition')) {
        return reply.header('cache-control', 'no-store').redirect(href(a.ctx, `/workbench/cases/${wf.kind}/${id}`, { moved: '1' }), 303);
      }
      const r = refusal(err, a.ctx);
      return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, await editPage(a.ctx, a.p, wf, id, version, { fields, errors: r.errors, extra: r.extra })), r.status);
    }
    return reply.header('cache-control', 'no-store').redirect(href(a.ctx, `/workbench/cases/${wf.kind}/${id}`, { saved: '1' }), 303);
  });
}
