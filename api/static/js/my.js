// The signed-in customer's side of /my: a small phone-first app over /api/v1/portal. The
// page's own <script> defines api(), money() and text(); the portal cookie authenticates.
"use strict";

const KINDS = {invoice: "Invoices", payment: "Payments", connection: "Connection works",
  case: "My complaints and requests", outage: "Planned outages"};
const CHANNELS = {email: "E-mail", sms: "SMS", letter: "Letter", none: "Not at all"};
const $ = id => document.getElementById(id);
let meters = [];

async function loadAccounts() {
  const accounts = await api("/accounts");
  $("accounts").innerHTML = accounts.map(a =>
    `<div class="row"><span>${text(a.number)}</span><span>${Object.entries(a.balance).map(([c, v]) => money(v, c)).join(" ") || "0"}</span></div>`).join("") || "No account yet.";
  const months = accounts.length ? await api(`/accounts/${accounts[0].id}/consumption`) : [];
  const top = Math.max(1, ...months.flatMap(m => [m.kwh, m.last_year_kwh || 0, m.similar_homes_median_kwh || 0].map(Number)));
  const bar = (v, colour) => `<div style="height:.5rem;background:${colour};width:${100 * Number(v || 0) / top}%"></div>`;
  $("consumption").innerHTML = months.map(m =>
    `<div class="row" data-testid="month"><span>${m.month}</span><span style="flex:1">${bar(m.kwh, "#1f6fb2")}${bar(m.last_year_kwh, "#9bb")}${bar(m.similar_homes_median_kwh, "#e8a33d")}</span><span>${Number(m.kwh)} kWh</span></div>`).join("")
    + (months.length ? `<small>blue: you · grey: last year · orange: similar homes (median)</small>` : "No consumption billed yet.");
  const invoices = (await Promise.all(accounts.map(a => api(`/accounts/${a.id}/invoices`)))).flat();
  $("invoices").innerHTML = invoices.map(i =>
    `<div class="row"><a href="/api/v1/portal/invoices/${i.id}/pdf" data-testid="invoice">${text(i.number)}</a><span>${money(i.total, i.currency)}</span></div>`).join("") || "No invoice yet.";
  const vends = (await Promise.all(accounts.map(a => api(`/accounts/${a.id}/prepaid-vends`)))).flat();
  $("vends").innerHTML = vends.map(v => {
    const cut = v.deductions.map(d => `${text(d.kind)} ${money(d.amount, v.currency)}`).join(", ") || "none";
    return `<div class="row" data-testid="vend"><span>${new Date(v.vended_at).toLocaleDateString()} · ${text(v.meter_serial)}<br>
      <span class="token" data-testid="token">${text(v.token)}</span><br><small>deducted: ${cut}${v.credit ? ` · credit ${money(v.credit, v.currency)}` : ""}</small></span>
      <span>${money(v.amount, v.currency)}<br><strong>${Number(v.kwh)} kWh</strong></span></div>`;
  }).join("") || "No prepaid purchase.";
}

function showExpected() {
  const form = $("self-read");
  const meter = meters.find(m => String(m.id) === form.meter.value);
  const register = meter && meter.registers.find(r => r.code === form.register_code.value);
  $("expected").textContent = register
    ? `Last index ${Number(register.previous)} on ${new Date(register.previous_at).toLocaleDateString()}`
      + (register.high ? `; we expect between ${Number(register.low || register.previous)} and ${Number(register.high)} now.` : ".")
    : "";
}

async function loadMeters() {
  meters = await api("/meters");
  const form = $("self-read");
  $("meters").textContent = meters.length ? "" : "No meter fitted at your supplies.";
  form.hidden = !meters.length;
  if (!meters.length) return;
  form.meter.innerHTML = meters.map(m => `<option value="${m.id}">${text(m.serial)}</option>`).join("");
  const fill = () => {
    const meter = meters.find(m => String(m.id) === form.meter.value);
    form.register_code.innerHTML = meter.registers.map(r => `<option>${text(r.code)}</option>`).join("");
    showExpected();
    loadReadings(meter.id);
  };
  form.meter.onchange = fill;
  form.register_code.onchange = showExpected;
  fill();
}

async function loadReadings(meterId) {
  const reads = await api(`/meters/${meterId}/readings`);
  $("readings").innerHTML = reads.map(r =>
    `<div class="row" data-testid="reading"><span>${new Date(r.read_at).toLocaleDateString()} · ${r.source === "self_read" ? "you" : text(r.source)}${r.has_photo ? " 📷" : ""}</span>
      <span>${Number(r.value)} <small data-testid="reading-status">${text(r.status)}</small></span></div>`).join("") || "No reading yet.";
}

