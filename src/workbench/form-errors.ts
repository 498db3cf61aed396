// A refused form's errors in the reader's language. The errors a form meets every day have our own
// words (errorText in form.ts); every other JSON Schema keyword gets ajv-i18n's Chinese, found by
// checking the posted value again with the service's own validator: the refusal that reaches the
// workbench (a FieldError) keeps only ajv's English message, not the keyword and its parameters.
import localizeZhModule from 'ajv-i18n/localize/zh/index.js';
import type { ErrorObject } from 'ajv';
import type { FieldError } from '../errors.js';
import type { Lang } from '../pages/i18n.js';
import { fieldErrors } from '../schemas.js';
import type { Resolved, SchemaFiles } from './form-schema.js';
import { errorsByField, readFields, type Fields } from './form-values.js';
import { errorText } from './form.js';

// A CommonJS module whose declaration says `export default`: Node hands an ES module its module.exports, the function itself.
const localizeZh = localizeZhModule as unknown as (errors: ErrorObject[]) => void;
const LOCALIZE: Partial<Record<Lang, (errors: ErrorObject[]) => void>> = { 'zh-Hans': localizeZh };

/**
 * The errors of a form drawn from `root` (a whole schema file) as posted in `fields`, each field's
 * messages in `lang`: our own words where errorText has them, ajv-i18n's where it has not, the
 * service's own otherwise (a message that is not a schema's: "is already registered").
 */
export function localizedErrors(lang: Lang, files: SchemaFiles, root: Resolved, fields: Fields, errors: FieldError[], prefix: string): FieldError[] {
  const localize = LOCALIZE[lang];
  if (!localize || errors.every((e) => errorText(lang, e.message) !== e.message)) return errors;
  const validate = files.validator(root.base);
  if (validate(readFields(files, root, fields))) return errors;
  const raw = validate.errors ?? [];
  const translated = raw.map((e) => ({ ...e, params: { ...e.params } }));
  localize(translated);
  const words = new Map<string, string>();
  raw.forEach((e, i) => {
    const [en] = fieldErrors([e], prefix);
    const [local] = fieldErrors([translated[i]!], prefix);
    if (en && local) words.set(`${en.path}|${en.message}`, local.message);
  });
  return errors.map((e) => (errorText(lang, e.message) !== e.message ? e : { path: e.path, message: words.get(`${e.path}|${e.message}`) ?? e.message }));
}

/** Each field's messages, in the reader's language ('' holds those about the form as a whole). */
export function fieldMessages(lang: Lang, files: SchemaFiles, root: Resolved, fields: Fields, errors: FieldError[], prefix: string): Map<string, string[]> {
  return errorsByField(files, root, localizedErrors(lang, files, root, fields, errors, prefix), prefix);
}
