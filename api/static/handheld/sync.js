// Synchronisation: photos up, outbox up (each record settled by its own receipt), changes
// down. It runs when the network returns (the "online" event), after every capture, every
// minute, and after a failure with a growing, jittered delay. One run at a time.
import { ApiError, OfflineError } from "./api.js";
import * as db from "./db.js";
import { STATE, backoffDelay, settleReceipt, wireRecord } from "./logic.js";

const PUSH_BATCH = 100;
const PERIOD_MS = 60000;
const MAX_PULL_PAGES = 1000;

export class Syncer {
  constructor({ api, onChange = () => {}, onStatus = () => {}, onAuthLost = () => {}, onDeviceUnknown = async () => false }) {
    this.api = api;
    this.onAuthLost = onAuthLost;
    this.onDeviceUnknown = onDeviceUnknown;
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.running = false;
    this.again = false;
    this.attempt = 0;
    this.timer = null;
    this.status = { online: navigator.onLine, syncing: false, error: null, lastSyncAt: null, retryAt: null };
  }

  start() {
    window.addEventListener("online", () => { this.attempt = 0; this.report({ online: true }); this.kick(); });
    window.addEventListener("offline", () => this.report({ online: false }));
    setInterval(() => this.kick(), PERIOD_MS);
    this.kick();
  }

  report(change) {
    this.status = { ...this.status, ...change };
    this.onStatus(this.status);
  }

  /** Sync now (or right after the run in progress). */
  kick() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.running) {
      this.again = true;
      return;
    }
    this.run();
  }

  async run() {
    if (!navigator.onLine) {
      this.report({ online: false, syncing: false });
      return;
    }
    this.running = true;
    this.report({ online: true, syncing: true, retryAt: null });
    try {
      const { token, device } = await this.api.auth();
      if (!token || !device) {
        this.report({ error: token ? "Device not enrolled" : "Sign in to sync" });
        return;
      }
      await this.syncOnce();
      this.attempt = 0;
      this.report({ error: null, lastSyncAt: new Date().toISOString() });
    } catch (error) {
      await this.failed(error);
    } finally {
      this.running = false;
      this.report({ syncing: false });
      this.onChange();
      if (this.again) {
        this.again = false;
        this.kick();
      }
    }
  }

  async failed(error) {
    // The server does not know this device (its registry was reset): enroll again, once.
    if (error instanceof ApiError && error.code === "device_unknown" && (await this.onDeviceUnknown())) {
      this.timer = setTimeout(() => this.kick(), 0);
      return;
    }
    if (error instanceof ApiError && (error.signInAgain || error.deviceRefused)) {
      // Retrying cannot help: the technician (or the office) must act. Nothing is dropped.
      this.report({ error: error.deviceRefused ? `Device refused (${error.code})` : "Sign in again to sync" });
      if (error.signInAgain) this.onAuthLost();
      return;
    }
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    const why = error instanceof OfflineError ? "No connection" : error.message;
    this.report({ error: why, retryAt: new Date(Date.now() + delay).toISOString() });
    this.timer = setTimeout(() => this.kick(), delay);
  }

  async syncOnce() {
    // A photo the server will not take now must not hold its record back: the record goes,
    // its receipt says the photo is missing, and the photo is tried again on the next run.
    await this.uploadPhotos();
    await this.pushOutbox();
    const photosSent = await this.uploadPhotos(); // what the receipts said is missing
    await this.pullAll();
    await db.prunePhotos();
    await db.pruneJournal();
    if (!photosSent) throw new Error("Some photos are not sent yet");
  }

  /** Every photo the server does not hold yet: asked first (HEAD), sent whole if absent.
   * True when all went; a lost network or a refused sign-in stops the run at once. */
  async uploadPhotos() {
    const records = await db.outboxAll();
    const wanted = new Set();
    for (const r of records) if (r.state === STATE.PHOTO_MISSING) for (const h of r.missing || []) wanted.add(h);
    for (const photo of await db.photosAll()) if (!photo.uploaded) wanted.add(photo.sha256);
    let allSent = true;
    for (const sha256 of wanted) {
      const photo = await db.getPhoto(sha256);
      if (!photo) continue; // not on this device (any more): the record stays "photo missing"
      try {
        if (!(await this.api.hasAttachment(sha256, photo.blob.size))) {
          await this.api.putAttachment(sha256, photo.blob);
        }
      } catch (error) {
        if (!(error instanceof ApiError) || error.signInAgain || error.deviceRefused) throw error;
        allSent = false;
        continue;
      }
      await db.photoUploaded(sha256);
      this.onChange();
    }
    return allSent;
  }

  /** Push waiting and sent records; each receipt settles its own record. */
  async pushOutbox() {
    const pushed = new Set(); // once per run: an answer this app does not know waits for the next
    for (;;) {
      const pending = (await db.outboxAll()).filter(
        (r) => (r.state === STATE.WAITING || r.state === STATE.SENT) && !pushed.has(r.uuid),
      );
      if (!pending.length) return;
      const batch = pending.slice(0, PUSH_BATCH);
      for (const r of batch) pushed.add(r.uuid);
      await db.markSent(batch.map((r) => r.uuid));
      this.onChange();
      const answer = await this.api.push(batch.map(wireRecord));
      const settled = new Set();
      for (const receipt of answer.receipts || []) {
        await db.settle(receipt.uuid, receipt, settleReceipt(receipt));
        settled.add(receipt.uuid);
      }
      this.onChange();
      // A record the answer did not mention stays "sent" and goes again on the next run.
      if (batch.some((r) => !settled.has(r.uuid))) return;
    }
  }

  async pullAll() {
    let cursor = await db.kv.get("cursor");
    for (let page = 0; page < MAX_PULL_PAGES; page += 1) {
      let answer;
      try {
        answer = await this.api.pull(cursor);
      } catch (error) {
        // A cursor the server no longer takes (a new enrollment): download everything again.
        if (!(error instanceof ApiError && error.code === "cursor_invalid") || !cursor) throw error;
        await db.clearItems();
        cursor = null;
        answer = await this.api.pull(null);
      }
      await db.applyChanges(answer.changes || [], answer.cursor ?? cursor, answer.route_version);
      cursor = answer.cursor ?? cursor;
      if (!answer.has_more) break;
    }
    await db.kv.set("pulled_at", new Date().toISOString());
    this.onChange();
  }
}
