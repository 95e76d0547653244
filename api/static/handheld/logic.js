// The handheld's rules, free of the DOM, of IndexedDB and of the network, so that a test
// (or a reader) can exercise them alone: the plausibility check, the retry delays, what a
// receipt means for a record, and the shape of a record on the wire.

// Record states shown to the technician. A record leaves the outbox only with a receipt.
export const STATE = Object.freeze({
  WAITING: "waiting", // captured, never sent (or the last attempt failed before any answer)
  SENT: "sent", // in a push whose answer has not arrived: sent again until it does
  APPLIED: "applied", // the server holds it (applied, or a duplicate of what it holds)
  CONFLICT: "conflict", // the server keeps it for office review: nothing is lost
  PHOTO_MISSING: "photo missing", // the server holds the record but not all its photos yet
  REJECTED: "rejected", // the server refused it, with a code
});

export const STATE_LABELS = Object.freeze({
  [STATE.WAITING]: "Waiting",
  [STATE.SENT]: "Sent",
  [STATE.APPLIED]: "Applied",
  [STATE.CONFLICT]: "Conflict (office review)",
  [STATE.PHOTO_MISSING]: "Photo missing",
  [STATE.REJECTED]: "Rejected",
});

// Why a meter could not be read (field's SkipCode: the codes of the paper round sheet).
export const SKIP_CODES = Object.freeze([
  ["no_access", "No access (locked, nobody home)"],
  ["dog", "Dangerous dog"],
  ["meter_not_found", "Meter not found"],
  ["dial_unreadable", "Dial unreadable"],
  ["meter_damaged", "Meter damaged"],
  ["premises_demolished", "Premises demolished"],
  ["refused", "Occupant refused access"],
  ["unsafe", "Unsafe installation"],
]);

// Seal events at a meter (field's visit seal events).
export const SEAL_EVENTS = Object.freeze([
  ["apply", "Applied"],
  ["verify", "Verified intact"],
  ["break", "Broken for the work"],
  ["remove", "Removed"],
  ["found_broken", "Found broken"],
  ["found_missing", "Found missing"],
  ["found_foreign", "Foreign seal found"],
]);

export const SEAL_POSITIONS = Object.freeze([
  ["terminal_cover", "Terminal cover"],
  ["meter_cover", "Meter cover"],
  ["cabinet", "Cabinet"],
  ["breaker", "Breaker"],
  ["ct_box", "CT box"],
]);

export const OUTCOMES = Object.freeze([
  ["completed", "Completed"],
  ["failed", "Failed"],
]);

// Why a work order could not be done (field's FailureCode).
export const FAILURE_CODES = Object.freeze([
  ["no_access", "No access"],
  ["customer_refused", "Customer refused"],
  ["meter_not_found", "Meter not found"],
  ["material_missing", "Material missing"],
  ["unsafe", "Unsafe"],
  ["wrong_address", "Wrong address"],
  ["other", "Other"],
]);

/** Registers as a list of {register_id, code, previous_value, previous_read_at,
 * expected_min, expected_max}, whether the server sent that list or a map by code of
 * {previous, previous_at, low, high}. */
export function registersOf(data) {
  const raw = data?.registers;
  if (Array.isArray(raw)) return raw;
  if (!raw || typeof raw !== "object") return [];
  return Object.entries(raw).map(([code, r]) => ({
    register_id: r.register_id ?? null,
    code: r.code ?? code,
    previous_value: r.previous_value ?? r.previous ?? null,
    previous_read_at: r.previous_read_at ?? r.previous_at ?? null,
    expected_min: r.expected_min ?? r.low ?? null,
    expected_max: r.expected_max ?? r.high ?? null,
  }));
}

/** The meter's location {lon, lat}, nested or flat, or null. */
export function locationOf(data) {
  if (data?.location && data.location.lon != null) return data.location;
  if (data?.lon != null && data?.lat != null) return { lon: data.lon, lat: data.lat };
  return null;
}

/**
 * The on-device plausibility check of one register's read.
 *
 * A read is "zero" when it is 0 or equals the previous read (no consumption), "low" below
 * the expected range (or below the previous read: a meter does not run backwards unless it
 * rolled over or was changed), "high" above the expected range. Each asks the technician
 * to look again and confirm; "invalid" (not a number, negative) cannot be confirmed.
 */
