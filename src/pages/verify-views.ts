// The page that verifies a pasted or scanned credential (SPEC §8): the form, its errors (GOV.UK's
// error summary and messages beside the fields), and the verifier's verdict with what a genuine
// credential states.
import type { Outcome, Verdict } from '../credentials/verify-offline.js';
import { html, type Html } from './html.js';
import { STRINGS, formatDateTime } from './i18n.js';
import { VERIFY_PATH, href, layout, type PageContext } from './views.js';

export { VERIFY_PATH };

export type VerifyField = 'credential' | 'qr_image';
export type FieldError = { field: VerifyField; message: string };
export type VerifyLimits = { credentialChars: number; imageMiB: number };

/** What a credential whose signature verified says of its certificate (fields as the credential names them). */
export type CredentialSubject = {
  number: string;
  holder: { name?: string; nameEn?: string; creditCode?: string; registrationNumber?: string };
  product: { name?: string; version?: string };
  scheme: { code?: string; title?: string };
  scope?: string;
  lab: { name?: string };
  validFrom?: string;
  validUntil?: string;
};

export type VerifyResult = {
  verdict: Verdict;
  /** The credential's statements, when its signature verified (valid, suspended, revoked, expired). */
  subject: CredentialSubject | null;
  /** The certificate number an unverified credential claims, when it names one in the register's format. */
  claimedNumber: string | null;
  /** The address in a QR code's text, and whether it is this register's page for the certificate. */
  qrUrl: string | null;
  qrUrlIsOurs: boolean;
  fromImage: boolean;
  checkedAt: Date;
  /** This register's page for the certificate the credential names, if that certificate is in the register. */
  registerPath: string | null;
};

const READABLE: readonly Outcome[] = ['valid', 'suspended', 'revoked', 'expired'];
export const isReadable = (o: Outcome) => READABLE.includes(o);
/** The four certificate statuses keep the register's colours; a credential that is not genuine or not readable gets its own. */
const outcomeClass = (o: Outcome) => (isReadable(o) ? `s-${o}` : 's-rejected');

const time = (iso: string | undefined) => {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? '—' : html`<time datetime="${new Date(ms).toISOString()}">${formatDateTime(new Date(ms))}</time>`;
};
const facts = (rows: Array<[string, Html | string | undefined]>) =>
  html`<dl class="facts">${rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;

function verdictSection(ctx: PageContext, r: VerifyResult): Html {
  const s = STRINGS[ctx.lang];
  const v = s.verify;
  const { outcome } = r.verdict;
  const subject = r.subject;
  const number = subject?.number ?? r.claimedNumber;
  const registerLink = r.registerPath && number ? html`<a href="${href(ctx, r.registerPath)}">${v.registerLink(number)}</a>` : null;
  return html`<section class="verdict ${outcomeClass(outcome)}" aria-labelledby="verdict-word" data-outcome="${outcome}" role="status">
<span class="word" id="verdict-word">${v.outcome[outcome]}</span>
<p>${v.outcomeSentence[outcome]}</p>
<p class="muted">${v.checkedAt} ${html`<time datetime="${r.checkedAt.toISOString()}">${formatDateTime(r.checkedAt)}</time>`}${r.fromImage ? html` · ${v.fromImage}` : ''}</p>
</section>
<div class="panel">
<h2 id="verifier">${v.verifierSays}</h2>
<p><samp lang="en" class="verifier-message">${r.verdict.message}</samp></p>
${r.verdict.notes.length ? html`<p class="muted">${v.notes}:</p><ul lang="en">${r.verdict.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
</div>
${
  subject
    ? html`<h2 id="subject">${v.subjectHeading}</h2>
<div class="panel">
${facts([
  [s.number, registerLink ? html`${subject.number} · ${registerLink}` : subject.number],
  [
    s.holder,
    subject.holder.nameEn && subject.holder.nameEn !== subject.holder.name
      ? `${subject.holder.name ?? '—'} (${subject.holder.nameEn})`
      : (subject.holder.name ?? '—'),
  ],
  [v.creditCode, subject.holder.creditCode],
  [v.registrationNumber, subject.holder.registrationNumber],
  [s.product, [subject.product.name, subject.product.version].filter(Boolean).join(' ') || '—'],
  [
    s.scheme,
    subject.scheme.title
      ? html`${subject.scheme.title} <span class="muted">(${subject.scheme.code ?? ''})</span>`
      : (subject.scheme.code ?? '—'),
  ],
  [v.scope, subject.scope],
  [s.lab, subject.lab.name ?? '—'],
  [v.validFrom, time(subject.validFrom)],
  [s.validUntil, time(subject.validUntil)],
])}
</div>`
    : number
      ? html`<p>${v.claims(number)} ${registerLink ?? html`<a href="${href(ctx, '/register', { q: number })}">${s.searchTitle}</a>`}</p>`
      : ''
}
${
  r.qrUrl
    ? html`<div class="panel">${facts([[v.qrAddress, html`<code class="qr-url">${r.qrUrl}</code>`]])}${r.qrUrlIsOurs ? '' : html`<p class="warning">${v.qrAddressElsewhere}</p>`}</div>`
    : ''
}`;
}

