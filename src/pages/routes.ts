import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isDataException, isUnavailable } from '../errors.js';
import { UNAVAILABLE_RETRY_AFTER_S } from '../http/plugins/errors.js';
import { CERTIFICATE_NUMBER, CERTIFICATE_STATUSES, certificateRegister, certificateStatusHistory, findCertificate, type CertificateStatus } from '../register/certificates.js';
import { PUBLIC_SANDBOX_STATES, findSandboxParticipant, sandboxRegister } from '../register/sandbox.js';
import { PUBLIC_GENAI_STATES, findGenaiProject, genaiRegister } from '../register/genai.js';
import { listSchemes } from '../registry/schemes.js';
import { describeWorkflow, mermaid } from '../engine/workflow-docs.js';
import { workflows } from '../../workflows/index.js';
import { sandboxWorkflow } from '../../workflows/sandbox.js';
import { genaiWorkflow } from '../../workflows/genai.js';
import { eventLabel, roleLabels, stateLabel, workflowLabels } from '../../workflows/labels.js';
import { stateDiagram } from './diagram.js';
import verifyPages, { VERIFY_LIMITS } from './verify.js';
import { certificateVerifyBox } from './verify-views.js';
import type { Html } from './html.js';
import { LANGS, STRINGS, chooseLang, type Lang } from './i18n.js';
import {
  CSS,
  CSS_PATH,
  KINDS,
  certificatePage,
  errorPage,
  genaiPage,
  href,
  registerPage,
  sandboxPage,
  workflowsPage,
  type PageContext,
  type RegisterKind,
  type RegisterSearch,
  type Section,
  type WorkflowDoc,
} from './views.js';

const one = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '');

function pageContext(request: FastifyRequest): PageContext {
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries((request.query ?? {}) as Record<string, unknown>)) if (one(v)) query[k] = one(v);
  const { lang, explicit } = chooseLang(query.lang, request.headers['accept-language']);
  return { lang, explicit, path: request.url.split('?')[0]!, query };
}

function sendPage(reply: FastifyReply, ctx: PageContext, page: Html, status = 200) {
  return (
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('content-language', ctx.lang)
      .header('vary', 'Accept-Language')
      // A certificate's status can change at any moment: a browser asks again every time.
      .header('cache-control', 'no-cache')
      .send(page.value)
  );
}

/** Errors of the pages are pages too, in the reader's language; never problem+json. */
function htmlErrors(app: FastifyInstance) {
  app.setNotFoundHandler((request, reply) => {
    const ctx = pageContext(request);
    const s = STRINGS[ctx.lang];
    return sendPage(reply, ctx, errorPage(ctx, { title: s.notFoundTitle, message: s.notFoundPage }), 404);
  });
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const ctx = pageContext(request);
    const s = STRINGS[ctx.lang];
    const status = err instanceof AppError ? err.status : isDataException(err) ? 400 : (err.statusCode ?? 500);
    if (status === 400) return sendPage(reply, ctx, errorPage(ctx, { title: s.badRequestTitle, message: s.badRequest }), 400);
    if (status === 404) return sendPage(reply, ctx, errorPage(ctx, { title: s.notFoundTitle, message: s.notFoundPage }), 404);
    if (status < 500) return sendPage(reply, ctx, errorPage(ctx, { title: s.errorTitle, message: err instanceof AppError ? err.detail : err.message }), status);
    if (isUnavailable(err)) {
      request.log.warn({ err }, 'page unavailable: the database cannot be reached');
      reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
      return sendPage(reply, ctx, errorPage(ctx, { title: s.unavailableTitle, message: s.unavailable }), 503);
    }
    request.log.error({ err }, 'page failed');
    return sendPage(reply, ctx, errorPage(ctx, { title: s.errorTitle, message: s.error(request.id) }), 500);
  });
}

const caseNumber = (prefix: string) => new RegExp(`^${prefix}-\\d{4}-\\d{6}$`, 'i');
const NUMBER = { certificates: CERTIFICATE_NUMBER, sandbox: caseNumber(sandboxWorkflow.numberPrefix), genai: caseNumber(genaiWorkflow.numberPrefix) };
const SINGLE_LIMIT = 20;
const SECTION_LIMIT = 10;

