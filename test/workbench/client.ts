// A browser's part in workbench tests: a cookie jar, forms posted as a browser posts them, and the
// CSRF token read from the page the form came on.
import type { FastifyInstance } from 'fastify';

export type Answer = { statusCode: number; headers: Record<string, unknown>; body: string };

export class WbClient {
  readonly cookies = new Map<string, string>();
  /** The Set-Cookie lines of the last answer. */
  lastSetCookie: string[] = [];
  constructor(
    private readonly app: FastifyInstance,
    private readonly headers: Record<string, string> = {},
  ) {}

  private async send(opts: { method: 'GET' | 'POST'; url: string; payload?: string; contentType?: string }): Promise<Answer> {
    const headers: Record<string, string> = { ...this.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (opts.contentType) headers['content-type'] = opts.contentType;
    const res = await this.app.inject({ method: opts.method, url: opts.url, headers, payload: opts.payload });
    const set = res.headers['set-cookie'];
    this.lastSetCookie = set === undefined ? [] : Array.isArray(set) ? set : [set];
    for (const line of this.lastSetCookie) {
      const [pair, ...attrs] = line.split(';');
      const [name, ...value] = pair!.split('=');
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0$/i.test(a));
      if (expired || value.join('=') === '') this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join('='));
    }
    return { statusCode: res.statusCode, headers: res.headers as Record<string, unknown>, body: res.body };
  }

  get(url: string) {
    return this.send({ method: 'GET', url });
  }

  /** Posts fields as application/x-www-form-urlencoded; an array is a repeated field. */
  post(url: string, fields: Record<string, string | string[]>) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    return this.send({ method: 'POST', url, payload: body.toString(), contentType: 'application/x-www-form-urlencoded' });
  }

  /** Signs in through the form; answers the principal's session cookie value. */
  async signIn(token: string): Promise<Answer> {
    const page = await this.get('/workbench/sign-in');
    return this.post('/workbench/sign-in', { _csrf: csrfOf(page.body), token });
  }
}

export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token on the page');
  return m[1]!;
}

/** Every hidden and filled-in field of the first form whose action contains `action`, as a browser would send it untouched. */
export function formValues(html: string, action: string): Array<[string, string]> {
  const start = html.indexOf(`action="${action}`);
  if (start < 0) throw new Error(`no form posting to ${action}`);
  const form = html.slice(start, html.indexOf('</form>', start));
  const out: Array<[string, string]> = [];
  for (const m of form.matchAll(/<input ([^>]*)>/g)) {
    const attrs = m[1]!;
    const name = /name="([^"]*)"/.exec(attrs)?.[1];
    const value = /value="([^"]*)"/.exec(attrs)?.[1] ?? '';
    const type = /type="([^"]*)"/.exec(attrs)?.[1] ?? 'text';
    if (!name) continue;
    if ((type === 'checkbox' || type === 'radio') && !/\schecked/.test(` ${attrs}`)) continue;
    out.push([name, unescape(value)]);
  }
  return out;
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
