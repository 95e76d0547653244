// The sync API, as the handheld speaks it: sign-in, enrollment, pull, push, attachments.
// Every failure is an ApiError (the server answered: status + problem code) or an
// OfflineError (no answer at all: the request may or may not have reached the server).
import { deviceHeader } from "./logic.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || null;
    this.problem = problem;
  }
  /** The token is no longer accepted: the technician must sign in again. */
  get signInAgain() {
    return this.status === 401 && this.code !== "device_unknown";
  }
  /** The device credential is refused: enrollment again (unknown) or never (revoked). */
  get deviceRefused() {
    return ["device_unknown", "device_revoked", "device_not_yours"].includes(this.code);
  }
  /** Worth retrying later (server busy or failing), as opposed to a refusal. */
  get transient() {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export class OfflineError extends Error {}

async function call(url, init) {
  let response;
  try {
    response = await fetch(url, { cache: "no-store", ...init });
  } catch (error) {
    throw new OfflineError(String(error));
  }
  if (!response.ok && response.status !== 404) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    throw new ApiError(response.status, problem);
  }
  return response;
}

export class SyncApi {
  /** ``auth()`` returns {token, device} as currently stored (either may be missing). */
  constructor(auth, base = "/api/v1") {
    this.auth = auth;
    this.base = base;
  }

  async headers(withDevice = true, extra = {}) {
    const { token, device } = await this.auth();
    const headers = { ...extra };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (withDevice && device) headers["X-Kilowatch-Device"] = deviceHeader(device);
    return headers;
  }

  /** POST /auth/token (OAuth2 password flow, as the sign-in page does). */
  async signIn(username, password) {
    const body = new URLSearchParams({ username, password });
    const response = await call(`${this.base}/auth/token`, { method: "POST", body });
    if (response.status === 404) throw new ApiError(404, null);
    return response.json();
  }

  async enroll(deviceUuid, label) {
    const response = await call(`${this.base}/sync/devices`, {
      method: "POST",
      headers: await this.headers(false, { "Content-Type": "application/json" }),
      body: JSON.stringify({ device_uuid: deviceUuid, label }),
    });
    if (response.status === 404) throw new ApiError(404, null);
    return response.json();
  }

  async pull(cursor, limit = 500) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    const response = await call(`${this.base}/sync/pull?${query}`, { headers: await this.headers() });
    if (response.status === 404) throw new ApiError(404, await safeJson(response));
    return response.json();
  }

  async push(records) {
    const response = await call(`${this.base}/sync/push`, {
      method: "POST",
      headers: await this.headers(true, { "Content-Type": "application/json" }),
      body: JSON.stringify({ device_time: new Date().toISOString(), records }),
    });
    if (response.status === 404) throw new ApiError(404, await safeJson(response));
    return response.json();
  }

  /** True when the server already holds the whole photo (``size`` bytes). */
  async hasAttachment(sha256, size) {
    const response = await call(`${this.base}/sync/attachments/${sha256}`, {
      method: "HEAD",
      headers: await this.headers(),
    });
    if (response.status === 404) return false;
    // A partial upload answers with how far it got: complete only when it reached the end.
    const complete = response.headers.get("Upload-Complete");
    if (complete !== null) return complete.toLowerCase() === "true";
    const offset = response.headers.get("Upload-Offset");
    return offset === null || Number(offset) >= size;
  }

  async putAttachment(sha256, blob) {
    const response = await call(`${this.base}/sync/attachments/${sha256}`, {
      method: "PUT",
      headers: await this.headers(true, { "Content-Type": blob.type || "image/jpeg" }),
      body: blob,
    });
    if (response.status === 404) throw new ApiError(404, await safeJson(response));
    return response;
  }
}

async function safeJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}