async function registerPages(app: FastifyInstance) {
  htmlErrors(app);
  const hide = { schema: { hide: true } };
  await app.register(verifyPages, { context: pageContext, send: sendPage });

  app.get('/', hide, async (request, reply) => {
    const ctx = pageContext(request);
    const raw = ctx.query;
    const search: RegisterSearch = {
      q: raw.q?.trim().slice(0, 200) ?? '',
      kind: (KINDS as readonly string[]).includes(raw.kind ?? '') ? (raw.kind as RegisterKind) : 'all',
      status: (CERTIFICATE_STATUSES as readonly string[]).includes(raw.status ?? '') ? raw.status! : '',
      state: ([...PUBLIC_SANDBOX_STATES, ...PUBLIC_GENAI_STATES] as string[]).includes(raw.state ?? '') ? raw.state! : '',
      scheme: /^[a-z0-9-]{1,64}$/.test(raw.scheme ?? '') ? raw.scheme! : '',
      cursor: raw.cursor ?? '',
      limit: /^([1-9]|[1-4][0-9]|50)$/.test(raw.limit ?? '') ? raw.limit! : '',
    };
    if (search.cursor && !/^[A-Za-z0-9_-]{1,200}$/.test(search.cursor)) throw new AppError('validation_failed', 'cursor is not one this service issued');
    const now = app.engine.now();

    // A whole number typed into the box goes straight to its page: verification in one step.
    const wanted = (k: RegisterKind) => search.kind === 'all' || search.kind === k;
    if (!search.cursor) {
      let target: string | null = null;
      if (wanted('certificates') && NUMBER.certificates.test(search.q) && (await findCertificate(app.db, search.q, now))) target = `/register/certificates/${search.q.toUpperCase()}`;
      if (wanted('sandbox') && NUMBER.sandbox.test(search.q) && (await findSandboxParticipant(app.db, search.q))) target = `/register/sandbox/${search.q.toUpperCase()}`;
      if (wanted('genai') && NUMBER.genai.test(search.q) && (await findGenaiProject(app.db, search.q))) target = `/register/genai-projects/${search.q.toUpperCase()}`;
      if (target) return reply.header('vary', 'Accept-Language').redirect(href(ctx, target), 303);
    }

    // A filter that only one register has (certificate status, scheme, a sandbox or project state) narrows the page to that register.
    const stateKind = (PUBLIC_SANDBOX_STATES as readonly string[]).includes(search.state) ? 'sandbox' : search.state ? 'genai' : null;
    const certificateOnly = Boolean(search.status || search.scheme);
    const shown = (k: Exclude<RegisterKind, 'all'>) =>
      search.kind === 'all' ? (k === 'certificates' ? !stateKind : !certificateOnly && (!stateKind || stateKind === k)) : search.kind === k;
    const limit = search.limit ? Number(search.limit) : search.kind === 'all' ? SECTION_LIMIT : SINGLE_LIMIT;
    const cursor = search.kind === 'all' ? undefined : search.cursor || undefined;
    const q = search.q || undefined;

    const [certificates, sandbox, genai, schemes] = await Promise.all([
      shown('certificates')
        ? certificateRegister(app.db, { q, status: (search.status || undefined) as CertificateStatus | undefined, scheme: search.scheme || undefined, limit, cursor }, now)
        : null,
      shown('sandbox') ? sandboxRegister(app.db, { q, state: stateKind === 'sandbox' ? search.state : undefined, limit, cursor }) : null,
      shown('genai') ? genaiRegister(app.db, { q, state: stateKind === 'genai' ? (search.state as (typeof PUBLIC_GENAI_STATES)[number]) : undefined, limit, cursor }) : null,
      listSchemes(app.db, { limit: 200 }),
    ]);
    const sections: Section[] = [];
    if (certificates) sections.push({ kind: 'certificates', ...certificates });
    if (sandbox) sections.push({ kind: 'sandbox', ...sandbox });
    if (genai) sections.push({ kind: 'genai', ...genai });
    return sendPage(
      reply,
      ctx,
      registerPage(ctx, { search, sections, schemes: schemes.items, certificateStatuses: CERTIFICATE_STATUSES, sandboxStates: PUBLIC_SANDBOX_STATES, genaiStates: PUBLIC_GENAI_STATES }),
    );
  });

  app.get('/certificates/:number', hide, async (request, reply) => {
    const ctx = pageContext(request);
    const { number } = request.params as { number: string };
    const now = app.engine.now();
    // Only a well-formed number reaches the database (a NUL byte or a stray character would not).
    const cert = NUMBER.certificates.test(number.trim()) ? await findCertificate(app.db, number, now) : null;
    if (!cert) {
      const s = STRINGS[ctx.lang];
      return sendPage(reply, ctx, errorPage(ctx, { title: s.notFoundTitle, message: s.notFoundCertificate(number.trim()) }), 404);
    }
    const [history, schemes] = await Promise.all([certificateStatusHistory(app.db, cert.number), listSchemes(app.db, { limit: 200 })]);
    return sendPage(reply, ctx, certificatePage(ctx, cert, history ?? [], schemes.items, now, certificateVerifyBox(ctx, VERIFY_LIMITS)));
  });

  app.get('/sandbox/:number', hide, async (request, reply) => {
    const ctx = pageContext(request);
    const { number } = request.params as { number: string };
    const participant = NUMBER.sandbox.test(number.trim()) ? await findSandboxParticipant(app.db, number) : null;
    const s = STRINGS[ctx.lang];
    if (!participant) return sendPage(reply, ctx, errorPage(ctx, { title: s.notFoundTitle, message: s.notFoundSandbox(number.trim()) }), 404);
    return sendPage(reply, ctx, sandboxPage(ctx, participant));
  });

  app.get('/genai-projects/:number', hide, async (request, reply) => {
    const ctx = pageContext(request);
    const { number } = request.params as { number: string };
    const project = NUMBER.genai.test(number.trim()) ? await findGenaiProject(app.db, number) : null;
    const s = STRINGS[ctx.lang];
    if (!project) return sendPage(reply, ctx, errorPage(ctx, { title: s.notFoundTitle, message: s.notFoundGenai(number.trim()) }), 404);
    return sendPage(reply, ctx, genaiPage(ctx, project));
  });
}

