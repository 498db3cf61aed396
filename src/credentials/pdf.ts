// The printable certificate (SPEC §8): one A4 page in Simplified Chinese and English stating what the
// certificate's credential states, with a QR code that carries the register page's URL and the
// credential itself (qr-payload.ts), so a printed copy can be checked offline against the issuer's
// keys. The text is drawn from the credential's own claims: what is printed is what is signed.
//
// Font: Noto Sans SC (SIL Open Font License 1.1) from the npm package @expo-google-fonts/noto-sans-sc
// (MIT); its 10 MB TTF is read once per process and embedded as a subset of the glyphs the page
// uses. The QR code (error correction M) is a PNG of one pixel per module, drawn without smoothing
// at 0.51 mm a module (94 mm wide for version 40), so that a 300 dpi rendering decodes and the CLI
// can read the image back out of the PDF without a renderer (pdf-qr.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import fontkit from '@pdf-lib/fontkit';
import { decodeJwt } from 'jose';
import { PageSizes, PDFDocument, rgb, type PDFFont, type PDFPage, type RGB } from 'pdf-lib';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import type { Db } from '../db/types.js';
import { credentialOf } from './credential.js';
import type { IssuerKey } from './keys.js';
import { certificatePageUrl, qrPayloadOf } from './qr-payload.js';

const FONT_MODULE = '@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf';
let fontBytes: Promise<Uint8Array> | undefined;
/** The font file, read on first use and kept for the life of the process. */
const font = () => (fontBytes ??= fs.readFile(createRequire(import.meta.url).resolve(FONT_MODULE)).catch((err) => ((fontBytes = undefined), Promise.reject(err))));

type FontkitFont = ReturnType<typeof fontkit.create> & { loca?: unknown; createSubset(): object };
/**
 * @pdf-lib/fontkit with two changes. The font is parsed once and shared (pdf-lib parses it anew for
 * every document; a font and its caches are read-only once parsed, each document gets its own
 * subset). And a TrueType subset keeps the long `loca` format: the fork predates fontkit 1.8's fix
 * (foliojs/fontkit#191), so a small subset got the short format, whose offsets are halved, and one
 * glyph of odd length shifted every glyph after it (characters drawn blank or as another's outline).
 */
const sharedFontkit = (() => {
  let parsed: { bytes: Uint8Array; font: FontkitFont } | undefined;
  return {
    create(bytes: Uint8Array) {
      if (parsed?.bytes !== bytes) {
        const f = fontkit.create(bytes) as FontkitFont;
        const createSubset = f.createSubset.bind(f);
        f.createSubset = () => {
          const subset = createSubset();
          if (f.loca) {
            let loca: { offsets: number[]; version?: number } | undefined;
            Object.defineProperty(subset, 'loca', { configurable: true, get: () => loca, set: (v: { offsets: number[] }) => void (loca = { ...v, version: 1 }) });
          }
          return subset;
        };
        parsed = { bytes, font: f };
      }
      return parsed.font;
    },
  };
})();

const MM = 72 / 25.4;
/**
 * A module is 6 dots of a 300 dpi raster (1.44 pt, 0.51 mm), and the symbol sits on that raster's
 * grid: each module is then whole dots when printed or rendered at 300 or 600 dpi, never a mix of
 * 5 and 6 that blurs the dense version-40 symbol (jsQR missed it at 80 mm off the grid). A
 * version-40 symbol with its quiet zone is 94 mm wide; the SPEC asks at least 70.
 */
const DOT = 72 / 300;
const MODULE = 6 * DOT;
/** The smallest side, for a short code (the URL alone). */
const MIN_QR_SIDE = 40 * MM;
const onGrid = (pt: number) => Math.round(pt / DOT) * DOT;
/** Modules of white around the symbol (ISO/IEC 18004 asks for 4). */
const QUIET_ZONE = 4;

const INK = rgb(0.1, 0.12, 0.16);
const MUTED = rgb(0.38, 0.4, 0.45);
const ACCENT = rgb(0.55, 0.1, 0.1);

const PRODUCT_KINDS: Record<string, string> = {
  ai_system: '人工智能系统 AI system',
  embodied_ai: '具身智能 Embodied AI',
  genai_service: '生成式人工智能服务 Generative AI service',
  robot: '机器人 Robot',
};
const dateFmt = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });
const dateOf = (iso: unknown) => (typeof iso === 'string' && !Number.isNaN(Date.parse(iso)) ? dateFmt.format(new Date(iso)) : String(iso ?? '—'));
const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : null);

