// /register/verify (SPEC §8): a credential pasted, or read from an uploaded picture of its QR code,
// judged by the offline verifier itself (verifyCredentialOffline, what `npm run cli --
// verify-credential` runs) with this service's JWKS and its status lists as the API serves them:
// the same verdict the CLI gives for the same files, not a lookup of the register's row.
// The form body parsers are registered here only, so the API's content types are unchanged.
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { describeWindow } from '../http/plugins/rate-limit.js';
import { QrImageError, QrImageReader, MAX_QR_IMAGE_PIXELS } from '../credentials/qr-image.js';
import { certificatePageUrl, parseQrPayload } from '../credentials/qr-payload.js';
import { lastList, STATUS_PURPOSES, StatusListCache, statusListUrl, type StatusPurpose } from '../credentials/status-list.js';
import { verifyCredentialOffline } from '../credentials/verify-offline.js';
import { CERTIFICATE_NUMBER, findCertificate } from '../register/certificates.js';
import type { Html } from './html.js';
import { STRINGS } from './i18n.js';
import { MultipartError, MultipartForm, parseMultipart, type FormPart } from './multipart.js';
import { isReadable, verifyPage, type CredentialSubject, type FieldError, type VerifyLimits, type VerifyResult } from './verify-views.js';
import type { PageContext } from './views.js';

const MiB = 1024 * 1024;
export const IMAGE_LIMIT_BYTES = 2 * MiB;
/** A credential with Chinese names is ~2 KB, its QR text ~2.1 KB: room for four times that. */
export const CREDENTIAL_LIMIT_CHARS = 8192;
/** The image, the text field and the multipart framing. */
const UPLOAD_BODY_LIMIT = IMAGE_LIMIT_BYTES + 64 * 1024;
/** The text field URL-encoded: every character of it could take up to nine bytes (%XX of UTF-8). */
const FORM_BODY_LIMIT = CREDENTIAL_LIMIT_CHARS * 9 + 1024;
const QR_TIMEOUT_MS = 5000;
/** At most as many images read at once as a small server has cores; more are refused with 503. */
const QR_MAX_CONCURRENT = 2;
/** A credential names one list per purpose; a few more are looked at, never many. */
const MAX_LISTS = STATUS_PURPOSES.length * 2;
const BUSY_RETRY_AFTER_S = 5;

export const VERIFY_LIMITS: VerifyLimits = { credentialChars: CREDENTIAL_LIMIT_CHARS, imageMiB: IMAGE_LIMIT_BYTES / MiB };

export type PageHelpers = {
  context: (request: FastifyRequest) => PageContext;
  send: (reply: FastifyReply, ctx: PageContext, page: Html, status?: number) => FastifyReply;
};

