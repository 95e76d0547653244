// Photos and position, on the device: a camera photo is shrunk and re-encoded as JPEG (a
// phone's 4-12 MB picture becomes ~100-300 kB, which a poor network can carry) and named
// by its SHA-256, the name the server checks it against. GPS comes with its accuracy.

export const MAX_SIDE = 1600; // pixels: enough to read a meter's index and seal numbers
export const JPEG_QUALITY = 0.72;

/** A File from <input type=file capture> -> a JPEG Blob no larger than MAX_SIDE. */
export async function compressPhoto(file, { maxSide = MAX_SIDE, quality = JPEG_QUALITY } = {}) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; // a transparent PNG would otherwise turn black in JPEG
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the photo could not be encoded"))), "image/jpeg", quality),
  );
  return { blob, width, height };
}

/** Lower-case hex SHA-256 of a Blob (crypto.subtle: needs a secure context). */
export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The current position {lon, lat, accuracy_m}, or null when the phone cannot tell
 * (no permission, no fix within ``timeout``): a read without GPS is still a read. */
export function currentPosition({ timeout = 15000, maximumAge = 30000 } = {}) {
  if (!("geolocation" in navigator)) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, accuracy_m: p.coords.accuracy }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout, maximumAge },
    );
  });
}

/** A random UUID (crypto.randomUUID, with a fallback for older WebViews). */
export function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
