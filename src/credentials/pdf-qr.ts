// The credential of a printed certificate, read out of its PDF without a renderer: the QR code is an
// image XObject (pdf.ts draws it from a PNG of one pixel per module), so its pixels are inflated
// from the PDF's stream, enlarged without smoothing and read by jsQR. Any image of the PDF that
// holds a QR code will do, so a PDF saved again by another program still reads while it keeps the
// image as gray or RGB pixels under Flate (or no filter).
import jsqr from 'jsqr';
import { decodeJwt } from 'jose';
import { decodePDFRawStream, PDFArray, PDFDocument, PDFName, PDFNumber, PDFRawStream, type PDFDict } from 'pdf-lib';
import { parseQrPayload } from './qr-payload.js';

/** Larger images are not read: an A4 page scanned at 300 dpi is 8.7 megapixels. */
const MAX_PIXELS = 12_000_000;
/** jsQR needs a few pixels a module: a one-pixel-a-module image is enlarged to about this side. */
const MIN_SIDE = 600;


const num = (dict: PDFDict, key: string) => {
  const v = dict.lookup(PDFName.of(key));
  return v instanceof PDFNumber ? v.asNumber() : NaN;
};
/** Components a pixel has in the image's colour space: 1 (gray), 3 (RGB), NaN for one this does not read. */
function channelsOf(dict: PDFDict): number {
  const cs = dict.lookup(PDFName.of('ColorSpace'));
  const family = cs instanceof PDFArray ? cs.lookup(0) : cs;
  if (family === PDFName.of('DeviceGray') || family === PDFName.of('CalGray')) return 1;
  if (family === PDFName.of('DeviceRGB') || family === PDFName.of('CalRGB')) return 3;
  if (family === PDFName.of('ICCBased') && cs instanceof PDFArray) {
    const profile = cs.lookup(1);
    return profile instanceof PDFRawStream ? num(profile.dict, 'N') : NaN;
  }
  return NaN;
}

/** An image XObject's pixels as RGBA, each pixel `scale` × `scale`; null for a kind this does not read. */
function rgbaOf(stream: PDFRawStream): { data: Uint8ClampedArray; width: number; height: number } | null {
  const d = stream.dict;
  const width = num(d, 'Width');
  const height = num(d, 'Height');
  const bpc = num(d, 'BitsPerComponent');
  const channels = d.lookup(PDFName.of('ImageMask')) ? NaN : channelsOf(d);
  if (!(width > 0 && height > 0 && width * height <= MAX_PIXELS) || (bpc !== 8 && bpc !== 1) || !(channels === 1 || channels === 3)) return null;
  let raw: Uint8Array;
  try {
    raw = decodePDFRawStream(stream).decode();
  } catch {
    return null; // a filter pdf-lib does not decode (DCT, JBIG2, …)
  }
  const rowBytes = Math.ceil((width * channels * bpc) / 8);
  if (raw.length < rowBytes * height) return null;
  const scale = Math.max(1, Math.min(8, Math.ceil(MIN_SIDE / Math.max(width, height)), Math.floor(Math.sqrt(MAX_PIXELS / (width * height)))));
  const W = width * scale;
  const data = new Uint8ClampedArray(W * height * scale * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r: number, g: number, b: number;
      if (bpc === 1) r = g = b = (raw[y * rowBytes + (x >> 3)]! >> (7 - (x & 7))) & 1 ? 255 : 0;
      else if (channels === 1) r = g = b = raw[y * rowBytes + x]!;
      else [r, g, b] = [raw[y * rowBytes + 3 * x]!, raw[y * rowBytes + 3 * x + 1]!, raw[y * rowBytes + 3 * x + 2]!];
      for (let dy = 0; dy < scale; dy++) {
        let o = ((y * scale + dy) * W + x * scale) * 4;
        for (let dx = 0; dx < scale; dx++, o += 4) {
          data[o] = r;
          data[o + 1] = g;
          data[o + 2] = b;
          data[o + 3] = 255;
        }
      }
    }
  }
  return { data, width: W, height: height * scale };
}

/** The text of every QR code among the PDF's images. */
export async function qrTextsOfPdf(bytes: Uint8Array): Promise<string[]> {
  const doc = await PDFDocument.load(bytes, { updateMetadata: false, ignoreEncryption: true });
  const texts: string[] = [];
  for (const [, obj] of doc.context.enumerateIndirectObjects()) {
    if (!(obj instanceof PDFRawStream) || obj.dict.lookup(PDFName.of('Subtype')) !== PDFName.of('Image')) continue;
    const image = rgbaOf(obj);
    if (!image) continue;
    const code = jsqr.default(image.data, image.width, image.height, { inversionAttempts: 'dontInvert' });
    if (code) texts.push(Buffer.from(code.binaryData).toString('utf8'));
  }
  return texts;
}

/**
 * The credential a certificate's PDF carries in its QR code, with notes for the reader; or why
 * there is none (`refused`). A QR code whose page URL names another certificate than its credential
 * is said so: the credential is what is verified, the URL only where to look.
 */
export async function credentialOfPdf(bytes: Uint8Array): Promise<{ jwt: string; notes: string[] } | { refused: string }> {
  let texts: string[];
  try {
    texts = await qrTextsOfPdf(bytes);
  } catch (err) {
    return { refused: `the PDF cannot be read: ${(err as Error).message}` };
  }
  if (texts.length === 0) return { refused: 'the PDF holds no QR code image this tool can read' };
  const found = texts.map(parseQrPayload);
  const withJwt = found.find((q) => q.jwt !== '');
  if (!withJwt) return { refused: `the PDF's QR code holds ${found[0]!.url ?? 'no URL'} but no credential (it was too long to print): fetch it with GET /v1/register/certificates/<number>/credential and verify that` };
  const notes = [`credential read from the PDF's QR code${withJwt.url ? ` (${withJwt.url})` : ''}`];
  if (withJwt.url) {
    let number: unknown;
    try {
      number = (decodeJwt(withJwt.jwt) as { credentialSubject?: { certificateNumber?: unknown } }).credentialSubject?.certificateNumber;
    } catch {
      number = undefined;
    }
    if (typeof number === 'string' && !withJwt.url.endsWith(`/register/certificates/${encodeURIComponent(number)}`)) notes.push(`the QR code's URL does not name certificate ${number}, which its credential states: trust the credential, not the URL`);
  }
  return { jwt: withJwt.jwt, notes };
}