export function checkReading(raw, register) {
  const text = String(raw ?? "").trim().replace(",", ".");
  if (text === "" || !/^\d+(\.\d+)?$/.test(text)) {
    return { kind: "invalid", value: null, message: "Enter the index shown on the meter (digits only)." };
  }
  const value = Number(text);
  const min = numberOrNull(register?.expected_min);
  const max = numberOrNull(register?.expected_max);
  const previous = numberOrNull(register?.previous_value);
  if (value === 0 || (previous !== null && value === previous)) {
    return { kind: "zero", value, message: previous !== null && value === previous
      ? `No consumption: same as the previous read (${previous}). Confirm?`
      : "The index is zero. Confirm?" };
  }
  if (previous !== null && value < previous) {
    return { kind: "low", value, message: `Lower than the previous read (${previous}). Confirm?` };
  }
  if (min !== null && value < min) {
    return { kind: "low", value, message: `Low: expected at least ${min}. Confirm?` };
  }
  if (max !== null && value > max) {
    return { kind: "high", value, message: `High: expected at most ${max}. Confirm?` };
  }
  return { kind: "ok", value, message: "" };
}

function numberOrNull(v) {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Milliseconds before retry number ``attempt`` (0-based): doubling from ``base`` up to
 * ``max``, with "full jitter" so that a whole team coming back online does not retry in step. */
export function backoffDelay(attempt, { base = 1000, max = 60000, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * What a receipt means for its record: the state to show and whether the record may leave
 * the outbox (it stays while photos are missing, so that they are uploaded).
 */
export function settleReceipt(receipt) {
  const missing = receipt.photos_missing || [];
  switch (receipt.status) {
    case "applied":
    case "duplicate":
      return missing.length
        ? { state: STATE.PHOTO_MISSING, keep: true, missing }
        : { state: STATE.APPLIED, keep: false, missing };
    case "conflict":
      return { state: STATE.CONFLICT, keep: false, missing };
    case "rejected":
      return { state: STATE.REJECTED, keep: false, missing };
    default:
      // An answer this app does not know: keep the record and send it again later.
      return { state: STATE.WAITING, keep: true, missing };
  }
}

/** A record as the push endpoint expects it. */
export function wireRecord(r) {
  return {
    uuid: r.uuid,
    kind: r.kind,
    base_version: r.base_version ?? null,
    captured_at: r.captured_at,
    gps: r.gps ?? null,
    scanned_serial: r.scanned_serial ?? null,
    photos: r.photos || [],
    data: r.data,
  };
}

/** The ``X-Kilowatch-Device`` header value for an enrolled device. */
export function deviceHeader(device) {
  return `${device.device_id}.${device.device_secret}`;
}

/** Sort round items in walking order. */
export function walkingOrder(items) {
  return [...items].sort((a, b) => (a.data.sequence ?? 0) - (b.data.sequence ?? 0) || a.id - b.id);
}

/** The local status of a round item: the server's, unless this device captured something
 * for it that the server has not confirmed back in a pull yet. */
export function itemStatus(item, records) {
  const mine = records.filter((r) => r.data && r.data.round_item_id === item.id);
  if (mine.some((r) => r.kind === "reading")) return "read";
  if (mine.some((r) => r.kind === "skip")) return "skipped";
  return item.data.status || "pending";
}

/** Counts of round items per status. */
export function progress(items, records) {
  const counts = { read: 0, skipped: 0, pending: 0 };
  for (const item of items) {
    const status = itemStatus(item, records);
    counts[status in counts ? status : "pending"] += 1;
  }
  return counts;
}

/** Distance in metres between two WGS84 points (haversine): enough to warn a technician
 * who is far from the meter (the server decides what is flagged). */
export function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

/** Seal numbers typed as "A123, A124" or one per line, trimmed, without blanks or repeats. */
export function parseSealNumbers(text) {
  const seen = new Set();
  for (const part of String(text || "").split(/[\s,;]+/)) {
    const number = part.trim().toUpperCase();
    if (number) seen.add(number);
  }
  return [...seen];
}