/**
 * The QR symbol as a grey PNG, one pixel per module, with its quiet zone. Error correction M holds
 * at most 2,331 bytes (version 40), and a credential with Chinese names is already ~2,100 (a Chinese
 * character is 4 in base64url of UTF-8): one whose texts are some 40 Chinese characters longer
 * cannot travel in the code, which then holds the page's URL alone.
 */
function qrPng(publicUrl: string, number: string, jwt: string): { png: Buffer; text: string; carriesCredential: boolean; modules: number } {
  let text = qrPayloadOf(publicUrl, number, jwt);
  let symbol: ReturnType<typeof QRCode.create>;
  try {
    symbol = QRCode.create(text, { errorCorrectionLevel: 'M' });
  } catch {
    text = certificatePageUrl(publicUrl, number);
    symbol = QRCode.create(text, { errorCorrectionLevel: 'M' });
  }
  const { modules } = symbol;
  const n = modules.size + 2 * QUIET_ZONE;
  const png = new PNG({ width: n, height: n, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.alloc(n * n, 0xff);
  for (let y = 0; y < modules.size; y++) for (let x = 0; x < modules.size; x++) if (modules.get(y, x)) png.data[(y + QUIET_ZONE) * n + x + QUIET_ZONE] = 0;
  return { png: PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 }), text, carriesCredential: text !== certificatePageUrl(publicUrl, number), modules: n };
}

