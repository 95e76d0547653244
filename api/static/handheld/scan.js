// Scanning the meter's serial from its barcode with the phone's camera, where the browser
// has the Shape Detection API's BarcodeDetector (Chrome on Android, among others); where it
// has not, the button is not offered and the technician types the serial, as before. What
// is scanned goes into the record's scanned_serial, which the server compares with the
// meter it expected (a read on another serial is flagged).

// Meter serials are printed as linear codes or as a QR code on newer meters.
export const SERIAL_FORMATS = Object.freeze(["code_128", "code_39", "ean_13", "itf", "qr_code", "data_matrix"]);
export const SCAN_TIMEOUT_MS = 20000;
const FRAME_INTERVAL_MS = 150;

/** Whether this browser can scan (BarcodeDetector present). */
export function canScan(win = globalThis) {
  return typeof win.BarcodeDetector === "function";
}

/** A serial as written on the meter, for comparing: no surrounding or inner spaces, no
 * control characters, upper case. Empty -> null. */
export function normalizeSerial(raw) {
  if (raw == null) return null;
  const text = String(raw).replace(/[\u0000-\u001f\u007f\s]+/g, "").toUpperCase();
  return text || null;
}

/** The serial among detected barcodes ([{rawValue, format}]): the expected meter's serial
 * when one of them is it (a label may carry several codes), else the first readable one;
 * null when none is readable. */
export function pickSerial(barcodes, expected = null) {
  const serials = (barcodes || []).map((b) => normalizeSerial(b && b.rawValue)).filter(Boolean);
  if (!serials.length) return null;
  const wanted = normalizeSerial(expected);
  return serials.find((s) => s === wanted) ?? serials[0];
}

/** A detector for the serial formats this browser supports (all of them if it cannot
 * tell). */
export async function makeDetector(win = globalThis) {
  const Detector = win.BarcodeDetector;
  let formats = SERIAL_FORMATS;
  if (typeof Detector.getSupportedFormats === "function") {
    const supported = await Detector.getSupportedFormats();
    const usable = SERIAL_FORMATS.filter((f) => supported.includes(f));
    if (usable.length) formats = usable;
  }
  return new Detector({ formats });
}

/** Detect frames of ``source`` (a playing <video>) until a serial is found, ``signal``
 * aborts, or ``timeoutMs`` passes; the serial, or null. */
export async function detectSerial(detector, source, { expected = null, timeoutMs = SCAN_TIMEOUT_MS, signal = null, sleep = wait } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(signal && signal.aborted)) {
    let found = [];
    try {
      found = await detector.detect(source);
    } catch {
      found = []; // a frame not ready yet: try the next one
    }
    const serial = pickSerial(found, expected);
    if (serial) return serial;
    await sleep(FRAME_INTERVAL_MS);
  }
  return null;
}

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Open the back camera into ``video`` and scan; the camera is released whatever happens.
 * The serial, or null (cancelled, timed out, no camera permission). */
export async function scanWithCamera(video, { expected = null, signal = null, win = globalThis } = {}) {
  let stream = null;
  try {
    stream = await win.navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    video.srcObject = stream;
    video.setAttribute("playsinline", "");
    video.muted = true;
    await video.play();
    const detector = await makeDetector(win);
    return await detectSerial(detector, video, { expected, signal });
  } catch {
    return null; // no camera, or permission refused: the serial is typed instead
  } finally {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
  }
}
