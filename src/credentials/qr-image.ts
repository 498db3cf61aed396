// A QR code read from a PNG image (SPEC §8: the register page verifies a scanned credential): pngjs
// decodes the pixels, jsQR finds and reads the code. PNG only: no JPEG decoder is among the
// dependencies. The image's size is read from its header before anything is decompressed, so a
// small file that inflates to gigabytes of pixels is refused unread; the decoding runs in a worker
// thread with a time limit, because jsQR on 4 megapixels of noise takes ~4 s (measured) and a
// 1-bit PNG of that many pixels is half a megabyte.
import { Worker } from 'node:worker_threads';

/** A phone photo of 12 megapixels; a printed A4 page scanned at 300 dpi is 8.7. */
export const MAX_QR_IMAGE_PIXELS = 12_000_000;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const WORKER = new URL('./qr-image-worker.mjs', import.meta.url);

export type QrImageProblem = 'not_png' | 'too_many_pixels' | 'unreadable' | 'no_qr_code' | 'too_slow' | 'busy';

export class QrImageError extends Error {
  constructor(
    readonly problem: QrImageProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Width and height from the IHDR chunk, which the PNG format puts first. */
export function pngSize(image: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (b.length < 33 || !b.subarray(0, 8).equals(PNG_SIGNATURE)) throw new QrImageError('not_png', 'the file is not a PNG image');
  if (b.toString('latin1', 12, 16) !== 'IHDR') throw new QrImageError('unreadable', 'the PNG image has no header chunk');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Reads QR codes from PNG images, a few at a time, each within a time limit. One per app: nothing global. */
export class QrImageReader {
  private running = 0;
  constructor(private readonly opts: { timeoutMs: number; maxConcurrent: number }) {}

  /** The text of the QR code in a PNG image; a QrImageError says why there is none. */
  async read(image: Uint8Array): Promise<string> {
    const { width, height } = pngSize(image);
    if (width === 0 || height === 0 || width * height > MAX_QR_IMAGE_PIXELS) {
      throw new QrImageError('too_many_pixels', `the image is ${width} × ${height} pixels; at most ${MAX_QR_IMAGE_PIXELS} pixels are read`);
    }
    // Refused rather than queued: each waiting image would hold its megabytes while it waits.
    if (this.running >= this.opts.maxConcurrent) throw new QrImageError('busy', `${this.running} images are being read already`);
    this.running++;
    try {
      return await this.decode(image);
    } finally {
      this.running--;
    }
  }

  private decode(image: Uint8Array): Promise<string> {
    const copy = new Uint8Array(image);
    // No execArgv: the worker is plain JavaScript, and the TypeScript loader the service runs under would take a second to start in it.
    const worker = new Worker(WORKER, { workerData: { image: copy }, transferList: [copy.buffer], execArgv: [] });
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new QrImageError('too_slow', `no QR code was found within ${this.opts.timeoutMs} ms`));
        void worker.terminate();
      }, this.opts.timeoutMs);
      const done = () => clearTimeout(timer);
      worker.once('message', (m: { text?: string; problem?: QrImageProblem; message?: string }) => {
        done();
        if (typeof m.text === 'string') resolve(m.text);
        else reject(new QrImageError(m.problem ?? 'unreadable', m.message ?? 'the image could not be read'));
        void worker.terminate();
      });
      worker.once('error', (err) => {
        done();
        reject(err);
      });
      worker.once('exit', () => {
        done();
        reject(new QrImageError('unreadable', 'the image reader stopped before answering'));
      });
    });
  }
}
