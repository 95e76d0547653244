// The screens, built with plain DOM calls (no framework, no build step). Each view takes
// the app (its state and actions) and returns an element; forms keep their own state so
// that a background sync never wipes what the technician is typing.
import {
  FAILURE_CODES, OUTCOMES, SEAL_EVENTS, SEAL_POSITIONS, SKIP_CODES, STATE_LABELS, checkReading,
  distanceM, itemStatus, locationOf, parseSealNumbers, progress, registersOf, walkingOrder,
} from "./logic.js";
import { canScan, normalizeSerial, scanWithCamera } from "./scan.js";

/** h("div.card", {onclick}, child, ...): an element with classes, attributes and children. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : "");

export function signInView(app, message = "") {
  const error = h("p.error", { role: "alert", hidden: !message }, message);
  const form = h("form.stack", {
    onsubmit: async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      error.hidden = true;
      form.querySelector("button").disabled = true;
      try {
        await app.signIn(String(data.get("username")).trim(), String(data.get("password")));
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      } finally {
        form.querySelector("button").disabled = false;
      }
    },
  },
  h("label", {}, "Username", h("input", { name: "username", autocomplete: "username", required: true, value: app.lastUsername || "" })),
  h("label", {}, "Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
  h("button.primary", { type: "submit" }, "Sign in"),
  );
  return h("section.signin", {},
    h("h1", {}, "⚡ Kilowatch handheld"),
    h("p.muted", {}, "Sign in once; then the app works without a network."),
    error, form);
}

export function roundView(app) {
  const items = walkingOrder(app.items.round_item);
  const records = app.allRecords();
  const counts = progress(items, records);
  const list = h("ol.items", {}, items.map((item) => {
    const status = itemStatus(item, records);
    return h("li", {},
      h("a.item", { href: `#/item/${item.id}`, dataset: { itemId: item.id, status } },
        h("span.seq", {}, item.data.sequence),
        h("span.main", {},
          h("strong", {}, item.data.usage_point_code || `#${item.id}`), " · ", item.data.meter_serial || "",
          h("small", {}, item.data.address || "")),
        h(`span.badge.${status}`, {}, status)));
  }));
  return h("section", {},
    h("p.progress", { dataset: { testid: "progress" } },
      `${counts.read} read · ${counts.skipped} skipped · ${counts.pending} pending`,
      app.routeVersion ? h("small.muted", {}, ` (route v${app.routeVersion})`) : null),
    items.length ? list : h("p.muted.empty", {}, app.pulledAt
      ? "No round assigned to you today."
      : "Nothing downloaded yet: connect to the network and sync."));
}

/** The reading form of one round item: registers, serial, photo, seals, or a skip. */
export function itemView(app, id) {
  const item = app.items.round_item.find((i) => String(i.id) === String(id));
  if (!item) return h("section", {}, h("p.error", {}, "This meter is not in your round."), backLink());
  const d = item.data;
  const photo = photoField(app);
  const notice = h("div.notice", { hidden: true, role: "alert" });
  const inputs = registersOf(d).map((register) => ({
    register,
    input: h("input", {
      name: `register-${register.register_id ?? register.code}`, inputMode: "decimal", autocomplete: "off",
      placeholder: register.previous_value != null ? `previous ${register.previous_value}` : "index",
      dataset: { registerId: register.register_id },
    }),
  }));
  const serial = serialField(d.meter_serial);
  const seals = h("textarea", { name: "seals", rows: 2, placeholder: "seal numbers, e.g. A10021" });
  const sealEvent = h("select", { name: "seal_event" }, SEAL_EVENTS.map(([v, l]) => h("option", { value: v }, l)));
  const sealPosition = h("select", { name: "seal_position" }, SEAL_POSITIONS.map(([v, l]) => h("option", { value: v }, l)));

  const save = async (confirmed) => {
    notice.hidden = true;
    const checks = inputs.map(({ register, input }) => ({ register, check: checkReading(input.value, register) }));
    const invalid = checks.filter((c) => c.check.kind === "invalid");
    if (invalid.length) {
      show(notice, "error", invalid.map((c) => `${c.register.code}: ${c.check.message}`));
      return;
    }
    const doubtful = checks.filter((c) => c.check.kind !== "ok");
    if (doubtful.length && !confirmed) {
      show(notice, "warn", doubtful.map((c) => `${c.register.code}: ${c.check.message}`),
        h("div.row", {},
          h("button.primary", { type: "button", dataset: { action: "confirm" }, onclick: () => save(true) }, "Confirm and save"),
          h("button", { type: "button", onclick: () => { notice.hidden = true; inputs[0]?.input.focus(); } }, "Read again")));
      return;
    }
    await app.saveVisit(item, {
      readings: checks.map((c) => ({ register: c.register, value: c.check.value, confirmed: c.check.kind !== "ok" })),
      scannedSerial: serial.value(),
      photo: photo.value(),
      seals: parseSealNumbers(seals.value).map((n) => ({ seal_number: n, event: sealEvent.value, position: sealPosition.value })),
    });
  };

  const skipCode = h("select", { name: "skip_code" }, h("option", { value: "" }, "Why not read?"),
    SKIP_CODES.map(([v, l]) => h("option", { value: v }, l)));
  const distance = h("small.muted");
  const location = locationOf(d);
  if (location) app.position().then((p) => {
    if (p) distance.textContent = ` · ${Math.round(distanceM(p, location))} m away (±${Math.round(p.accuracy_m)} m)`;
  });

  return h("section.item", { dataset: { itemId: item.id } },
    backLink(),
    h("h2", {}, d.meter_serial || "(no serial)", " ", h(`span.badge.${itemStatus(item, app.allRecords())}`, {}, itemStatus(item, app.allRecords()))),
    h("p", {}, d.usage_point_code, " · ", d.address || "", distance),
    d.access_notes ? h("p.access", {}, "⚠ ", d.access_notes) : null,
    h("form.stack", { onsubmit: (e) => { e.preventDefault(); save(false); } },
      inputs.map(({ register, input }) => h("label.register", {},
        h("span", {}, h("strong", {}, register.code), " ",
          h("small.muted", {}, rangeText(register))),
        input)),
      serial.element,
      photo.element,
      h("details", {}, h("summary", {}, "Seals"),
        h("small.muted", {}, issuedSeals(app)), seals, sealEvent, sealPosition),
      notice,
      h("button.primary", { type: "submit", dataset: { action: "save-reading" } }, "Save reading")),
    h("form.stack.skip", {
      onsubmit: async (e) => {
        e.preventDefault();
        if (!skipCode.value) return;
        await app.saveSkip(item, skipCode.value, photo.value());
      },
    }, h("h3", {}, "Cannot read"), skipCode, h("button", { type: "submit", dataset: { action: "skip" } }, "Save skip")),
  );
}