/** The claims of a compact JWS read without checking its signature: only to know which status lists to hand the verifier, and what an untrusted credential claims. */
function unverifiedClaims(jwt: string): Record<string, any> | null {
  try {
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, any>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function subjectOf(claims: Record<string, any>): CredentialSubject | null {
  const cs = obj(claims.credentialSubject);
  const number = str(cs.certificateNumber);
  if (!number) return null;
  const holder = obj(cs.holder);
  const product = obj(cs.product);
  const scheme = obj(cs.scheme);
  return {
    number,
    holder: {
      name: str(holder.name),
      nameEn: str(holder.nameEn),
      creditCode: str(holder.creditCode),
      registrationNumber: str(holder.registrationNumber),
    },
    product: { name: str(product.name), version: str(product.version) },
    scheme: { code: str(scheme.code), title: str(scheme.title) },
    scope: str(cs.scope),
    lab: { name: str(obj(cs.lab).name) },
    validFrom: str(claims.validFrom) ?? str(cs.validFrom),
    validUntil: str(claims.validUntil) ?? str(cs.validUntil),
  };
}

type Submitted = { credential: string; image: FormPart | null };

/** The two fields, from a multipart body (the page's form), or a URL-encoded or JSON one (a script's); anything else has neither. */
function submitted(body: unknown): Submitted {
  if (body instanceof MultipartForm) {
    const { parts } = body;
    const text = parts.find((p) => p.name === 'credential' && p.filename === null);
    // A file input left empty still sends its part, with no name and no bytes.
    const image = parts.find((p) => p.name === 'qr_image' && (p.data.length > 0 || p.filename));
    return { credential: text ? text.data.toString('utf8') : '', image: image ?? null };
  }
  const c = obj(body).credential;
  return { credential: typeof c === 'string' ? c : Array.isArray(c) && typeof c[0] === 'string' ? c[0] : '', image: null };
}

const isJpeg = (part: FormPart) => (part.data[0] === 0xff && part.data[1] === 0xd8 && part.data[2] === 0xff) || part.type === 'image/jpeg';

export default async function verifyPages(app: FastifyInstance, opts: PageHelpers) {
  const { context, send } = opts;
  const { issuerUrl, publicUrl, statusListTtlMs } = app.config;
  const keys = app.credentials.keys;
  // What GET /.well-known/jwks.json serves, and status lists signed by the class that signs the API's.
  const jwks = () => JSON.stringify({ keys: keys.all.map((k) => k.jwk) });
  const lists = new StatusListCache({ issuerUrl, publicUrl, ttlMs: statusListTtlMs, key: () => keys.signer, now: app.engine.now });
  const reader = new QrImageReader({ timeoutMs: QR_TIMEOUT_MS, maxConcurrent: QR_MAX_CONCURRENT });
  // Reading an image costs what tens of pages do: besides the service's limit (which every request
  // counts against), a verification counts against a tenth of it, in a store of its own.
  const verifyLimit = app.createRateLimit({
    max: Math.max(1, Math.floor(app.config.rateLimitMax / 10)),
    timeWindow: app.config.rateLimitWindowMs,
  });

  await app.register(formbody, { bodyLimit: FORM_BODY_LIMIT });
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: UPLOAD_BODY_LIMIT }, (request, body, done) => {
    try {
      done(null, new MultipartForm(parseMultipart(body as Buffer, request.headers['content-type'] ?? '')));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  /** This service's status lists that the credential's entries name (any other list is not ours to give). */
  async function statusListsFor(claims: Record<string, any> | null): Promise<string[]> {
    const entries: unknown[] = Array.isArray(claims?.credentialStatus)
      ? claims.credentialStatus
      : claims?.credentialStatus
        ? [claims.credentialStatus]
        : [];
    const wanted = new Map<string, { purpose: StatusPurpose; n: number }>();
    for (const e of entries) {
      const url = obj(e).statusListCredential;
      if (typeof url !== 'string') continue;
      for (const purpose of STATUS_PURPOSES) {
        const prefix = statusListUrl(publicUrl, purpose, 0).slice(0, -1);
        const n = url.startsWith(prefix) ? url.slice(prefix.length) : '';
        if (/^(0|[1-9]\d{0,14})$/.test(n) && wanted.size < MAX_LISTS) wanted.set(url, { purpose, n: Number(n) });
      }
    }
    const needed = [...wanted.values()];
    const last = needed.some((w) => w.n > 0) ? await lastList(app.db) : 0;
    return Promise.all(needed.filter((w) => w.n <= last).map(async (w) => (await lists.get(app.db, w.purpose, w.n)).jwt));
  }

  async function judge(text: string, fromImage: boolean): Promise<VerifyResult> {
    const { url, jwt } = parseQrPayload(text);
    const claims = unverifiedClaims(jwt);
    const checkedAt = app.engine.now();
    const verdict = await verifyCredentialOffline({
      credential: jwt,
      jwks: jwks(),
      statusLists: await statusListsFor(claims),
      issuer: issuerUrl,
      now: checkedAt,
    });
    const subject = isReadable(verdict.outcome) && claims ? subjectOf(claims) : null;
    const claimed = str(obj(claims?.credentialSubject).certificateNumber);
    const claimedNumber = !subject && claimed && CERTIFICATE_NUMBER.test(claimed) ? claimed : null;
    const number = subject?.number ?? claimedNumber;
    // A genuine credential's certificate is in the register; a claimed number is linked only when it is.
    const inRegister = subject ? true : number ? Boolean(await findCertificate(app.db, number, checkedAt)) : false;
    return {
      verdict,
      subject,
      claimedNumber,
      qrUrl: url,
      qrUrlIsOurs: url !== null && (number ? url === certificatePageUrl(publicUrl, number) : url.startsWith(`${publicUrl}/register/`)),
      fromImage,
      checkedAt,
      registerPath: number && inRegister ? `/register/certificates/${encodeURIComponent(number)}` : null,
    };
  }

  const formPage = (request: FastifyRequest, reply: FastifyReply, errors: FieldError[], status: number, credential = '') => {
    const ctx = context(request);
    return send(reply, ctx, verifyPage(ctx, { credential, errors, result: null, limits: VERIFY_LIMITS }), status);
  };

  // The form's own errors are the form again, with each message beside its field; others are the register's error pages.
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const ctx = context(request);
    const v = STRINGS[ctx.lang].verify;
    if ('code' in err && err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const multipart = (request.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
      return formPage(
        request,
        reply,
        [
          multipart
            ? { field: 'qr_image', message: v.tooLarge(VERIFY_LIMITS.imageMiB) }
            : { field: 'credential', message: v.tooLong(CREDENTIAL_LIMIT_CHARS) },
        ],
        413,
      );
    }
    if (err instanceof MultipartError) return formPage(request, reply, [{ field: 'credential', message: v.unreadableForm }], 400);
    if (err instanceof AppError && err.code === 'rate_limited') {
      return send(
        reply,
        ctx,
        verifyPage(ctx, { credential: '', errors: [{ field: 'credential', message: v.rateLimited }], result: null, limits: VERIFY_LIMITS }),
        429,
      );
    }
    throw err;
  });

  app.get('/verify', { schema: { hide: true } }, async (request, reply) => formPage(request, reply, [], 200));

  app.post(
    '/verify',
    {
      schema: { hide: true },
      onRequest: async (request, reply) => {
        const r = await verifyLimit(request);
        if (r.isAllowed || !r.isExceeded) return;
        reply.header('retry-after', String(r.ttlInSeconds));
        throw new AppError('rate_limited', `rate limit of ${r.max} verifications per ${describeWindow(r.timeWindow)} exceeded`);
      },
    },
    async (request, reply) => {
      const ctx = context(request);
      const v = STRINGS[ctx.lang].verify;
      const form = submitted(request.body);
      const text = form.credential.trim();
      const refuse = (field: FieldError['field'], message: string, status = 400) =>
        formPage(request, reply, [{ field, message }], status, form.credential);
      if (!text && !form.image) return refuse('credential', v.missing);
      if (text && form.image) return refuse('credential', v.both);
      if (text.length > CREDENTIAL_LIMIT_CHARS) return refuse('credential', v.tooLong(CREDENTIAL_LIMIT_CHARS), 413);
      if (!form.image)
        return send(reply, ctx, verifyPage(ctx, { credential: '', errors: [], result: await judge(text, false), limits: VERIFY_LIMITS }));

      const image = form.image;
      if (image.data.length > IMAGE_LIMIT_BYTES) return refuse('qr_image', v.tooLarge(VERIFY_LIMITS.imageMiB), 413);
      let qrText: string;
      try {
        qrText = await reader.read(image.data);
      } catch (err) {
        if (!(err instanceof QrImageError)) throw err;
        request.log.info({ problem: err.problem, bytes: image.data.length }, `QR image not read: ${err.message}`);
        switch (err.problem) {
          case 'busy':
            reply.header('retry-after', String(BUSY_RETRY_AFTER_S));
            return refuse('qr_image', v.busy, 503);
          case 'not_png':
            return refuse('qr_image', isJpeg(image) ? v.jpeg : v.notPng);
          case 'too_many_pixels': {
            const w = image.data.readUInt32BE(16);
            const h = image.data.readUInt32BE(20);
            return refuse('qr_image', v.tooManyPixels(w, h, MAX_QR_IMAGE_PIXELS / 1_000_000));
          }
          case 'unreadable':
            return refuse('qr_image', v.unreadable);
          default:
            return refuse('qr_image', v.noQrCode);
        }
      }
      return send(reply, ctx, verifyPage(ctx, { credential: '', errors: [], result: await judge(qrText, true), limits: VERIFY_LIMITS }));
    },
  );
}
