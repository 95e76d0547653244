// The device's storage, in IndexedDB (it survives a reload, a closed tab and a dead battery):
//   kv       the session (token), the device credential, the pull cursor, the route version
//   items    what the last pulls gave: round items, work orders, seals ("kind:id")
//   outbox   captured records not yet settled by a receipt (they leave only with a receipt)
//   journal  records that left the outbox, with their receipt (what the technician sees)
//   photos   compressed photos by sha256, kept until uploaded and no longer needed
import { STATE } from "./logic.js";

const DB_NAME = "kilowatch-handheld";
const DB_VERSION = 1;

let dbPromise = null;

export function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("kv");
        db.createObjectStore("items", { keyPath: "key" }).createIndex("kind", "kind");
        db.createObjectStore("outbox", { keyPath: "uuid" }).createIndex("created_at", "created_at");
        db.createObjectStore("journal", { keyPath: "uuid" }).createIndex("settled_at", "settled_at");
        db.createObjectStore("photos", { keyPath: "sha256" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return dbPromise;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Run ``work(stores)`` in one transaction; resolves with its result once the transaction
// has committed (so that nothing is reported saved before it is on disk).
async function inTransaction(names, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode, { durability: "strict" });
    const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
    let result;
    Promise.resolve(work(stores)).then((r) => { result = r; }, (e) => { tx.abort(); reject(e); });
    tx.oncomplete = () => resolve(result);
    tx.onerror = (event) => reject(event.target.error || tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

export const kv = {
  get: (key) => inTransaction(["kv"], "readonly", (s) => done(s.kv.get(key))),
  set: (key, value) => inTransaction(["kv"], "readwrite", (s) => { s.kv.put(value, key); }),
  delete: (key) => inTransaction(["kv"], "readwrite", (s) => { s.kv.delete(key); }),
};

/** Store a page of pulled changes and the cursor that follows it, together. */
export function applyChanges(changes, cursor, routeVersion) {
  return inTransaction(["items", "kv"], "readwrite", (s) => {
    for (const c of changes) {
      const key = `${c.kind}:${c.id}`;
      if (c.deleted) s.items.delete(key);
      else s.items.put({ key, kind: c.kind, id: c.id, version: c.version, data: c.data });
    }
    s.kv.put(cursor, "cursor");
    if (routeVersion !== undefined && routeVersion !== null) s.kv.put(routeVersion, "route_version");
  });
}

export function itemsOf(kind) {
  return inTransaction(["items"], "readonly", (s) => done(s.items.index("kind").getAll(kind)));
}

export function getItem(kind, id) {
  return inTransaction(["items"], "readonly", (s) => done(s.items.get(`${kind}:${id}`)));
}

/** Save captured records and their photos in one transaction: all or nothing. */
export function addRecords(records, photos = []) {
  return inTransaction(["outbox", "photos"], "readwrite", async (s) => {
    for (const photo of photos) {
      const existing = await done(s.photos.get(photo.sha256));
      if (!existing) s.photos.put({ ...photo, uploaded: false });
    }
    for (const record of records) s.outbox.add({ ...record, state: STATE.WAITING, attempts: 0 });
  });
}

export function outboxAll() {
  return inTransaction(["outbox"], "readonly", (s) => done(s.outbox.index("created_at").getAll()));
}

export function journalAll() {
  return inTransaction(["journal"], "readonly", (s) => done(s.journal.index("settled_at").getAll()));
}

/** Mark records as sent (in a push whose answer has not arrived). */
export function markSent(uuids) {
  return inTransaction(["outbox"], "readwrite", async (s) => {
    for (const uuid of uuids) {
      const record = await done(s.outbox.get(uuid));
      if (record) s.outbox.put({ ...record, state: STATE.SENT, attempts: record.attempts + 1 });
    }
  });
}

/**
 * Apply one receipt: the record either stays in the outbox with its new state (photos still
 * missing) or moves to the journal, in the same transaction: never lost in between.
 */
export function settle(uuid, receipt, outcome) {
  return inTransaction(["outbox", "journal"], "readwrite", async (s) => {
    const record = await done(s.outbox.get(uuid));
    if (!record) return;
    const settled = { ...record, state: outcome.state, receipt, missing: outcome.missing };
    if (outcome.keep) {
      s.outbox.put(settled);
    } else {
      s.outbox.delete(uuid);
      s.journal.put({ ...settled, settled_at: new Date().toISOString() });
    }
  });
}

export function photosAll() {
  return inTransaction(["photos"], "readonly", (s) => done(s.photos.getAll()));
}

export function getPhoto(sha256) {
  return inTransaction(["photos"], "readonly", (s) => done(s.photos.get(sha256)));
}

/** The server has the photo: mark it, and move every "photo missing" record whose photos
 * have now all arrived to the journal as applied. */
export function photoUploaded(sha256) {
  return inTransaction(["photos", "outbox", "journal"], "readwrite", async (s) => {
    const photo = await done(s.photos.get(sha256));
    if (photo) s.photos.put({ ...photo, uploaded: true });
    const waiting = await done(s.outbox.getAll());
    for (const record of waiting) {
      if (record.state !== STATE.PHOTO_MISSING) continue;
      const missing = (record.missing || []).filter((h) => h !== sha256);
      if (missing.length) {
        s.outbox.put({ ...record, missing });
      } else {
        s.outbox.delete(record.uuid);
        s.journal.put({ ...record, missing, state: STATE.APPLIED, settled_at: new Date().toISOString() });
      }
    }
  });
}

/** Drop photo blobs that are uploaded and that no record in the outbox still refers to. */
export function prunePhotos() {
  return inTransaction(["photos", "outbox"], "readwrite", async (s) => {
    const needed = new Set();
    for (const record of await done(s.outbox.getAll())) for (const h of record.photos || []) needed.add(h);
    for (const photo of await done(s.photos.getAll())) {
      if (photo.uploaded && !needed.has(photo.sha256)) s.photos.delete(photo.sha256);
    }
  });
}

/** Forget settled records older than ``days`` (the outbox itself is never pruned). */
export function pruneJournal(days = 7) {
  const before = new Date(Date.now() - days * 86400000).toISOString();
  return inTransaction(["journal"], "readwrite", (s) => {
    s.journal.index("settled_at").openCursor(IDBKeyRange.upperBound(before)).onsuccess = (event) => {
      const cursor = event.target.result;
      if (cursor) {
        cursor.delete();
        cursor.continue();
      }
    };
  });
}

/** Forget what the pulls gave (before pulling everything again). */
export function clearItems() {
  return inTransaction(["items", "kv"], "readwrite", (s) => {
    s.items.clear();
    s.kv.delete("cursor");
  });
}

/** Forget the day's downloaded work (not the outbox): used when another technician signs in. */
export function clearWork() {
  return inTransaction(["items", "kv", "journal"], "readwrite", (s) => {
    s.items.clear();
    s.journal.clear();
    s.kv.delete("cursor");
    s.kv.delete("route_version");
  });
}
