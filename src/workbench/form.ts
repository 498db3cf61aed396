// The one form generator: any schema in schemas/ drawn as HTML controls (texts, text areas, times,
// numbers, choices, repeatable rows that grow without JavaScript, groups for nested objects), with
// required marks, the schema's limits and descriptions as hints, and each error beside its field.
// form-values.ts reads the posted fields back into the JSON the schema describes.
import { html, type Html } from '../pages/html.js';
import type { Lang } from '../pages/i18n.js';
import type { JsonSchema } from '../schemas.js';
import { WB } from './i18n.js';
import { choiceLabel, fieldHint, fieldLabel } from './field-labels.js';
import { ROOT_VALUE, childName, fieldId, itemName, optionsOf, type Resolved, type SchemaFiles } from './form-schema.js';
import { rowsField, rowsOf, type Fields } from './form-values.js';

export type FormView = {
  lang: Lang;
  files: SchemaFiles;
  root: Resolved;
  /** The fields to show: as posted, or drawn from a value (toFields). */
  fields: Fields;
  /** Messages by field name ('' for the form as a whole). */
  errors: Map<string, string[]>;
  /** Choices for a property by its name, where the schema leaves it open (a lab's results: the scheme's criteria). */
  options?: Record<string, Array<{ value: string; label: string }>>;
};

/** Radio buttons up to this many choices; a drop-down list beyond. */
const RADIO_MAX = 5;

/** An error message in the reader's language where we know its kind; the schema's own words otherwise. */
export function errorText(lang: Lang, message: string): string {
  const e = WB[lang].fieldError;
  if (message === 'is required') return e.required;
  if (message === 'must be number') return e.type_number;
  if (message === 'must be integer') return e.type_integer;
  if (message.startsWith('must be an RFC 3339 date-time')) return e.date;
  // ajv's words (src/schemas.ts passes them through) for the limits a form shows as hints.
  let m: RegExpExecArray | null;
  if ((m = /^must NOT have more than (\d+) characters$/.exec(message))) return e.tooLong(m[1]!);
  if ((m = /^must NOT have fewer than (\d+) characters$/.exec(message))) return e.tooShort(m[1]!);
  if ((m = /^must NOT have more than (\d+) (items|properties)$/.exec(message))) return e.tooMany(m[1]!);
  if ((m = /^must NOT have fewer than (\d+) (items|properties)$/.exec(message))) return e.tooFew(m[1]!);
  if ((m = /^must be >=? (-?[\d.]+)$/.exec(message))) return e.min(m[1]!);
  if ((m = /^must be <=? (-?[\d.]+)$/.exec(message))) return e.max(m[1]!);
  if (message.startsWith('must match pattern')) return e.pattern;
  if (message === 'must match format "email"') return e.email;
  if (message === 'must match format "uuid"') return e.uuid;
  if (message.startsWith('must NOT have duplicate items')) return e.duplicate;
  if (message.startsWith('must be one of:')) return e.oneOf;
  if (message === 'must be boolean') return e.yesNo;
  if (message === 'is not an allowed field' || message === 'is not allowed here') return e.notHere;
  if (message === 'must be a finite number') return e.type_number;
  if (message === 'is already registered') return e.taken;
  return message;
}

