// The English left on a Chinese workbench page: the word check of chinese.test.ts and the other tests
// that look at a page in Chinese (the same rules: what a reader sees, less the data the test made).

/** What a reader sees of a page: its text and the words of its attributes that are read out, without the data the test made. */
export function readable(body: string): string {
  const attributes = [...body.matchAll(/\s(?:title|aria-label|placeholder|alt)="([^"]*)"/g)].map((m) => m[1]);
  const text = body
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z]+;|&#\d+;/g, ' ');
  return `${text} ${attributes.join(' ')}`
    .replace(/\S+@\S+/g, ' ')
    // Names the fixtures give: organizations, labs, the bootstrap admin.
    .replace(/\b(Org|Lab) [0-9a-z]{6,8}\b|bootstrap admin \(ADMIN_TOKEN\)|\bCNAS[- ]L\w+/g, ' ')
    .replace(/SHA-256/g, ' ')
    // Ids, hashes, a principal without a name (the start of its id), case numbers.
    .replace(/\b[0-9a-f]{8}-[0-9a-f-]{27}\b|\b[0-9a-f]{64}\b|\b[0-9a-f]{8}\b|\b[A-Z]{2,5}-\d{4}-\d{6}\b/g, ' ');
}

/** What may stay in Latin letters on a Chinese page: the link to the English page, names of standards, formats and codes. */
export const ALLOWED = new Set(['English', 'SHA', 'UTC', 'gdai', 'ISO', 'IEC', 'GB', 'CNAS', 'CAC', 'robot-safety', 'ai-safety-risk', 'ai-ethics', 'genai-security']);

/** A word in Latin letters: three or more. */
export const LATIN_WORD = /[A-Za-z][A-Za-z'’-]{2,}/g;

/** The English words on a page (a word: three or more Latin letters), but for the ones allowed and the `extra` data the test made. */
export function english(body: string, extra: string[] = []): string[] {
  let text = readable(body);
  for (const x of extra) text = text.split(x).join(' ');
  const words = text.match(LATIN_WORD) ?? [];
  return [...new Set(words.filter((w) => !ALLOWED.has(w)))];
}
