// The supervisor's round map: every stop of the period coloured by its state; with one
// round selected, its walking route as a line in sequence order.
(function () {
  "use strict";
  const cfg = window.KW_ROUNDS;
  const map = window[cfg.mapName];
  const status = document.getElementById("round-status");
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  function colour(p) {
    if (p.status === "skipped") return "#ef6c00";
    if (p.status === "read") return p.reading_status === "accepted" ? "#2e7d32" : "#c62828";
    return "#9e9e9e";
  }
  function popup(p) {
    const rows = [
      ["Round", `${esc(p.round)} #${p.sequence}`],
      ["Usage point", esc(p.usage_point)],
      ["Meter", esc(p.meter_serial)],
      ["State", esc(p.status) + (p.skip_code ? ` (${esc(p.skip_code)})` : "")],
      ["Read", esc(p.reading_status) || "–"],
      ["Reader", esc(p.reader) || "–"],
      ["Visited", esc(p.visited_at) || "–"],
    ];
    return `<div class="net-popup"><table>` +
      rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("") + "</table></div>";
  }

  async function load() {
    if (!cfg.period) { status.textContent = "No rounds yet."; return; }
    status.textContent = "Loading…";
    const query = new URLSearchParams({ period: cfg.period });
    if (cfg.round_id) query.set("round_id", cfg.round_id);
    const answer = await fetch(`/map/rounds/stops.geojson?${query}`);
    if (!answer.ok) { status.textContent = `Could not load the stops (${answer.status}).`; return; }
    const data = await answer.json();
    const layer = L.geoJSON(data, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, {
        radius: 6, color: "#1d2733", weight: 1, fillColor: colour(f.properties), fillOpacity: 0.9,
      }),
      onEachFeature: (f, l) => l.bindPopup(popup(f.properties)),
    }).addTo(map);
    if (cfg.round_id && data.features.length > 1) {
      const path = data.features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
      L.polyline(path, { color: "#1565c0", weight: 2, dashArray: "4 4" }).addTo(map);
    }
    const count = (s) => data.features.filter((f) => f.properties.status === s).length;
    status.textContent = `${data.features.length} stops: ${count("read")} read, ` +
      `${count("skipped")} skipped, ${count("pending")} pending — ${cfg.period}`;
    if (data.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 17 });
    else if (cfg.bounds) map.fitBounds(cfg.bounds);
  }
  load();
})();
