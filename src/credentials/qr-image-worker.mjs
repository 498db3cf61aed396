// The QR decoding of src/credentials/qr-image.ts, in a worker thread: jsQR can take seconds on a
// large or noisy image, and here it neither blocks the service nor outlives its time limit (the
// caller terminates the thread). Plain JavaScript: a worker thread starts without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

let png;
try {
  png = PNG.sync.read(Buffer.from(workerData.image));
} catch (err) {
  parentPort.postMessage({
    problem: 'unreadable',
    message: `the PNG image cannot be decoded: ${err instanceof Error ? err.message : String(err)}`,
  });
}
if (png) {
  const pixels = new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length);
  // Printed and on-screen codes are dark on light: not trying the inverted image halves the time a failure takes.
  const code = jsQR(pixels, png.width, png.height, { inversionAttempts: 'dontInvert' });
  parentPort.postMessage(
    code && code.data ? { text: code.data } : { problem: 'no_qr_code', message: 'no QR code could be read in the image' },
  );
}