/** The form's controls, and the label path of every field drawn (for the error summary's links). */
export function renderForm(v: FormView): { controls: Html; labels: Map<string, string> } {
  const s = WB[v.lang];
  const labels = new Map<string, string>();
  const errorsOf = (name: string) => (v.errors.get(name) ?? []).map((m) => errorText(v.lang, m));
  const value = (name: string) => v.fields[name]?.[0] ?? '';

  const limits = (r: Resolved): string[] => {
    const n = r.node;
    const out: string[] = [];
    if (n.description) out.push(fieldHint(v.lang, n.description));
    if (r.kind === 'datetime') out.push(s.dateTimeHint);
    else if ((r.kind === 'text' || r.kind === 'textarea') && (n.maxLength !== undefined || (n.minLength ?? 0) > 1)) out.push(s.chars(n.minLength, n.maxLength));
    if ((r.kind === 'number' || r.kind === 'integer') && (n.minimum !== undefined || n.maximum !== undefined)) out.push(s.range(n.minimum, n.maximum));
    if ((r.kind === 'array' || r.kind === 'choices') && ((n.minItems ?? 0) > 1 || n.maxItems !== undefined)) out.push(s.items(n.minItems, n.maxItems));
    return out;
  };

  const mark = (required: boolean) => html` <span class="req">(${required ? s.required : s.optional})</span>`;
  const hintAndErrors = (id: string, hints: string[], errors: string[]) =>
    html`${hints.length ? html`<p class="hint" id="${id}-hint">${hints.join(' · ')}</p>` : ''}${errors.map((m, i) => html`<p class="field-error" id="${id}-error${i ? `-${i}` : ''}"><span class="visually-hidden">${s.errorPrefix}</span>${m}</p>`)}`;
  const describedBy = (id: string, hints: string[], errors: string[]) => {
    const ids = [...(hints.length ? [`${id}-hint`] : []), ...errors.map((_m, i) => `${id}-error${i ? `-${i}` : ''}`)];
    return ids.length ? html` aria-describedby="${ids.join(' ')}"` : '';
  };

  /** A choice among options, as radios (few) or a list (many); an optional one may be left unanswered. */
  const choice = (name: string, id: string, label: Html, key: string, options: Array<{ value: string; label: string }>, required: boolean, hints: string[], errors: string[]) => {
    const current = value(name);
    const invalid = errors.length ? html` aria-invalid="true"` : '';
    if (options.length <= RADIO_MAX) {
      return html`<fieldset class="field choices${errors.length ? ' has-error' : ''}" id="${id}"${describedBy(id, hints, errors)}><legend>${label}</legend>${hintAndErrors(id, hints, errors)}${options.map(
        (o, i) => html`<label><input type="radio" id="${i === 0 ? `${id}-0` : `${id}-${i}`}" name="${name}" value="${o.value}"${o.value === current ? html` checked` : ''}${invalid}> ${o.label}</label>`,
      )}${!required ? html`<label><input type="radio" name="${name}" value=""${current === '' ? html` checked` : ''}> ${s.empty}</label>` : ''}</fieldset>`;
    }
    void key;
    return html`<div class="field${errors.length ? ' has-error' : ''}"><label for="${id}">${label}</label>${hintAndErrors(id, hints, errors)}<select id="${id}" name="${name}"${describedBy(id, hints, errors)}${invalid}><option value="">${s.choose}</option>${options.map(
      (o) => html`<option value="${o.value}"${o.value === current ? html` selected` : ''}>${o.label}</option>`,
    )}</select></div>`;
  };

  const addButton = (name: string, r: Resolved, rows: number) =>
    rows < Math.min(r.node.maxItems ?? (r.node.maxProperties as number | undefined) ?? 200, 200)
      ? html`<button type="submit" class="secondary" name="_add" value="${name}" formnovalidate>${s.addRow}</button>`
      : '';

  const walk = (r: Resolved, name: string, key: string, labelText: string, required: boolean): Html => {
    const id = fieldId(name);
    labels.set(name, labelText);
    const label = html`${labelText.split(' › ').at(-1)}${mark(required)}`;
    const hints = limits(r);
    const errors = errorsOf(name);
    const invalid = errors.length ? html` aria-invalid="true"` : '';
    const wrap = (control: Html) =>
      html`<div class="field${errors.length ? ' has-error' : ''}"><label for="${id}">${label}</label>${hintAndErrors(id, hints, errors)}${control}</div>`;
    const given = v.options?.[key];
    if (given && r.kind !== 'object' && r.kind !== 'array') return choice(name, id, label, key, given, required, hints, errors);
    switch (r.kind) {
      case 'object': {
        const req = new Set(r.node.required ?? []);
        const children = Object.entries(r.node.properties!).map(([k, schema]) =>
          walk(v.files.child(r, schema), childName(name, k), k, name ? `${labelText} › ${fieldLabel(v.lang, k)}` : fieldLabel(v.lang, k), req.has(k)),
        );
        if (!name) return html`${children}`;
        return html`<fieldset class="group${errors.length ? ' has-error' : ''}" id="${id}"${describedBy(id, hints, errors)}><legend>${label}</legend>${hintAndErrors(id, hints, errors)}${children}</fieldset>`;
      }
      case 'array':
      case 'map': {
        const rows = rowsOf(r, name, v.fields);
        const item = r.kind === 'array' ? v.files.child(r, r.node.items ?? {}) : v.files.child(r, r.node.additionalProperties as JsonSchema);
        const body = Array.from({ length: rows }, (_x, i) => {
          const rowName = itemName(name, i);
          const rowLabel = `${labelText} › ${s.row(i + 1)}`;
          if (r.kind === 'map') {
            labels.set(rowName, rowLabel);
            return html`<fieldset class="row"><legend>${s.row(i + 1)}</legend>${walk({ node: { type: 'string', maxLength: 100 }, base: r.base, kind: 'text' }, `${rowName}.name`, 'name', `${rowLabel} › ${s.metricName}`, false)}${walk(item, `${rowName}.value`, 'value', `${rowLabel} › ${s.metricValue}`, false)}</fieldset>`;
          }
          if (item.kind === 'object') {
            labels.set(rowName, rowLabel);
            const rowErrors = errorsOf(rowName);
            return html`<fieldset class="row${rowErrors.length ? ' has-error' : ''}" id="${fieldId(rowName)}"><legend>${s.row(i + 1)}</legend>${hintAndErrors(fieldId(rowName), [], rowErrors)}${objectRow(item, rowName, rowLabel)}</fieldset>`;
          }
          return walk(item, rowName, key, rowLabel, i < (r.node.minItems ?? 0));
        });
        return html`<fieldset class="group${errors.length ? ' has-error' : ''}" id="${id}"${describedBy(id, hints, errors)}><legend>${label}</legend>${hintAndErrors(id, hints, errors)}${body}<input type="hidden" name="${rowsField(name)}" value="${rows}">${addButton(name, r, rows)}</fieldset>`;
      }
      case 'choices': {
        const items = v.files.child(r, r.node.items ?? {});
        const picked = new Set(v.fields[name] ?? []);
        return html`<fieldset class="field choices${errors.length ? ' has-error' : ''}" id="${id}"${describedBy(id, hints, errors)}><legend>${label}</legend>${hintAndErrors(id, hints, errors)}${optionsOf(items.node).map(
          (o, i) => html`<label><input type="checkbox" id="${id}-${i}" name="${name}" value="${String(o)}"${picked.has(String(o)) ? html` checked` : ''}${invalid}> ${choiceLabel(v.lang, key, o)}</label>`,
        )}</fieldset>`;
      }
      case 'enum':
        return choice(name, id, label, key, optionsOf(r.node).map((o) => ({ value: String(o), label: choiceLabel(v.lang, key, o) })), required, hints, errors);
      case 'boolean':
        return choice(name, id, label, key, [{ value: 'true', label: s.yes }, { value: 'false', label: s.no }], required, hints, errors);
      case 'number':
      case 'integer': {
        const n = r.node;
        return wrap(
          html`<input type="text" inputmode="${r.kind === 'integer' ? 'numeric' : 'decimal'}" id="${id}" name="${name}" value="${value(name)}"${n.minimum !== undefined ? html` data-min="${n.minimum}"` : ''}${describedBy(id, hints, errors)}${invalid}>`,
        );
      }
      case 'datetime':
        return wrap(html`<input type="datetime-local" step="1" id="${id}" name="${name}" value="${value(name)}"${describedBy(id, hints, errors)}${invalid}>`);
      case 'textarea':
        return wrap(html`<textarea id="${id}" name="${name}" rows="4"${r.node.maxLength ? html` maxlength="${r.node.maxLength}"` : ''}${describedBy(id, hints, errors)}${invalid}>${value(name)}</textarea>`);
      case 'text':
        return wrap(
          html`<input type="${r.node.format === 'email' ? 'email' : 'text'}" id="${id}" name="${name}" value="${value(name)}"${r.node.maxLength ? html` maxlength="${r.node.maxLength}"` : ''} spellcheck="${r.node.pattern ? 'false' : 'true'}"${describedBy(id, hints, errors)}${invalid}>`,
        );
      default:
        return html``;
    }
  };

  /** The fields of one row of an array of objects (the row's fieldset is drawn by the caller). */
  const objectRow = (item: Resolved, rowName: string, rowLabel: string): Html => {
    const req = new Set(item.node.required ?? []);
    return html`${Object.entries(item.node.properties!).map(([k, schema]) => walk(v.files.child(item, schema), childName(rowName, k), k, `${rowLabel} › ${fieldLabel(v.lang, k)}`, req.has(k)))}`;
  };

  const root = v.root;
  const controls = root.kind === 'object' ? walk(root, '', '', '', true) : root.kind === 'none' ? html`` : walk(root, ROOT_VALUE, ROOT_VALUE, fieldLabel(v.lang, ROOT_VALUE), true);
  return { controls, labels };
}

/** "There is a problem": every error as a link to its field (the form's own errors unlinked), focused on load. */
export function errorSummary(lang: Lang, errors: Map<string, string[]>, labels: Map<string, string>, extra: string[] = []): Html {
  if (errors.size === 0 && extra.length === 0) return html``;
  const s = WB[lang];
  const items: Html[] = extra.map((m) => html`<li>${m}</li>`);
  for (const [name, messages] of errors) {
    for (const m of messages) {
      const text = errorText(lang, m);
      items.push(name === '' || !labels.has(name) ? html`<li>${m}</li>` : html`<li><a href="#${fieldId(name)}">${s.labelled(labels.get(name)!, text)}</a></li>`);
    }
  }
  return html`<div class="error-summary" role="alert" tabindex="-1" autofocus id="error-summary" aria-labelledby="error-summary-title"><h2 id="error-summary-title">${s.errorSummary}</h2><ul>${items}</ul></div>`;
}