function issuedSeals(app) {
  const numbers = (app.items.seal || []).map((s) => s.data.seal_number || s.data.number).filter(Boolean);
  return numbers.length ? `In your bag: ${numbers.slice(0, 12).join(", ")}${numbers.length > 12 ? " …" : ""}` : "";
}

function rangeText(register) {
  const parts = [];
  if (register.previous_value != null) parts.push(`prev ${register.previous_value}${register.previous_read_at ? ` (${register.previous_read_at.slice(0, 10)})` : ""}`);
  if (register.expected_min != null || register.expected_max != null) parts.push(`expected ${register.expected_min ?? "?"}–${register.expected_max ?? "?"}`);
  return parts.join(" · ");
}

function show(notice, kind, lines, ...extra) {
  notice.className = `notice ${kind}`;
  notice.replaceChildren(...lines.map((l) => h("p", {}, l)), ...extra);
  notice.hidden = false;
}

function backLink(href = "#/round", text = "← Round") {
  return h("a.back", { href }, text);
}

/** A camera field: the photo is compressed and hashed as soon as it is taken. */
/** The serial read on the meter: typed, or scanned from its barcode with the camera where
 * the browser can (scan.js); the button is offered only then. */
export function serialField(expected) {
  const input = h("input", { name: "scanned_serial", autocomplete: "off", placeholder: expected || "" });
  const status = h("small.muted", { dataset: { testid: "scan-status" } });
  const video = h("video.scan", { hidden: true, muted: true, playsInline: true });
  let scanning = null;
  const stop = () => { if (scanning) scanning.abort(); };
  const button = canScan() ? h("button", {
    type: "button", dataset: { action: "scan-serial" },
    onclick: async () => {
      if (scanning) { stop(); return; }
      scanning = new AbortController();
      button.textContent = "Stop scanning";
      video.hidden = false;
      status.textContent = "Point the camera at the meter's barcode…";
      const found = await scanWithCamera(video, { expected, signal: scanning.signal });
      scanning = null;
      video.hidden = true;
      button.textContent = "Scan barcode";
      if (found) {
        input.value = found;
        status.textContent = normalizeSerial(expected) && found !== normalizeSerial(expected)
          ? `Scanned ${found}: not the expected ${expected}` : `Scanned ${found}`;
      } else {
        status.textContent = "No barcode read: type the serial instead.";
      }
    },
  }, "Scan barcode") : null;
  return {
    element: h("label", {}, "Serial on the meter (if different or scanned)",
      h("div.row", {}, input, button), video, status),
    value: () => input.value.trim() || null, // typed: as typed (the server ignores case)
  };
}