/** Each workflow described from its machine once, its diagram drawn once per language. */
function workflowDocs(lang: Lang): WorkflowDoc[] {
  return workflows.map((wf) => {
    const d = describeWorkflow(wf);
    const roles = (event: string) => (wf.events[event]?.roles ?? []).map((r) => roleLabels[r][lang]).join(lang === 'en' ? ', ' : '、');
    const diagram = stateDiagram({
      id: wf.kind,
      initial: d.initial,
      states: d.states,
      finals: d.final_states,
      transitions: d.transitions,
      label: (state) => stateLabel(wf.kind, state, lang),
      edgeTitle: (events) => events.map((e) => `${eventLabel(wf.kind, e, lang)} (${roles(e)})`).join('; '),
      ariaLabel: `${STRINGS[lang].diagram}: ${workflowLabels[wf.kind]?.title[lang] ?? wf.title}`,
    });
    return { kind: wf.kind, initial: d.initial, states: d.states, final_states: d.final_states, transitions: d.transitions, mermaid: mermaid(wf), diagram };
  });
}

async function workflowPages(app: FastifyInstance) {
  htmlErrors(app);
  const docs = Object.fromEntries(LANGS.map((lang) => [lang, workflowDocs(lang)])) as Record<Lang, WorkflowDoc[]>;
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const ctx = pageContext(request);
    return sendPage(reply, ctx, workflowsPage(ctx, docs[ctx.lang]));
  });
}

/** The public register as web pages (SPEC §4b): no login, no script, both languages. */
export default async function pageRoutes(app: FastifyInstance) {
  app.get(CSS_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable').send(CSS),
  );
  await app.register(registerPages, { prefix: '/register' });
  await app.register(workflowPages, { prefix: '/workflows' });
}
