// A page holding one form generated from a schema file, posted back to the same address: the
// applicant's product and application forms use it (the event forms add their case around it).
import type { FieldError } from '../errors.js';
import { html, type Html } from '../pages/html.js';
import { WB } from './i18n.js';
import type { SchemaFiles } from './form-schema.js';
import type { Fields } from './form-values.js';
import { fieldMessages } from './form-errors.js';
import { errorSummary, renderForm } from './form.js';
import { formFields, wbLayout, type WbContext } from './layout.js';

export type SchemaFormPage = {
  title: string;
  intro?: string;
  action: string;
  back: { href: string; text: string };
  schemaId: string;
  fields: Fields;
  errors?: FieldError[];
  /** The prefix the refusal's paths carry ('body' for a request body). */
  prefix?: string;
  extra?: string[];
  options?: Record<string, Array<{ value: string; label: string }>>;
  submit: string;
  /** Hidden fields carried through (a case's version for If-Match). */
  hidden?: Record<string, string>;
};

export function schemaFormPage(ctx: WbContext, files: SchemaFiles, v: SchemaFormPage): Html {
  const s = WB[ctx.lang];
  const root = files.resolve(files.file(v.schemaId), v.schemaId);
  const errors = fieldMessages(ctx.lang, files, root, v.fields, v.errors ?? [], v.prefix ?? 'body');
  const { controls, labels } = renderForm({ lang: ctx.lang, files, root, fields: v.fields, errors, options: v.options });
  const summary = errorSummary(ctx.lang, errors, labels, v.extra ?? []);
  return wbLayout(ctx, {
    title: v.title,
    error: errors.size > 0 || (v.extra ?? []).length > 0,
    body: html`${summary}<p><a href="${v.back.href}">${v.back.text}</a></p>
<h1>${v.title}</h1>
${v.intro ? html`<p class="muted">${v.intro}</p>` : ''}
<form class="schema-form" method="post" action="${v.action}" novalidate>
${formFields(ctx)}${Object.entries(v.hidden ?? {}).map(([k, x]) => html`<input type="hidden" name="${k}" value="${x}">`)}
<button type="submit" class="visually-hidden" tabindex="-1" aria-hidden="true">${v.submit}</button>
${controls}
<div class="form-actions"><button type="submit">${v.submit}</button> <a href="${v.back.href}">${s.cancel}</a></div>
</form>`,
  });
}