function photoField(app) {
  let current = null;
  const preview = h("div.preview");
  const input = h("input", {
    type: "file", accept: "image/*", capture: "environment", name: "photo",
    onchange: async () => {
      const file = input.files?.[0];
      if (!file) return;
      preview.replaceChildren(h("small.muted", {}, "Compressing…"));
      try {
        current = await app.preparePhoto(file);
        preview.replaceChildren(
          h("img", { src: URL.createObjectURL(current.blob), alt: "photo" }),
          h("small.muted", { dataset: { testid: "photo-info" } },
            `${current.width}×${current.height}, ${Math.round(current.blob.size / 1024)} kB`));
      } catch (e) {
        current = null;
        preview.replaceChildren(h("small.error", {}, `Photo not usable: ${e.message}`));
      }
    },
  });
  return { element: h("label.photo", {}, "Photo", input, preview), value: () => current };
}

export function ordersView(app) {
  const orders = [...app.items.work_order].sort((a, b) => String(a.data.planned_date ?? "").localeCompare(String(b.data.planned_date ?? "")) || a.id - b.id);
  const records = app.allRecords();
  return h("section", {},
    orders.length ? h("ol.items", {}, orders.map((o) => {
      const done = records.some((r) => r.kind === "work_order_outcome" && r.data.work_order_id === o.id);
      return h("li", {}, h("a.item", { href: `#/order/${o.id}`, dataset: { orderId: o.id } },
        h("span.main", {}, h("strong", {}, o.data.number || o.data.code || `#${o.id}`), " · ", o.data.kind || o.data.type || "",
          h("small", {}, [o.data.usage_point_code, o.data.address].filter(Boolean).join(" · "))),
        h(`span.badge.${done ? "read" : "pending"}`, {}, done ? "done" : (o.data.status || "open"))));
    })) : h("p.muted.empty", {}, "No work orders."));
}