/** The form, with each error beside its field; `boxed` for a form inside another panel. */
function verifyForm(ctx: PageContext, opts: { credential: string; errors: FieldError[]; limits: VerifyLimits; boxed?: boolean }): Html {
  const v = STRINGS[ctx.lang].verify;
  const { errors, limits } = opts;
  const errorOf = (field: VerifyField) => errors.find((e) => e.field === field);
  const fieldError = (field: VerifyField) => {
    const e = errorOf(field);
    return e ? html`<p class="field-error" id="${field}-error"><span class="visually-hidden">${v.errorPrefix}</span>${e.message}</p>` : '';
  };
  const describedBy = (field: VerifyField) => `${field}-hint${errorOf(field) ? ` ${field}-error` : ''}`;
  return html`<form class="${opts.boxed ? '' : 'panel '}verify-form" method="post" action="${href(ctx, VERIFY_PATH)}" enctype="multipart/form-data">
<div class="field${errorOf('credential') ? ' has-error' : ''}">
<label for="credential">${v.credentialLabel}</label>
<p class="hint" id="credential-hint">${v.credentialHint(limits.credentialChars)}</p>
${fieldError('credential')}
<textarea id="credential" name="credential" rows="6" spellcheck="false" autocomplete="off" autocapitalize="off" aria-describedby="${describedBy('credential')}"${errorOf('credential') ? html` aria-invalid="true"` : ''}>${opts.credential}</textarea>
</div>
<div class="field${errorOf('qr_image') ? ' has-error' : ''}">
<label for="qr_image">${v.imageLabel}</label>
<p class="hint" id="qr_image-hint">${v.imageHint(limits.imageMiB)}</p>
${fieldError('qr_image')}
<input type="file" id="qr_image" name="qr_image" accept="image/png" aria-describedby="${describedBy('qr_image')}"${errorOf('qr_image') ? html` aria-invalid="true"` : ''}>
</div>
<button type="submit">${v.submit}</button>
</form>`;
}

/** The form on a certificate's page (SPEC §8: the certificate page verifies a pasted or scanned credential), folded until opened. */
export function certificateVerifyBox(ctx: PageContext, limits: VerifyLimits): Html {
  const v = STRINGS[ctx.lang].verify;
  return html`<details class="panel verify-box">
<summary>${v.certificateBox}</summary>
<p class="muted">${v.intro}</p>
${verifyForm(ctx, { credential: '', errors: [], limits, boxed: true })}
</details>`;
}

export function verifyPage(
  ctx: PageContext,
  opts: { credential: string; errors: FieldError[]; result: VerifyResult | null; limits: VerifyLimits },
): Html {
  const v = STRINGS[ctx.lang].verify;
  const { errors, result } = opts;
  const summary = errors.length
    ? html`<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" autofocus>
<h2 id="error-summary-title">${v.errorSummary}</h2>
<ul>${errors.map((e) => html`<li><a href="#${e.field}">${e.message}</a></li>`)}</ul>
</div>`
    : '';
  const title = result ? `${v.outcome[result.verdict.outcome]} · ${v.title}` : errors.length ? `${v.errorPrefix}${v.title}` : v.title;
  const body = html`${summary}<h1>${v.title}</h1>
${result ? verdictSection(ctx, result) : html`<p>${v.intro}</p>`}
${result ? html`<h2 id="again">${v.again}</h2>` : ''}
${verifyForm(ctx, opts)}`;
  return layout(ctx, { title, section: 'verify', body });
}
