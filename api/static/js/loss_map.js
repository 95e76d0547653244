// The loss map: transformer zones coloured by the NTL share of their month's balance.
(function () {
  "use strict";
  const cfg = window.KW_LOSSES;
  const map = window[cfg.mapName];
  const status = document.getElementById("loss-status");
  const select = document.getElementById("loss-month");
  // Bands of NTL share (fraction of the energy in) and their colours.
  const BANDS = [
    [-Infinity, 0.03, "#2e7d32", "under 3 %"],
    [0.03, 0.08, "#f9a825", "3 to 8 %"],
    [0.08, 0.15, "#ef6c00", "8 to 15 %"],
    [0.15, Infinity, "#c62828", "15 % and more"],
  ];
  const GREY = "#9e9e9e";

  const legend = document.getElementById("loss-legend");
  for (const [, , colour, label] of BANDS) {
    legend.insertAdjacentHTML("beforeend",
      `<li><span class="sw-dot" style="background:${colour}"></span> ${label}</li>`);
  }
  legend.insertAdjacentHTML("beforeend",
    `<li><span class="sw-dot" style="background:${GREY}"></span> not analysable</li>` +
    `<li><span class="sw-switch open"></span> flagged</li>`);

  function colour(p) {
    if (!p.analysable || p.ntl_share === null) return GREY;
    return BANDS.find(([lo, hi]) => p.ntl_share >= lo && p.ntl_share < hi)[2];
  }
  const kwh = (v) => (v === null ? "–" : `${Math.round(v).toLocaleString()} kWh`);
  const pct = (v) => (v === null ? "–" : `${(v * 100).toFixed(1)} %`);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  function popup(p) {
    const rows = [
      ["Feeder", esc(p.feeder)],
      ["Energy in", kwh(p.energy_in_kwh)],
      ["Metered downstream", kwh(p.metered_kwh)],
      ["Unmetered", kwh(p.unmetered_kwh)],
      [`Technical loss (${esc(p.loss_method) || "–"})`, kwh(p.technical_loss_kwh)],
      ["NTL", `${kwh(p.ntl_kwh)} (${pct(p.ntl_share)})`],
      ["Flag bar", pct(p.threshold_share)],
    ];
    const state = p.analysable ? (p.flagged ? "<strong>flagged</strong>" : "analysable")
      : `not analysable: ${esc(p.reason)}`;
    return `<div class="net-popup"><div class="net-popup-kind">Transformer zone</div>` +
      `<div class="net-popup-code">${esc(p.code)}</div><div>${state}</div><table>` +
      rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("") + "</table></div>";
  }

  let layer = null;
  async function load(month) {
    if (!month) { status.textContent = "No balances computed yet (kilowatch fraud balance)."; return; }
    status.textContent = "Loading…";
    const answer = await fetch(`/map/losses/zones.geojson?month=${encodeURIComponent(month)}`);
    if (!answer.ok) { status.textContent = `Could not load the zones (${answer.status}).`; return; }
    const data = await answer.json();
    if (layer) layer.remove();
    layer = L.geoJSON(data, {
      style: (f) => ({
        color: f.properties.flagged ? "#8b0000" : "#37474f",
        weight: f.properties.flagged ? 3 : 1,
        fillColor: colour(f.properties), fillOpacity: 0.55,
      }),
      onEachFeature: (f, l) => l.bindPopup(popup(f.properties)),
    }).addTo(map);
    const flagged = data.features.filter((f) => f.properties.flagged).length;
    status.textContent = `${data.features.length} zones, ${flagged} flagged — ${month}`;
    if (cfg.bounds) map.fitBounds(cfg.bounds);
    else if (data.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 16 });
  }

  // Feeders: a sparkline of the NTL share per month; a click drills down to the feeder's
  // transformer zones (the others dimmed), a second click shows them all again.
  const feeders = document.getElementById("loss-feeders");
  let focus = null;
  function spark(shares) {
    const w = 96, h = 22, known = shares.filter((v) => v !== null);
    if (!known.length) return "<span class='muted'>not analysable</span>";
    const top = Math.max(0.05, ...known);
    const step = shares.length > 1 ? w / (shares.length - 1) : 0;
    const pts = shares.map((v, i) => (v === null ? null : `${(i * step).toFixed(1)},${(h - (Math.max(v, 0) / top) * h).toFixed(1)}`));
    const path = pts.filter(Boolean).join(" ");
    return `<svg width="${w}" height="${h}" class="sparkline"><polyline fill="none" stroke="#c62828" stroke-width="1.5" points="${path}"/></svg>`;
  }
  function drill(code) {
    focus = focus === code ? null : code;
    if (!layer) return;
    const inside = [];
    layer.eachLayer((l) => {
      const mine = !focus || l.feature.properties.feeder === focus;
      l.setStyle({ fillOpacity: mine ? 0.55 : 0.08, opacity: mine ? 1 : 0.2 });
      if (mine && focus) inside.push(l.getBounds());
    });
    if (inside.length) map.fitBounds(inside.reduce((a, b) => a.extend(b)), { maxZoom: 17 });
    status.textContent = focus ? `Feeder ${focus}: ${inside.length} transformer zones` : status.textContent;
  }
  async function loadFeeders(month) {
    feeders.innerHTML = "";
    if (!month) return;
    const answer = await fetch(`/map/losses/feeders.json?month=${encodeURIComponent(month)}`);
    if (!answer.ok) return;
    for (const f of (await answer.json()).feeders) {
      const last = f.shares[f.shares.length - 1];
      const li = document.createElement("li");
      li.innerHTML = `<a href="#" data-feeder="${esc(f.feeder)}">${esc(f.feeder)}</a> ${spark(f.shares)} ${pct(last ?? null)}` +
        (f.flagged[f.flagged.length - 1] ? " <strong>flagged</strong>" : "");
      li.querySelector("a").addEventListener("click", (e) => { e.preventDefault(); drill(f.feeder); });
      feeders.appendChild(li);
    }
  }

  for (const m of cfg.months) select.insertAdjacentHTML("beforeend", `<option>${m}</option>`);
  if (cfg.month) select.value = cfg.month;
  select.addEventListener("change", () => { focus = null; load(select.value); loadFeeders(select.value); });
  load(cfg.month);
  loadFeeders(cfg.month);
})();