export function orderView(app, id) {
  const order = app.items.work_order.find((o) => String(o.id) === String(id));
  if (!order) return h("section", {}, h("p.error", {}, "This work order is not yours."), backLink("#/orders", "← Work orders"));
  const d = order.data;
  const photo = photoField(app);
  const notice = h("div.notice", { hidden: true });
  const outcome = h("select", { name: "outcome" }, OUTCOMES.map(([v, l]) => h("option", { value: v }, l)));
  const code = h("select", { name: "code" }, h("option", { value: "" }, "Failure code (if failed)"),
    FAILURE_CODES.map(([v, l]) => h("option", { value: v }, l)));
  const notes = h("textarea", { name: "notes", rows: 3 });
  const seals = h("textarea", { name: "seals", rows: 2, placeholder: "seal numbers" });
  const sealEvent = h("select", { name: "seal_event" }, SEAL_EVENTS.map(([v, l]) => h("option", { value: v }, l)));
  const inputs = registersOf(d).map((register) => ({
    register, input: h("input", { inputMode: "decimal", dataset: { registerId: register.register_id ?? register.code } }),
  }));
  const sealPosition = h("select", { name: "seal_position" }, SEAL_POSITIONS.map(([v, l]) => h("option", { value: v }, l)));
  const details = Object.entries(d).filter(([, v]) => v !== null && typeof v !== "object");

  const save = async (confirmed) => {
    const checks = inputs.filter(({ input }) => input.value.trim() !== "")
      .map(({ register, input }) => ({ register, check: checkReading(input.value, register) }));
    const bad = checks.filter((c) => c.check.kind === "invalid");
    if (bad.length) return show(notice, "error", bad.map((c) => `${c.register.code}: ${c.check.message}`));
    const doubtful = checks.filter((c) => c.check.kind !== "ok");
    if (doubtful.length && !confirmed) {
      return show(notice, "warn", doubtful.map((c) => `${c.register.code}: ${c.check.message}`),
        h("button.primary", { type: "button", dataset: { action: "confirm" }, onclick: () => save(true) }, "Confirm and save"));
    }
    await app.saveOutcome(order, {
      outcome: outcome.value,
      code: code.value.trim() || null,
      notes: notes.value.trim() || null,
      readings: checks.map((c) => ({
        register_id: c.register.register_id, register_code: c.register.code,
        value: c.check.value, confirmed_implausible: c.check.kind !== "ok",
      })),
      seals: parseSealNumbers(seals.value).map((n) => ({ seal_number: n, event: sealEvent.value, position: sealPosition.value })),
      photo: photo.value(),
    });
  };
  return h("section.order", {},
    backLink("#/orders", "← Work orders"),
    h("h2", {}, d.number || d.code || `Work order ${order.id}`),
    h("dl", {}, details.map(([k, v]) => [h("dt", {}, k.replaceAll("_", " ")), h("dd", {}, String(v))])),
    h("form.stack", { onsubmit: (e) => { e.preventDefault(); save(false); } },
      h("label", {}, "Outcome", outcome),
      h("label", {}, "Code", code),
      inputs.map(({ register, input }) => h("label.register", {}, h("span", {}, register.code, " ", h("small.muted", {}, rangeText(register))), input)),
      h("label", {}, "Seals", h("small.muted", {}, issuedSeals(app)), seals, sealEvent, sealPosition),
      photo.element,
      h("label", {}, "Notes", notes),
      notice,
      h("button.primary", { type: "submit", dataset: { action: "save-outcome" } }, "Save outcome")));
}

export function outboxView(app) {
  const records = app.allRecords().sort((a, b) => String(b.captured_at).localeCompare(String(a.captured_at)));
  const counts = {};
  for (const r of records) counts[r.state] = (counts[r.state] || 0) + 1;
  return h("section", {},
    h("p.progress", {}, Object.entries(counts).map(([s, n]) => `${n} ${STATE_LABELS[s] || s}`).join(" · ") || "Nothing captured yet."),
    h("ol.records", {}, records.map((r) => h("li.record", { dataset: { uuid: r.uuid, state: r.state, kind: r.kind } },
      h("span.main", {}, h("strong", {}, r.kind.replaceAll("_", " ")), " ", summary(r),
        h("small", {}, when(r.captured_at), r.photos?.length ? ` · ${r.photos.length} photo${r.photos.length > 1 ? "s" : ""}` : "",
          r.gps ? ` · ±${Math.round(r.gps.accuracy_m)} m` : " · no GPS",
          r.receipt?.code ? ` · ${r.receipt.code}` : "", r.receipt?.detail ? ` · ${r.receipt.detail}` : "",
          r.receipt?.flags?.length ? ` · ⚑ ${r.receipt.flags.join(", ")}` : "")),
      h(`span.badge.${r.state.replace(" ", "-")}`, {}, STATE_LABELS[r.state] || r.state)))));
}

function summary(r) {
  const d = r.data || {};
  if (r.kind === "reading") return `${d.value}${d.confirmed_implausible ? " (confirmed)" : ""}`;
  if (r.kind === "skip") return d.skip_code;
  if (r.kind === "seal_event") return `${d.seal_number} ${d.event}`;
  if (r.kind === "work_order_outcome") return `${d.outcome}${d.code ? ` ${d.code}` : ""}`;
  return "";
}

export function accountView(app) {
  return h("section.stack", {},
    h("p", {}, "Signed in as ", h("strong", {}, app.session?.username || "?")),
    h("p", {}, "Device ", h("code", {}, app.device ? String(app.device.device_id) : "not enrolled")),
    h("p.muted", {}, `Last download: ${when(app.pulledAt) || "never"}`),
    h("button", { type: "button", onclick: () => app.signOut() }, "Sign out"));
}
