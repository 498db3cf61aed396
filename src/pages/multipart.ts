// multipart/form-data (RFC 7578) as browsers send a form with a file input, read from a body
// Fastify has already buffered within its limit. Only the pages' verification form uses it: no
// streaming, no temporary files, a handful of parts.

export type FormPart = { name: string; filename: string | null; type: string | null; data: Buffer };

export class MultipartError extends Error {}

/** A parsed body, marked as such: a JSON array must never pass for one. */
export class MultipartForm {
  constructor(readonly parts: FormPart[]) {}
}

const MAX_PARTS = 16;
const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');

/** The boundary named by a Content-Type header (RFC 2046 §5.1.1: 1 to 70 characters). */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^";\s]{1,70}))/i.exec(contentType);
  if (!m) throw new MultipartError('the multipart body names no boundary');
  return (m[1] ?? m[2])!;
}

const param = (header: string, name: string) => {
  // `name=` must not match inside `filename=`: a parameter starts the header or follows a semicolon.
  const m = new RegExp(`(?:^|;)\\s*${name}="([^"]*)"`, 'i').exec(header);
  return m ? m[1]! : null;
};

/** The parts of a multipart/form-data body, in order. */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundaryOf(contentType)}`);
  const next = Buffer.concat([CRLF, delimiter]);
  // The first delimiter opens the body or ends a line of preamble.
  let pos = body.subarray(0, delimiter.length).equals(delimiter) ? 0 : body.indexOf(next);
  if (pos < 0) throw new MultipartError('the multipart body has no part');
  pos += pos === 0 ? delimiter.length : next.length;
  const parts: FormPart[] = [];
  for (;;) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // "--": the closing delimiter
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++; // transport padding
    if (!body.subarray(pos, pos + 2).equals(CRLF)) throw new MultipartError('a multipart delimiter is not followed by a line break');
    const headersEnd = body.indexOf(HEADERS_END, pos);
    if (headersEnd < 0) throw new MultipartError('a part of the multipart body has no end to its headers');
    const headers = body.toString('utf8', pos + 2, headersEnd);
    const end = body.indexOf(next, headersEnd + HEADERS_END.length);
    if (end < 0) throw new MultipartError('the multipart body is not closed');
    let disposition = '';
    let type: string | null = null;
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon).trim().toLowerCase();
      if (field === 'content-disposition') disposition = line.slice(colon + 1).trim();
      else if (field === 'content-type')
        type = line
          .slice(colon + 1)
          .trim()
          .toLowerCase();
    }
    const name = /^form-data\s*(;|$)/i.test(disposition) ? param(disposition, 'name') : null;
    if (name === null)
      throw new MultipartError('a part of the multipart body is not a form field (no Content-Disposition: form-data; name=…)');
    parts.push({ name, filename: param(disposition, 'filename'), type, data: body.subarray(headersEnd + HEADERS_END.length, end) });
    if (parts.length > MAX_PARTS) throw new MultipartError(`the form has more than ${MAX_PARTS} fields`);
    pos = end + next.length;
  }
}
