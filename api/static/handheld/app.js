// The handheld app: state, actions and routing (#/round, #/item/ID, #/orders, #/order/ID,
// #/outbox, #/account). Everything it shows comes from IndexedDB, so that it works with no
// network at all; the Syncer exchanges the outbox and the downloads with the server.
import { OfflineError, SyncApi } from "./api.js";
import * as db from "./db.js";
import { STATE } from "./logic.js";
import { compressPhoto, currentPosition, newUuid, sha256Hex } from "./media.js";
import { Syncer } from "./sync.js";
import { accountView, h, itemView, orderView, ordersView, outboxView, roundView, signInView } from "./views.js";

const TABS = [["#/round", "Round"], ["#/orders", "Work orders"], ["#/outbox", "Outbox"], ["#/account", "Me"]];

class App {
  constructor() {
    this.session = null;
    this.device = null;
    this.items = { round_item: [], work_order: [], seal: [] };
    this.outbox = [];
    this.journal = [];
    this.routeVersion = null;
    this.pulledAt = null;
    this.api = new SyncApi(async () => ({ token: this.session?.token, device: this.device }));
    this.syncer = new Syncer({
      api: this.api,
      onChange: () => this.refresh(),
      onStatus: (status) => this.renderStatus(status),
      onAuthLost: () => this.authLost(),
      onDeviceUnknown: () => this.reenroll(),
    });
    this.root = document.getElementById("app");
    this.statusBar = document.getElementById("status");
  }

  async start() {
    // Ask the browser never to evict the outbox to make room (installed apps usually get it).
    navigator.storage?.persist?.().catch(() => false);
    this.session = (await db.kv.get("session")) || null;
    this.device = (await db.kv.get("device")) || null;
    this.lastUsername = (await db.kv.get("last_username")) || "";
    await this.load();
    window.addEventListener("hashchange", () => this.render());
    this.render();
    this.syncer.start();
  }

  /** Re-read everything the screens show from IndexedDB. */
  async load() {
    const [rounds, orders, seals, outbox, journal] = await Promise.all([
      db.itemsOf("round_item"), db.itemsOf("work_order"), db.itemsOf("seal"), db.outboxAll(), db.journalAll(),
    ]);
    this.items = { round_item: rounds, work_order: orders, seal: seals };
    this.outbox = outbox;
    this.journal = journal;
    this.routeVersion = await db.kv.get("route_version");
    this.pulledAt = await db.kv.get("pulled_at");
  }

  allRecords() {
    return [...this.outbox, ...this.journal];
  }

  async refresh() {
    await this.load();
    this.renderCounts();
    // Lists follow the data; a form being filled in (a stop, an order, the sign-in) is left
    // alone: re-drawing it would wipe what the technician is typing.
    const route = location.hash.split("/")[1] || "round";
    if (this.session && ["round", "orders", "outbox", "account"].includes(route)) this.render();
  }

  render() {
    if (!this.session) {
      this.root.replaceChildren(signInView(this, this.signInMessage || ""));
      document.body.dataset.view = "signin";
      return;
    }
    const [, route = "round", id] = location.hash.split("/");
    const view = {
      round: () => roundView(this),
      item: () => itemView(this, id),
      orders: () => ordersView(this),
      order: () => orderView(this, id),
      outbox: () => outboxView(this),
      account: () => accountView(this),
    }[route] || (() => roundView(this));
    document.body.dataset.view = route;
    const tab = `#/${{ item: "round", order: "orders" }[route] || route}`;
    const tabs = h("nav.tabs", {}, TABS.map(([href, label]) =>
      h("a", { href, class: tab === href ? "active" : null }, label, h("span.count", { dataset: { tab: href.slice(2) } }))));
    this.root.replaceChildren(tabs, view());
    this.renderCounts();
  }

  renderCounts() {
    const waiting = this.outbox.length;
    const el = document.querySelector("[data-tab=outbox]");
    if (el) el.textContent = waiting ? ` ${waiting}` : "";
    document.body.dataset.outbox = String(waiting);
  }

  renderStatus(status) {
    const parts = [status.online ? "Online" : "Offline"];
    if (status.syncing) parts.push("syncing…");
    else if (status.error) parts.push(status.error);
    else if (status.lastSyncAt) parts.push(`synced ${new Date(status.lastSyncAt).toLocaleTimeString()}`);
    this.statusBar.replaceChildren(
      h("span", { class: `dot ${status.online ? "on" : "off"}` }),
      h("span", { dataset: { testid: "sync-status" } }, parts.join(" · ")),
      ...(this.session ? [h("button.sync", { type: "button", onclick: () => this.syncer.kick() }, "Sync")] : []),
    );
    document.body.dataset.online = String(status.online);
    document.body.dataset.syncing = String(status.syncing);
  }

  // --- actions ------------------------------------------------------------------------