/** Lines of at most `max` points: Latin text breaks at spaces, Chinese between any two characters. */
function wrap(f: PDFFont, text: string, size: number, max: number): string[] {
  const width = (s: string) => f.widthOfTextAtSize(s, size);
  const lines: string[] = [];
  // Control characters (a stored text may hold them) have no glyph: shown as spaces.
  for (const para of text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, ' ').split(/\r?\n/)) {
    let line = '';
    let w = 0;
    for (const tok of para.match(/[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|\s+|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+/g) ?? []) {
      const tw = width(tok);
      if (w + tw <= max) {
        line += tok;
        w += tw;
        continue;
      }
      if (line.trim() !== '') lines.push(line.trimEnd());
      line = tok.trimStart();
      // A word wider than a line on its own is cut where it must be.
      while (line !== '' && width(line) > max) {
        const chars = [...line];
        let k = 1;
        while (k < chars.length && width(chars.slice(0, k + 1).join('')) <= max) k++;
        lines.push(chars.slice(0, k).join(''));
        line = chars.slice(k).join('');
      }
      w = width(line);
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

type Row = { zh: string; en: string; values: Array<{ text: string; muted?: boolean }> };
type Fonted = { font: PDFFont; size: number };

/** Each row's wrapped lines at a body size, and the height they take. */
function layout(rows: Row[], f: PDFFont, size: number, max: number) {
  const lead = size * 1.42;
  const laid = rows.map((r) => ({ ...r, lines: r.values.flatMap((v) => wrap(f, v.text, v.muted ? size * 0.85 : size, max).map((text) => ({ text, muted: v.muted ?? false }))) }));
  const height = laid.reduce((h, r) => h + Math.max(r.lines.length * lead, 2 * 11) + size * 0.9, 0);
  return { laid, lead, height };
}

function text(page: PDFPage, s: string, x: number, y: number, o: Fonted & { color?: RGB; align?: 'left' | 'center' | 'right' }) {
  const w = o.font.widthOfTextAtSize(s, o.size);
  const left = o.align === 'center' ? x - w / 2 : o.align === 'right' ? x - w : x;
  page.drawText(s, { x: left, y, size: o.size, font: o.font, color: o.color ?? INK });
}

export type CertificatePdf = { number: string; pdf: Uint8Array; qr: { text: string; carriesCredential: boolean; modules: number; widthMm: number } };

/** The certificate's page, drawn from its credential (a vc+jwt this service signed). */
export async function renderCertificatePdf(jwt: string, opts: { publicUrl: string; schemeTitleZh?: string | null; now: Date }): Promise<CertificatePdf> {
  const vc = decodeJwt(jwt) as Record<string, any>;
  const s = (vc.credentialSubject ?? {}) as Record<string, any>;
  const number = String(s.certificateNumber);
  const doc = await PDFDocument.create();
  doc.registerFontkit(sharedFontkit as unknown as typeof fontkit);
  // A subset's name starts with a tag of six capitals (ISO 32000-1 §9.6.4), here from the credential.
  const tag = [...createHash('sha256').update(jwt).digest().subarray(0, 6)].map((b) => String.fromCharCode(65 + (b % 26))).join('');
  const f = await doc.embedFont(await font(), { subset: true, customName: `${tag}+NotoSansSC-Regular` });
  const page = doc.addPage(PageSizes.A4);
  const { width: W, height: H } = page.getSize();
  const M = 50;

  page.drawRectangle({ x: 24, y: 24, width: W - 48, height: H - 48, borderColor: ACCENT, borderWidth: 1.6 });
  page.drawRectangle({ x: 29, y: 29, width: W - 58, height: H - 58, borderColor: ACCENT, borderWidth: 0.5 });
  text(page, '广东省人工智能与机器人监管沙盒', W / 2, H - 78, { font: f, size: 12, color: MUTED, align: 'center' });
  text(page, 'Guangdong AI & Robotics Regulatory Sandbox', W / 2, H - 93, { font: f, size: 9.5, color: MUTED, align: 'center' });
  text(page, '认 证 证 书', W / 2, H - 133, { font: f, size: 30, color: ACCENT, align: 'center' });
  text(page, 'CERTIFICATE', W / 2, H - 155, { font: f, size: 12, color: ACCENT, align: 'center' });
  page.drawLine({ start: { x: M, y: H - 172 }, end: { x: W - M, y: H - 172 }, thickness: 0.6, color: MUTED });

  const holder = (s.holder ?? {}) as Record<string, unknown>;
  const product = (s.product ?? {}) as Record<string, unknown>;
  const scheme = (s.scheme ?? {}) as Record<string, unknown>;
  const kind = str(product.kind);
  const rows: Row[] = [
    { zh: '证书编号', en: 'Certificate number', values: [{ text: number }] },
    {
      zh: '持证人',
      en: 'Holder',
      values: [
        { text: String(holder.name ?? '—') },
        ...(str(holder.nameEn) ? [{ text: String(holder.nameEn) }] : []),
        str(holder.creditCode)
          ? { text: `统一社会信用代码 Unified social credit code: ${holder.creditCode}`, muted: true }
          : { text: `登记号 Registration number: ${holder.registrationNumber ?? '—'}`, muted: true },
      ],
    },
    {
      zh: '产品',
      en: 'Product',
      values: [{ text: String(product.name ?? '—') }, { text: `版本 Version ${product.version ?? '—'}${kind ? ` · 类别 Kind: ${PRODUCT_KINDS[kind] ?? kind}` : ''}`, muted: true }],
    },
    {
      zh: '认证方案',
      en: 'Scheme',
      values: [...(str(opts.schemeTitleZh) ? [{ text: String(opts.schemeTitleZh) }] : []), { text: String(scheme.title ?? scheme.code ?? '—') }, { text: String(scheme.code ?? ''), muted: true }],
    },
    { zh: '认证范围', en: 'Scope', values: [{ text: String(s.scope ?? '—') }] },
    { zh: '检测实验室', en: 'Testing laboratory', values: [{ text: String((s.lab as Record<string, unknown> | undefined)?.name ?? '—') }] },
  ];

  // The facts fill the page between the heading and the QR block; a long scope first makes the
  // text smaller, then is cut (its full text is in the credential the QR code carries).
  const qr = qrPng(opts.publicUrl, number, jwt);
  const qrSide = Math.ceil(MIN_QR_SIDE / qr.modules / MODULE) * MODULE * qr.modules;
  const qrX = onGrid(W - M - qrSide);
  // The raster's rows count from the page's top edge.
  const qrBottom = H - onGrid(H - 62 - qrSide) - qrSide;
  const top = H - 195;
  const bottom = qrBottom + qrSide + 22;
  const labelW = 118;
  const valueW = W - 2 * M - labelW;
  let size = 11;
  let l = layout(rows, f, size, valueW);
  while (l.height > top - bottom && size > 8) l = layout(rows, f, (size -= 0.5), valueW);
  if (l.height > top - bottom) {
    const scope = l.laid[4]!;
    const excess = Math.ceil((l.height - (top - bottom)) / l.lead) + 1;
    scope.lines = [...scope.lines.slice(0, Math.max(1, scope.lines.length - excess)), { text: '……（全文见电子证书 the full text is in the credential）', muted: true }];
  }
  let y = top;
  for (const r of l.laid) {
    text(page, r.zh, M, y, { font: f, size: 10.5 });
    text(page, r.en, M, y - 12, { font: f, size: 7.5, color: MUTED });
    r.lines.forEach((line, i) => text(page, line.text, M + labelW, y - i * l.lead, { font: f, size: line.muted ? size * 0.85 : size, color: line.muted ? MUTED : INK }));
    y -= Math.max(r.lines.length * l.lead, 2 * 11) + size * 0.9;
  }

  const image = await doc.embedPng(qr.png);
  page.drawImage(image, { x: qrX, y: qrBottom, width: qrSide, height: qrSide });
  const caption = qr.carriesCredential
    ? ['扫描二维码在线查验，或以签发方公钥离线核验', 'Scan to check online, or verify offline with the issuer\'s keys']
    : ['电子证书过长，二维码仅含查验地址', 'The credential is too long for a QR code: this one holds the address'];
  text(page, caption[0]!, qrX + qrSide / 2, qrBottom - 12, { font: f, size: 7.5, color: MUTED, align: 'center' });
  text(page, caption[1]!, qrX + qrSide / 2, qrBottom - 22, { font: f, size: 6.5, color: MUTED, align: 'center' });

  const colW = W - 2 * M - qrSide - 20;
  let by = qrBottom + qrSide - 8;
  const block = (zh: string, en: string, value: string, big = false) => {
    text(page, `${zh}  ${en}`, M, by, { font: f, size: 8, color: MUTED });
    by -= big ? 19 : 15;
    for (const line of wrap(f, value, big ? 15 : 9, colW)) {
      text(page, line, M, by, { font: f, size: big ? 15 : 9 });
      by -= big ? 19 : 12;
    }
    by -= 10;
  };
  block('发证日期', 'Issued', dateOf(s.validFrom ?? vc.validFrom), true);
  block('有效期至', 'Valid until', dateOf(s.validUntil ?? vc.validUntil), true);
  block('签发方', 'Issuer', `${typeof vc.issuer === 'string' ? vc.issuer : vc.issuer?.id}`);
  block('查验地址', 'Verification', certificatePageUrl(opts.publicUrl, number));
  for (const line of [
    '日期以北京时间计。证书当前状态（有效、暂停、撤销）以登记册为准；',
    '二维码中的电子证书为 W3C 可验证凭证，签名可用签发方公钥核验。',
  ]) {
    text(page, line, M, by, { font: f, size: 7, color: MUTED });
    by -= 10;
  }
  for (const line of wrap(f, `Dates are in China Standard Time. The certificate's current status (valid, suspended, revoked) is the register's. The QR code holds the signed W3C Verifiable Credential; check it with the keys at ${opts.publicUrl}/.well-known/jwks.json.`, 6.5, colW)) {
    text(page, line, M, by, { font: f, size: 6.5, color: MUTED });
    by -= 9;
  }

  doc.setTitle(`认证证书 Certificate ${number}`, { showInWindowTitleBar: true });
  doc.setSubject(`${String(product.name ?? '')} — ${String(holder.name ?? '')}`);
  doc.setAuthor(typeof vc.issuer === 'string' ? vc.issuer : String(vc.issuer?.id ?? ''));
  doc.setLanguage('zh-CN');
  doc.setCreator('gd-ai-sandbox-registry');
  doc.setProducer('pdf-lib');
  doc.setCreationDate(opts.now);
  doc.setModificationDate(opts.now);
  return { number, pdf: await doc.save(), qr: { text: qr.text, carriesCredential: qr.carriesCredential, modules: qr.modules, widthMm: qrSide / MM } };
}

/** The certificate's PDF, its QR code carrying the credential GET …/credential serves; undefined for an unknown number. */
export async function certificatePdfOf(db: Db, number: string, opts: { issuerUrl: string; publicUrl: string; key: IssuerKey; now: () => Date }): Promise<CertificatePdf | undefined> {
  const jwt = await credentialOf(db, number, opts);
  if (!jwt) return undefined;
  const code = (decodeJwt(jwt) as { credentialSubject?: { scheme?: { code?: string } } }).credentialSubject?.scheme?.code;
  const scheme = code ? await db.selectFrom('schemes').select('title_zh').where('code', '=', code).executeTakeFirst() : undefined;
  return renderCertificatePdf(jwt, { publicUrl: opts.publicUrl, schemeTitleZh: scheme?.title_zh ?? null, now: opts.now() });
}
