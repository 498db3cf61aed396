// The sign-in page: a token, once, for a session.
import { html, type Html } from '../pages/html.js';
import { href } from '../pages/views.js';
import { WB } from './i18n.js';
import { formFields, wbLayout, type WbContext } from './layout.js';

export function signInPage(ctx: WbContext, v: { next: string; error?: string; notice?: string | null }): Html {
  const s = WB[ctx.lang];
  const summary = v.error
    ? html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary" aria-labelledby="error-summary-title"><h2 id="error-summary-title">${s.errorSummary}</h2><ul><li><a href="#token">${v.error}</a></li></ul></div>`
    : '';
  return wbLayout(ctx, {
    title: s.signInTitle,
    error: Boolean(v.error),
    body: html`${summary}${v.notice ? html`<p class="notice warn" role="status">${v.notice}</p>` : ''}
<h1>${s.signInTitle}</h1>
<form class="panel" method="post" action="${href(ctx, '/workbench/sign-in')}" novalidate>
${formFields(ctx)}
<input type="hidden" name="next" value="${v.next}">
<div class="field${v.error ? ' has-error' : ''}">
<label for="token">${s.tokenLabel}</label>
<p class="hint" id="token-hint">${s.signInIntro} ${s.tokenHint}</p>
${v.error ? html`<p class="field-error" id="token-error">${v.error}</p>` : ''}
<input type="password" id="token" name="token" autocomplete="current-password" spellcheck="false" required aria-describedby="token-hint${v.error ? ' token-error' : ''}"${v.error ? html` aria-invalid="true"` : ''}>
</div>
<button type="submit">${s.signInButton}</button>
</form>`,
  });
}