$("self-read").addEventListener("submit", async e => {
  e.preventDefault();
  const form = e.target;
  const body = new FormData(form);
  body.delete("meter");
  if (!form.photo.files.length) body.delete("photo");
  const status = $("read-status");
  status.className = "";
  const answer = await fetch(`/api/v1/portal/meters/${form.meter.value}/readings`,
    {method: "POST", credentials: "same-origin", body});
  const result = await answer.json();
  if (answer.ok) {
    status.className = "ok";
    status.textContent = result.status === "flagged" ? "Thank you: kept, the office will check it." : "Thank you: your reading is recorded.";
    form.reset(); $("confirm-row").hidden = true;
    await loadMeters();
    return;
  }
  status.className = "error";
  status.textContent = result.detail || "This reading could not be sent.";
  $("confirm-row").hidden = !result.can_confirm;
});

async function loadCases() {
  const cases = await api("/cases");
  $("cases").innerHTML = cases.map(c =>
    `<div class="row" data-testid="case"><span>${text(c.number)} · ${text(c.subject)}<br><small data-testid="case-status">${text(c.status.replace("_", " "))}</small></span>
      <span class="${c.late ? "late" : ""}" data-testid="case-due">${c.resolved_at ? "resolved" : "due " + c.due_date}${c.late ? " (late)" : ""}</span></div>`).join("") || "Nothing filed.";
}

$("file-case").addEventListener("submit", async e => {
  e.preventDefault();
  await api("/cases", {method: "POST", body: JSON.stringify(Object.fromEntries(new FormData(e.target)))});
  e.target.reset();
  loadCases();
});

async function loadPreferences() {
  const me = await api("/me");
  const chosen = me.preferences;
  $("pref-rows").innerHTML = Object.entries(KINDS).map(([kind, label]) =>
    `<label>${label} <select name="${kind}" data-testid="pref-${kind}">${Object.entries(CHANNELS)
      .filter(([c]) => kind !== "invoice" || c !== "none")
      .map(([c, l]) => `<option value="${c}"${chosen.channels[kind] === c ? " selected" : ""}>${l}</option>`).join("")}</select></label>`).join("");
  $("prefs").language.value = chosen.language;
}

$("prefs").addEventListener("submit", async e => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(e.target));
  const channels = Object.fromEntries(Object.keys(KINDS).map(k => [k, f[k]]));
  const status = $("prefs-status");
  try {
    await api("/me/preferences", {method: "PUT", body: JSON.stringify({language: f.language, channels})});
    status.className = "ok"; status.textContent = "Saved.";
  } catch (err) {
    status.className = "error";
    status.textContent = (err.errors || []).map(x => x.message).join("; ") || err.detail;
  }
});

async function loadRequests() {
  const requests = await api("/connection-requests");
  $("requests").innerHTML = requests.map(r => {
    const q = r.quote;
    let actions = "";
    if (q && q.status === "issued") actions = `<button data-pay="${r.id}" data-testid="accept-pay">Accept and pay ${money(q.total, q.currency)}</button>`;
    return `<div class="row" data-testid="request"><span>${text(r.number)} · <span data-testid="request-status">${text(r.status)}</span></span>
      <span class="${r.late ? "late" : ""}">${q ? money(q.total, q.currency) : "survey pending"}</span></div>${actions}`;
  }).join("") || "No request.";
  document.querySelectorAll("[data-pay]").forEach(b => b.addEventListener("click", async () => {
    // The simulated payment page confirms at once (paying accepts the quote); the key
    // makes a second click harmless.
    const key = "page-" + b.dataset.pay + "-" + (sessionStorage.getItem("pay-" + b.dataset.pay) || crypto.randomUUID());
    sessionStorage.setItem("pay-" + b.dataset.pay, key.split("-").slice(2).join("-"));
    await api(`/connection-requests/${b.dataset.pay}/pay`, {method: "POST", headers: {"Idempotency-Key": key}});
    load();
  }));
}

$("connect").addEventListener("submit", async e => {
  e.preventDefault();
  const f = Object.fromEntries(new FormData(e.target));
  await api("/connection-requests", {method: "POST", body: JSON.stringify({
    site: {address_line: f.address_line, city: f.city, lon: Number(f.lon), lat: Number(f.lat)},
    connection_type: f.connection_type, subscribed_kva: f.subscribed_kva})});
  loadRequests();
});

function load() {
  return Promise.all([loadAccounts(), loadMeters(), loadCases(), loadPreferences(), loadRequests()]);
}
load();
