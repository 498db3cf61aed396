// The registry's own records in the workbench: admins and regulators register organizations,
// regulators set labs' accreditation, admins create principals (the token shown once) and revoke
// them. Each form is generated from the schema the API checks the same request with, and calls the
// same registry function.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { roleLabels } from '../../workflows/labels.js';
import { AppError, notFound, type FieldError } from '../errors.js';
import { html } from '../pages/html.js';
import { formatDateTime } from '../pages/i18n.js';
import { href } from '../pages/views.js';
import { actorOf, createPrincipal, revokePrincipal, type Principal, type Role } from '../registry/principals.js';
import { createOrganization, listOrganizations, setAccreditation, type OrganizationInput } from '../registry/organizations.js';
import { listSchemes } from '../registry/schemes.js';
import { choiceLabel, fieldLabel } from './field-labels.js';
import { SchemaFiles } from './form-schema.js';
import { readFields, toFields, type Fields } from './form-values.js';
import { HIDE, requireSession, sendHtml, wbContext } from './http.js';
import { WB } from './i18n.js';
import { formFields, messagePage, wbLayout, type WbContext } from './layout.js';
import { schemaFormPage, type SchemaFormPage } from './schema-form.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const fieldsOf = (body: unknown): Fields =>
  Object.fromEntries(Object.entries((body ?? {}) as Record<string, unknown>).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)]));

