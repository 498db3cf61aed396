// What a browser sends for a form as drawn, untouched: every named input (checked ones only, for
// radios and checkboxes), text area and selected option, in document order. Enough HTML reading
// for the workbench's own markup, which html`` writes with double-quoted attributes.
const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const attr = (attrs: string, name: string) => {
  const m = new RegExp(`(?:^|\\s)${name}="([^"]*)"`).exec(attrs);
  return m ? unescape(m[1]!) : undefined;
};
const has = (attrs: string, name: string) => new RegExp(`(?:^|\\s)${name}(?=[\\s>]|$)`).test(attrs);

export function submittedFields(markup: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (name: string, value: string) => (out[name] ??= []).push(value);
  for (const m of markup.matchAll(/<input([^>]*)>|<textarea([^>]*)>([\s\S]*?)<\/textarea>|<select([^>]*)>([\s\S]*?)<\/select>/g)) {
    if (m[1] !== undefined) {
      const name = attr(m[1], 'name');
      const type = attr(m[1], 'type') ?? 'text';
      if (!name || type === 'submit') continue;
      if ((type === 'radio' || type === 'checkbox') && !has(m[1], 'checked')) continue;
      add(name, attr(m[1], 'value') ?? (type === 'checkbox' ? 'on' : ''));
    } else if (m[2] !== undefined) {
      const name = attr(m[2], 'name');
      // The HTML parser drops one newline right after <textarea>.
      if (name) add(name, unescape(m[3]!.replace(/^\n/, '')));
    } else if (m[4] !== undefined) {
      const name = attr(m[4], 'name');
      if (!name) continue;
      const options = [...m[5]!.matchAll(/<option([^>]*)>/g)];
      const selected = options.find((o) => has(o[1]!, 'selected')) ?? options[0];
      if (selected) add(name, attr(selected[1]!, 'value') ?? '');
    }
  }
  return out;
}
