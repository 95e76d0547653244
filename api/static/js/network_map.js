/* The network map: vector-tile layers of the network, details on click, search by code and
 * trace highlighting. Talks only to Kilowatch (/tiles, /api/v1/network); the session cookie
 * authenticates every request. */
(function () {
  "use strict";

  const cfg = window.KW_NETWORK;
  const map = window[cfg.mapName];
  const API = "/api/v1/network";
  const $ = (id) => document.getElementById(id);
  const statusBox = $("net-status");

  // One colour per feeder, stable across tiles and sessions: golden-angle hues keep feeders
  // with neighbouring ids far apart on the colour wheel.
  function feederColour(id, lightness) {
    if (id === undefined || id === null) return "#7a8594";
    const hue = (Number(id) * 137.508) % 360;
    return `hsl(${hue.toFixed(1)}, 72%, ${lightness || 40}%)`;
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
    return body;
  }

  function setStatus(text) { statusBox.textContent = text || ""; }

  // -- panes: lines under points, the trace on top -----------------------------------------
  [["net-lines", 410], ["net-points", 420], ["net-transformers", 430], ["net-switches", 440],
   ["net-trace", 450]].forEach(([name, z]) => { map.createPane(name).style.zIndex = z; });

  const kvaRadius = (kva) => 3 + Math.sqrt(Math.max(Number(kva) || 25, 1)) / 2.6;

  // Keep fitted views clear of the floating panel on the right.
  const panel = document.querySelector(".net-panel");
  const fitOptions = (maxZoom) => ({
    paddingTopLeft: [30, 30], paddingBottomRight: [(panel ? panel.offsetWidth : 0) + 40, 30],
    maxZoom: maxZoom || 18,
  });

  const styles = {
    lines: (p, zoom) => (p.level === "lv"
      ? { color: feederColour(p.feeder_id, 55), weight: zoom >= 17 ? 1.6 : 1, opacity: 0.75 }
      : { color: feederColour(p.feeder_id), weight: zoom >= 16 ? 4 : 3, opacity: 0.95,
          lineCap: "round" }),
    service_points: (p, zoom) => ({
      radius: zoom >= 17 ? 3.2 : 2.2, fill: true, fillOpacity: 0.9, weight: zoom >= 17 ? 0.8 : 0,
      color: "#ffffff", fillColor: feederColour(p.feeder_id, 52),
    }),
    transformers: (p, zoom) => ({
      radius: kvaRadius(p.kva) * (zoom >= 16 ? 1.25 : 1), fill: true, fillOpacity: 1, weight: 2,
      color: "#1d2733", fillColor: feederColour(p.feeder_id, 45),
    }),
    switches: (p) => ({
      radius: 5, fill: true, fillOpacity: 1, weight: 2,
      color: p.open ? "#8b0000" : "#1d2733", fillColor: p.open ? "#e53935" : "#ffffff",
    }),
  };

  const layerInfo = {
    lines: { label: "Lines (MV / LV)", pane: "net-lines", kind: "feeders", priority: 1 },
    service_points: { label: "Service points", pane: "net-points", kind: "service-points", priority: 2 },
    transformers: { label: "Transformers", pane: "net-transformers", kind: "transformers", priority: 3 },
    switches: { label: "Switches", pane: "net-switches", kind: "switches", priority: 4 },
  };

  const tileLayers = {};
  let pendingClicks = [];
  const toggles = document.querySelector(".net-layers");

  Object.entries(layerInfo).forEach(([name, info]) => {
    const layer = L.vectorGrid.protobuf(`/tiles/${name}/{z}/{x}/{y}.mvt`, {
      pane: info.pane,
      rendererFactory: L.canvas.tile,
      interactive: true,
      minZoom: 2,
      maxNativeZoom: 20,
      vectorTileLayerStyles: { [name]: styles[name] },
      getFeatureId: (f) => f.properties.id,
      fetchOptions: { credentials: "same-origin" },
    });
    layer.on("click", (e) => {
      pendingClicks.push({ name, info, properties: e.layer.properties, latlng: e.latlng });
      // Several layers answer one click (a point on a line): show the most specific asset.
      if (pendingClicks.length === 1) setTimeout(resolveClick, 0);
    });
    layer.on("load", () => { document.body.dataset[`tiles_${name}`] = "loaded"; });
    layer.addTo(map);
    tileLayers[name] = layer;

    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" checked data-layer="${name}"> ${info.label}`;
    label.querySelector("input").addEventListener("change", (ev) => {
      if (ev.target.checked) layer.addTo(map); else map.removeLayer(layer);
    });
    toggles.appendChild(label);
  });

  function resolveClick() {
    const clicks = pendingClicks;
    pendingClicks = [];
    if (!clicks.length) return;
    clicks.sort((a, b) => b.info.priority - a.info.priority);
    const hit = clicks[0];
    const p = hit.properties;
    if (hit.name === "lines") {
      if (p.feeder) showAsset("feeders", p.feeder, hit.latlng);
      return;
    }
    if (p.code) showAsset(hit.info.kind, p.code, hit.latlng);
    else showAssetById(hit.info.kind, p.id, hit.latlng);
  }

  // -- details popups -----------------------------------------------------------------------
  const LABELS = {
    code: "Code", name: "Name", kind: "Kind", feeder_code: "Feeder", transformer_code: "Transformer",
    substation_code: "Substation", rated_kva: "Rating (kVA)", design_load_kva: "Design load (kVA)",
    service_points: "Service points", transformers: "Transformers", mv_length_m: "MV length (m)",
    nominal_kv: "Nominal kV", primary_kv: "Primary kV", secondary_kv: "Secondary kV",
    phases: "Phases", is_open: "State", normal_open: "Normally", location_precision: "Location",
    feeders: "Feeders", topology_dirty: "Needs re-trace",
  };
  const KIND_TITLES = {
    "feeders": "Feeder", "transformers": "Transformer", "service-points": "Service point",
    "switches": "Switch", "substations": "Substation",
  };
  const SKIP = new Set(["attributes", "traced_at", "asset", "code", "feeder_code_self"]);

  function formatValue(key, value) {
    if (key === "is_open") return value ? '<b class="open">open</b>' : "closed";
    if (key === "normal_open") return value ? "open" : "closed";
    if (Array.isArray(value)) return value.map(escapeHtml).join(", ");
    if (typeof value === "number") return value.toLocaleString(undefined, { maximumFractionDigits: 1 });
    return escapeHtml(value);
  }

  function popupHtml(kind, feature) {
    const p = feature.properties;
    const rows = [];
    Object.entries(p).forEach(([key, value]) => {
      if (SKIP.has(key) || value === null || value === undefined || value === "") return;
      if (kind === "feeders" && key === "feeder_code") return;
      if (kind === "transformers" && key === "transformer_code") return;
      rows.push(`<tr><th>${escapeHtml(LABELS[key] || key)}</th><td>${formatValue(key, value)}</td></tr>`);
    });
    const attrs = p.attributes || {};
    if (attrs.category) rows.push(`<tr><th>Category</th><td>${escapeHtml(attrs.category)}</td></tr>`);
    if (attrs.demand_kva !== undefined) rows.push(`<tr><th>Demand (kVA)</th><td>${formatValue("", attrs.demand_kva)}</td></tr>`);
    const actions = [];
    if (kind === "feeders") {
      actions.push(`<button type="button" class="btn-sm" data-trace="${API}/feeders/${encodeURIComponent(p.code)}/trace?direction=downstream">Trace downstream</button>`);
    } else if (kind === "transformers") {
      actions.push(`<button type="button" class="btn-sm" data-trace="${API}/transformers/${encodeURIComponent(p.code)}/trace">Trace downstream</button>`);
      if (p.feeder_code) actions.push(`<button type="button" class="btn-sm ghost" data-trace="${API}/feeders/${encodeURIComponent(p.feeder_code)}/trace?direction=downstream">Trace feeder</button>`);
    } else if (kind === "service-points") {
      actions.push(`<button type="button" class="btn-sm" data-trace="${API}/service-points/${encodeURIComponent(p.code)}/upstream">Supply path</button>`);
    }
    const swatch = p.feeder_code || kind === "feeders" ? "" : "";
    return `<div class="net-popup" data-testid="asset-popup">
      <div class="net-popup-kind">${escapeHtml(KIND_TITLES[kind] || kind)}</div>
      <div class="net-popup-code">${escapeHtml(p.code)}${swatch}</div>
      <table>${rows.join("")}</table>
      <div class="net-popup-actions">${actions.join("")}</div></div>`;
  }

  function openPopup(kind, feature, latlng) {
    const where = latlng || centreOf(feature);
    const popup = L.popup({ maxWidth: 320, className: "net-popup-wrap" })
      .setLatLng(where).setContent(popupHtml(kind, feature)).openOn(map);
    popup.getElement().querySelectorAll("[data-trace]").forEach((button) => {
      button.addEventListener("click", () => runTrace(button.dataset.trace, `${KIND_TITLES[kind]} ${feature.properties.code}`));
    });
  }

  function centreOf(feature) {
    const shape = L.geoJSON(feature);
    const bounds = shape.getBounds();
    if (feature.geometry && feature.geometry.type === "Point") {
      const [lon, lat] = feature.geometry.coordinates;
      return L.latLng(lat, lon);
    }
    return bounds.getCenter();
  }

  async function showAsset(kind, code, latlng) {
    try {
      const feature = await getJson(`${API}/${kind}/${encodeURIComponent(code)}`);
      openPopup(kind, feature, latlng);
    } catch (err) { setStatus(`Could not load ${code}: ${err.message}`); }
  }

  async function showAssetById(kind, id, latlng) {
    try {
      const page = await getJson(`${API}/${kind}?id=${encodeURIComponent(id)}&limit=1`);
      if (page.features.length) openPopup(kind, page.features[0], latlng);
    } catch (err) { setStatus(`Could not load the asset: ${err.message}`); }
  }

  // -- traces ------------------------------------------------------------------------------
  let traceLayer = null;
  const traceBox = $("net-trace");

  function clearTrace() {
    if (traceLayer) map.removeLayer(traceLayer);
    traceLayer = null;
    traceBox.hidden = true;
    traceBox.innerHTML = "";
  }

  async function runTrace(url, title) {
    setStatus("Tracing…");
    let body;
    try { body = await getJson(url); } catch (err) { setStatus(`Trace failed: ${err.message}`); return; }
    clearTrace();
    map.closePopup();
    traceLayer = L.geoJSON(body, {
      pane: "net-trace",
      interactive: false,
      style: (f) => (f.properties.stops_trace ? { color: "#e53935", weight: 4 } :
        { color: "#ffa000", weight: f.properties.voltage_level === "lv" ? 4 : 9, opacity: 0.55,
          lineCap: "round" }),
      pointToLayer: (f, latlng) => L.circleMarker(latlng, f.properties.stops_trace
        ? { radius: 8, color: "#8b0000", fillColor: "#e53935", fillOpacity: 1, weight: 2 }
        : { radius: f.properties.asset === "transformer" ? 11 : 4, weight: 0,
            fillColor: "#ffa000", fillOpacity: 0.55 }),
    }).addTo(map);
    const c = body.counts || (body.properties && body.properties.counts) || {};
    traceBox.innerHTML = `<div class="net-trace-head"><b>${escapeHtml(title)}</b>
      <button type="button" class="link-btn" data-testid="clear-trace">Clear</button></div>
      <div class="net-trace-dir">${escapeHtml((body.properties && body.properties.direction) || "")} trace</div>
      <dl>
        <dt>Transformers</dt><dd data-testid="trace-transformers">${(c.transformers || 0).toLocaleString()}</dd>
        <dt>Service points</dt><dd data-testid="trace-service-points">${(c.service_points || 0).toLocaleString()}</dd>
        <dt>Line segments</dt><dd>${(c.segments || 0).toLocaleString()}</dd>
        <dt>Switches</dt><dd>${(c.switches || 0).toLocaleString()}</dd>
        <dt>Stopped at open switches</dt><dd>${(c.open_switches || 0).toLocaleString()}</dd>
      </dl>`;
    traceBox.hidden = false;
    traceBox.querySelector("[data-testid=clear-trace]").addEventListener("click", clearTrace);
    const bounds = traceLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, fitOptions(18));
    setStatus("");
  }

  // -- search ------------------------------------------------------------------------------
  const searchInput = $("net-search");
  const resultsList = $("net-results");
  let searchTimer = null;
  let lastResults = [];

  function focusFeature(feature) {
    const kind = feature.properties.asset;
    if (feature.geometry && feature.geometry.type === "Point") {
      const [lon, lat] = feature.geometry.coordinates;
      map.setView([lat, lon], Math.max(map.getZoom(), 18));
    } else if (feature.geometry) {
      map.fitBounds(L.geoJSON(feature).getBounds(), fitOptions(18));
    }
    resultsList.hidden = true;
    showAsset(kind, feature.properties.code);
  }

  async function search(q) {
    if (!q) { resultsList.hidden = true; return; }
    let page;
    try { page = await getJson(`${API}/search?q=${encodeURIComponent(q)}&limit=12`); } catch (err) {
      setStatus(`Search failed: ${err.message}`); return;
    }
    if (searchInput.value.trim() !== q) return; // a newer search is on its way
    lastResults = page.features;
    resultsList.innerHTML = page.features.length ? "" : '<li class="muted">No asset with that code</li>';
    page.features.forEach((feature) => {
      const li = document.createElement("li");
      li.innerHTML = `<span class="kind">${escapeHtml(KIND_TITLES[feature.properties.asset] || "")}</span> ${escapeHtml(feature.properties.code)}`;
      li.addEventListener("click", () => focusFeature(feature));
      resultsList.appendChild(li);
    });
    resultsList.hidden = false;
  }

  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search(searchInput.value.trim()), 200);
  });
  searchInput.addEventListener("keydown", async (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      clearTimeout(searchTimer);
      await search(searchInput.value.trim());
      if (lastResults.length) focusFeature(lastResults[0]);
    } else if (ev.key === "Escape") {
      resultsList.hidden = true;
    }
  });

  // -- feeders in view: colour key and shortcuts ------------------------------------------
  const feederBox = $("net-feeders");
  let feederRequest = 0;

  async function listFeedersInView() {
    const request = ++feederRequest;
    if (map.getZoom() < 13) { feederBox.hidden = true; return; }
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map((v, i) => Math.max(Math.min(v, i % 2 ? 90 : 180), i % 2 ? -90 : -180).toFixed(6)).join(",");
    let page;
    try { page = await getJson(`${API}/feeders?bbox=${bbox}&limit=25&geometry=false`); } catch (err) { return; }
    if (request !== feederRequest) return;
    const items = page.features.map((f) => `<li data-code="${escapeHtml(f.properties.code)}">
      <span class="swatch" style="background:${feederColour(f.id)}"></span>
      <span class="code">${escapeHtml(f.properties.code)}</span>
      <span class="muted">${escapeHtml(f.properties.substation_code || "")}</span></li>`);
    feederBox.innerHTML = `<div class="net-box-title">Feeders in view</div><ul>${items.join("")}</ul>` +
      (page.next ? '<div class="muted">… more: zoom in</div>' : "");
    feederBox.hidden = page.features.length === 0;
    feederBox.querySelectorAll("li").forEach((li) => li.addEventListener("click", () => {
      showAsset("feeders", li.dataset.code, map.getCenter());
    }));
  }
  map.on("moveend", listFeedersInView);

  // -- status: what the zoom level shows ---------------------------------------------------
  function zoomHint() {
    const z = map.getZoom();
    const hidden = [];
    if (z < cfg.minZoom.service_points) hidden.push(`service points from zoom ${cfg.minZoom.service_points}`);
    if (z < cfg.lvMinZoom) hidden.push(`LV lines from zoom ${cfg.lvMinZoom}`);
    if (z < cfg.minZoom.transformers) hidden.push(`transformers from zoom ${cfg.minZoom.transformers}`);
    setStatus(hidden.length ? `Zoom ${z}: ${hidden.join(" · ")}` : `Zoom ${z}`);
  }
  map.on("zoomend", zoomHint);
  zoomHint();

  if (cfg.bounds) map.fitBounds(cfg.bounds);
  listFeedersInView();
  if (cfg.focus) {
    searchInput.value = cfg.focus;
    search(cfg.focus).then(() => { if (lastResults.length) focusFeature(lastResults[0]); });
  }
  window.KW_NETWORK_MAP = { map, tileLayers, runTrace, focusFeature, clearTrace };
})();