export default async function adminRoutes(app: FastifyInstance) {
  const files = new SchemaFiles(app.schemas.files);

  /** The session of one of these roles, or the answer already sent. */
  function as(request: FastifyRequest, reply: FastifyReply, ...roles: Role[]): { p: Principal; ctx: WbContext } | null {
    const session = requireSession(request, reply);
    if (!session) return null;
    const ctx = wbContext(request, reply);
    if (!roles.includes(session.principal.role)) {
      sendHtml(reply, ctx, messagePage(ctx, WB[ctx.lang].forbiddenTitle, WB[ctx.lang].notForRole, { error: true }), 403);
      return null;
    }
    return { p: session.principal, ctx };
  }

  /** Reads and checks a form against its schema file, as the API's body validation does; then `save`. A refusal comes back as the form. */
  async function submit(reply: FastifyReply, ctx: WbContext, page: (over: Partial<SchemaFormPage>) => Promise<SchemaFormPage>, fields: Fields, save: (input: never) => Promise<unknown>) {
    if (fields._add?.length) return { sent: sendHtml(reply, ctx, schemaFormPage(ctx, files, await page({ fields }))) };
    const base = await page({});
    const input = readFields(files, files.resolve(files.file(base.schemaId), base.schemaId), fields);
    try {
      const errors = app.schemas.check(base.schemaId, input, 'body');
      if (errors.length) throw new AppError('validation_failed', 'not valid', { errors });
      return { saved: await save(input as never) };
    } catch (err) {
      if (!(err instanceof AppError) || !['validation_failed', 'rule_violation', 'conflict'].includes(err.code)) throw err;
      const errors = (err.extra.errors as FieldError[] | undefined) ?? [];
      return { sent: sendHtml(reply, ctx, schemaFormPage(ctx, files, await page({ fields, errors, extra: errors.length ? [] : [err.said?.[ctx.lang] ?? err.detail] })), err.status) };
    }
  }

  app.get('/organizations', { schema: HIDE }, async (request, reply) => {
    const a = as(request, reply, 'admin', 'regulator');
    if (!a) return reply;
    const { ctx, p } = a;
    const s = WB[ctx.lang];
    const page = await listOrganizations(app.db, p, { limit: 50, cursor: ctx.query.cursor });
    // Accredited schemes by their titles in the page's language (a code the registry no longer knows, as it is).
    const titles = new Map((await listSchemes(app.db, { limit: 200 })).items.map((x) => [x.code, ctx.lang === 'zh-Hans' && x.title_zh ? x.title_zh : x.title]));
    const notice = ctx.query.saved ? html`<p class="notice" role="status">${ctx.query.saved === 'accreditation' ? s.accreditationSet : s.organizationRegistered}</p>` : '';
    const rows = page.items.map(
      (o) => html`<tr><th scope="row" data-label="${s.name}">${o.name}${o.name_en ? html`<br><span class="muted">${o.name_en}</span>` : ''}</th>
<td data-label="${fieldLabel(ctx.lang, 'kind')}">${choiceLabel(ctx.lang, 'kind', o.kind)}</td>
<td data-label="${s.accreditation}">${o.accreditation ? html`${o.accreditation.accreditation_number} · ${o.accreditation.schemes.map((c) => titles.get(c) ?? c).join(ctx.lang === 'zh-Hans' ? '、' : ', ')} · ${formatDateTime(o.accreditation.valid_until)}` : o.kind === 'lab' ? s.none : '—'}${
        o.kind === 'lab' && p.role === 'regulator' ? html`<br><a href="${href(ctx, `/workbench/organizations/${o.id}/accreditation`)}">${s.setAccreditation}</a>` : ''
      }</td></tr>`,
    );
    return sendHtml(
      reply,
      ctx,
      wbLayout(ctx, {
        title: s.organizationsTitle,
        body: html`${notice}<h1>${s.organizationsTitle}</h1><p><a class="button" href="${href(ctx, '/workbench/organizations/new')}">${s.newOrganization}</a></p>
<table class="cards"><caption class="visually-hidden">${s.organizationsTitle}</caption><thead><tr><th scope="col">${s.name}</th><th scope="col">${fieldLabel(ctx.lang, 'kind')}</th><th scope="col">${s.accreditation}</th></tr></thead><tbody>${rows}</tbody></table>
${page.next_cursor ? html`<nav class="pager" aria-label="${s.pagination}"><a href="${href(ctx, '/workbench/organizations', { cursor: page.next_cursor })}" rel="next">${s.nextPage}</a></nav>` : ''}`,
      }),
    );
  });

  const organizationPage = (ctx: WbContext) => async (over: Partial<SchemaFormPage>): Promise<SchemaFormPage> => ({
    title: WB[ctx.lang].newOrganization,
    action: href(ctx, '/workbench/organizations/new'),
    back: { href: href(ctx, '/workbench/organizations'), text: `← ${WB[ctx.lang].organizationsTitle}` },
    schemaId: 'organizations/organization.json',
    fields: {},
    submit: WB[ctx.lang].newOrganization,
    ...over,
  });
  app.get('/organizations/new', { schema: HIDE }, async (request, reply) => {
    const a = as(request, reply, 'admin', 'regulator');
    if (!a) return reply;
    return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, await organizationPage(a.ctx)({})));
  });
  app.post('/organizations/new', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const a = as(request, reply, 'admin', 'regulator');
    if (!a) return reply;
    const r = await submit(reply, a.ctx, organizationPage(a.ctx), fieldsOf(request.body), (input: OrganizationInput) => createOrganization(app.db, input, actorOf(a.p)));
    return r.sent ?? reply.header('cache-control', 'no-store').redirect(href(a.ctx, '/workbench/organizations', { saved: 'organization' }), 303);
  });

  const accreditationPage = (ctx: WbContext, id: string, name: string) => async (over: Partial<SchemaFormPage>): Promise<SchemaFormPage> => ({
    title: `${WB[ctx.lang].setAccreditation}: ${name}`,
    action: href(ctx, `/workbench/organizations/${id}/accreditation`),
    back: { href: href(ctx, '/workbench/organizations'), text: `← ${WB[ctx.lang].organizationsTitle}` },
    schemaId: 'organizations/accreditation.json',
    fields: {},
    submit: WB[ctx.lang].setAccreditation,
    options: { schemes: (await listSchemes(app.db, { limit: 200 })).items.map((x) => ({ value: x.code, label: ctx.lang === 'zh-Hans' && x.title_zh ? x.title_zh : x.title })) },
    ...over,
  });
  const lab = async (request: FastifyRequest) => {
    const { id } = request.params as { id: string };
    const org = UUID.test(id) ? await app.db.selectFrom('organizations').select(['id', 'name', 'kind', 'accreditation']).where('id', '=', id).executeTakeFirst() : undefined;
    if (!org || org.kind !== 'lab') throw notFound('lab');
    return org;
  };
  app.get('/organizations/:id/accreditation', { schema: HIDE }, async (request, reply) => {
    const a = as(request, reply, 'regulator');
    if (!a) return reply;
    const org = await lab(request);
    const page = await accreditationPage(a.ctx, org.id, org.name)({});
    const fields = org.accreditation ? toFields(files, files.resolve(files.file(page.schemaId), page.schemaId), { accreditation_number: org.accreditation.accreditation_number, schemes: org.accreditation.schemes, valid_until: org.accreditation.valid_until }) : {};
    return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, { ...page, fields }));
  });
  app.post('/organizations/:id/accreditation', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const a = as(request, reply, 'regulator');
    if (!a) return reply;
    const org = await lab(request);
    const r = await submit(reply, a.ctx, accreditationPage(a.ctx, org.id, org.name), fieldsOf(request.body), (input) => setAccreditation(app.db, org.id, input, actorOf(a.p), app.engine.now()));
    return r.sent ?? reply.header('cache-control', 'no-store').redirect(href(a.ctx, '/workbench/organizations', { saved: 'accreditation' }), 303);
  });

  app.get('/principals', { schema: HIDE }, async (request, reply) => {
    const a = as(request, reply, 'admin');
    if (!a) return reply;
    const { ctx } = a;
    const s = WB[ctx.lang];
    const rows = await app.db
      .selectFrom('principals')
      .leftJoin('organizations', 'organizations.id', 'principals.organization_id')
      .select(['principals.id', 'principals.role', 'principals.name', 'principals.revoked_at', 'principals.created_at', 'organizations.name as organization'])
      .orderBy('principals.created_at', 'desc')
      .limit(200)
      .execute();
    const notice = ctx.query.revoked ? html`<p class="notice" role="status">${s.principalRevoked}</p>` : '';
    const body = rows.map(
      (r) => html`<tr><th scope="row" data-label="${s.name}">${r.name ?? r.id.slice(0, 8)}</th><td data-label="${s.role}">${roleLabels[r.role as Role][ctx.lang]}</td><td data-label="${s.organization}">${r.organization ?? '—'}</td><td data-label="${s.created}">${formatDateTime(r.created_at)}</td>
<td data-label="${s.state}">${r.revoked_at ? s.revoked : html`${s.active}${r.id === a.p.id ? '' : html`<form method="post" action="${href(ctx, `/workbench/principals/${r.id}/revoke`)}">${formFields(ctx)}<button type="submit" class="secondary">${s.revoke}: ${r.name ?? r.id.slice(0, 8)}</button></form>`}`}</td></tr>`,
    );
    return sendHtml(
      reply,
      ctx,
      wbLayout(ctx, {
        title: s.principalsTitle,
        body: html`${notice}<h1>${s.principalsTitle}</h1><p><a class="button" href="${href(ctx, '/workbench/principals/new')}">${s.newPrincipal}</a></p>
<table class="cards"><caption class="visually-hidden">${s.principalsTitle}</caption><thead><tr><th scope="col">${s.name}</th><th scope="col">${s.role}</th><th scope="col">${s.organization}</th><th scope="col">${s.created}</th><th scope="col">${s.state}</th></tr></thead><tbody>${body}</tbody></table>`,
      }),
    );
  });

  const principalPage = (ctx: WbContext) => async (over: Partial<SchemaFormPage>): Promise<SchemaFormPage> => ({
    title: WB[ctx.lang].newPrincipal,
    action: href(ctx, '/workbench/principals/new'),
    back: { href: href(ctx, '/workbench/principals'), text: `← ${WB[ctx.lang].principalsTitle}` },
    schemaId: 'principals/principal.json',
    fields: {},
    submit: WB[ctx.lang].newPrincipal,
    options: {
      organization_id: (await app.db.selectFrom('organizations').select(['id', 'name']).orderBy('name').limit(500).execute()).map((o) => ({ value: o.id, label: o.name })),
    },
    ...over,
  });
  app.get('/principals/new', { schema: HIDE }, async (request, reply) => {
    const a = as(request, reply, 'admin');
    if (!a) return reply;
    return sendHtml(reply, a.ctx, schemaFormPage(a.ctx, files, await principalPage(a.ctx)({})));
  });
  app.post('/principals/new', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const a = as(request, reply, 'admin');
    if (!a) return reply;
    const r = await submit(reply, a.ctx, principalPage(a.ctx), fieldsOf(request.body), (input: { role: Role; organization_id?: string; name?: string }) => createPrincipal(app.db, input, actorOf(a.p)));
    if (r.sent) return r.sent;
    const created = r.saved as Principal & { token: string };
    const s = WB[a.ctx.lang];
    // Shown once, on this answer only (no-store); never again, nor logged.
    return sendHtml(
      reply,
      a.ctx,
      wbLayout(a.ctx, {
        title: s.tokenOnceTitle,
        body: html`<h1>${s.tokenOnceTitle}</h1><div class="panel"><p>${s.tokenOnce}</p><p><label for="new-token">${roleLabels[created.role][a.ctx.lang]}${created.name ? ` · ${created.name}` : ''}</label><input type="text" id="new-token" readonly value="${created.token}" spellcheck="false"></p></div><p><a href="${href(a.ctx, '/workbench/principals')}">← ${s.principalsTitle}</a></p>`,
      }),
      201,
    );
  });

  app.post('/principals/:id/revoke', { schema: HIDE, preHandler: app.csrfProtection }, async (request, reply) => {
    const a = as(request, reply, 'admin');
    if (!a) return reply;
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) throw notFound('principal');
    await revokePrincipal(app.db, id, actorOf(a.p));
    return reply.header('cache-control', 'no-store').redirect(href(a.ctx, '/workbench/principals', { revoked: '1' }), 303);
  });
}