  async signIn(username, password) {
    if (!navigator.onLine) throw new Error("Signing in needs the network, once.");
    let token;
    try {
      token = await this.api.signIn(username, password);
    } catch (e) {
      if (e instanceof OfflineError) throw new Error("No connection to the server.");
      throw e;
    }
    if (this.device && this.device.username !== username) {
      // Another technician's phone: their records must be sent before anyone else signs in.
      if ((await db.outboxAll()).length) throw new Error(`Records of ${this.device.username} are still waiting to be sent.`);
      await db.clearWork();
      await db.kv.delete("device");
      this.device = null;
    }
    this.session = { token: token.access_token, username, expires_at: Date.now() + token.expires_in * 1000 };
    await db.kv.set("session", this.session);
    await db.kv.set("last_username", username);
    if (!this.device) await this.enroll(username);
    this.signInMessage = "";
    location.hash = "#/round";
    await this.load();
    this.render();
    this.syncer.kick();
  }

  async enroll(username) {
    let deviceUuid = await db.kv.get("device_uuid");
    if (!deviceUuid) {
      deviceUuid = newUuid();
      await db.kv.set("device_uuid", deviceUuid);
    }
    const label = `${username} · ${navigator.userAgentData?.platform || navigator.platform || "phone"}`.slice(0, 100);
    const answer = await this.api.enroll(deviceUuid, label);
    this.device = { device_id: answer.device_id, device_secret: answer.device_secret, device_uuid: deviceUuid, username };
    await db.kv.set("device", this.device);
  }

  /** Enroll again after "device_unknown" (at most once a minute, so a loop cannot form). */
  async reenroll() {
    if (!this.session || (this.reenrolledAt && Date.now() - this.reenrolledAt < 60000)) return false;
    this.reenrolledAt = Date.now();
    try {
      await this.enroll(this.session.username);
      return true;
    } catch {
      return false;
    }
  }

  /** The server no longer accepts the token (expired): sign in again; the outbox stays. */
  async authLost() {
    this.session = null;
    await db.kv.delete("session");
    const waiting = (await db.outboxAll()).length;
    this.signInMessage = `Your session has ended: sign in again.${waiting ? ` ${waiting} records are safe on this phone.` : ""}`;
    this.render();
  }

  async signOut() {
    const waiting = (await db.outboxAll()).length;
    if (waiting && !window.confirm(`${waiting} records are not sent yet. They stay on this phone. Sign out anyway?`)) return;
    this.session = null;
    await db.kv.delete("session");
    this.render();
  }

  /** Last known position: asked once per capture, never blocking a capture for long. */
  position() {
    return currentPosition({ timeout: 10000 });
  }

  async preparePhoto(file) {
    const { blob, width, height } = await compressPhoto(file);
    const sha256 = await sha256Hex(blob);
    return { sha256, blob, width, height, size: blob.size };
  }

  baseRecord(kind, { baseVersion, gps, scannedSerial = null, photos = [], data, capturedAt }) {
    return {
      uuid: newUuid(),
      kind,
      base_version: baseVersion ?? null,
      captured_at: capturedAt,
      created_at: `${capturedAt}#${newUuid()}`, // unique, in capture order
      gps,
      scanned_serial: scannedSerial,
      photos,
      data,
    };
  }

  async capture(records, photo) {
    await db.addRecords(records, photo ? [{ sha256: photo.sha256, blob: photo.blob, size: photo.size }] : []);
    await this.load();
    this.toast(`Saved on the phone: ${records.length} record${records.length > 1 ? "s" : ""}`);
    this.syncer.kick();
  }

  async saveVisit(item, { readings, scannedSerial, photo, seals }) {
    const gps = await this.position();
    const capturedAt = new Date().toISOString();
    const photos = photo ? [photo.sha256] : [];
    const common = { baseVersion: item.version, gps, capturedAt };
    const records = readings.map((r) => this.baseRecord("reading", {
      ...common, scannedSerial, photos,
      data: { round_item_id: item.id, register_id: r.register.register_id, value: r.value, confirmed_implausible: r.confirmed },
    }));
    for (const seal of seals) {
      records.push(this.baseRecord("seal_event", {
        ...common, photos,
        data: { ...seal, work_order_id: null, round_item_id: item.id },
      }));
    }
    await this.capture(records, photo);
    location.hash = "#/round";
  }

  async saveSkip(item, skipCode, photo) {
    const gps = await this.position();
    const record = this.baseRecord("skip", {
      baseVersion: item.version, gps, capturedAt: new Date().toISOString(),
      photos: photo ? [photo.sha256] : [],
      data: { round_item_id: item.id, skip_code: skipCode },
    });
    await this.capture([record], photo);
    location.hash = "#/round";
  }

  async saveOutcome(order, { outcome, code, notes, readings, seals, photo }) {
    const gps = await this.position();
    const record = this.baseRecord("work_order_outcome", {
      baseVersion: order.version, gps, capturedAt: new Date().toISOString(),
      photos: photo ? [photo.sha256] : [],
      data: { work_order_id: order.id, outcome, code, readings, seals, notes },
    });
    await this.capture([record], photo);
    location.hash = "#/orders";
  }

  toast(text) {
    const el = h("div.toast", { role: "status" }, text);
    document.body.append(el);
    setTimeout(() => el.remove(), 3000);
  }
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/handheld/sw.js", { scope: "/handheld/" });
  } catch (e) {
    console.warn("service worker not registered", e);
  }
}

const app = new App();
// For the browser tests and for a curious technician's console.
window.kilowatch = { app, db, ready: app.start().then(() => "started") };
registerServiceWorker();
