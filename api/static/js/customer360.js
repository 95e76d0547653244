// Customer 360 and premises pages: one consumption chart per usage point (Chart.js, served
// locally) and the premises on the Leaflet map. Data come embedded in the page as JSON.
(function () {
  "use strict";
  const read = (id) => JSON.parse(document.getElementById(id).textContent);

  const COLOURS = { actual: "#16324f", estimated: "#f0a500", missing: "#c9ced6" };

  function drawCharts() {
    const series = read("kw-consumption");
    for (const s of series) {
      const canvas = document.querySelector(`canvas.c360-chart[data-usage-point="${s.id}"]`);
      if (!canvas || typeof Chart === "undefined") continue;
      const colours = s.kwh.map((_, i) =>
        s.estimated[i] ? COLOURS.estimated : s.missing[i] ? COLOURS.missing : COLOURS.actual);
      canvas.chart = new Chart(canvas, {
        type: "bar",
        data: {
          labels: s.months,
          datasets: [{ label: `${s.code} kWh per month`, data: s.kwh, backgroundColor: colours,
                       borderRadius: 2, minBarLength: 3 }],
        },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          plugins: {
            legend: { display: false },
            tooltip: { callbacks: { afterLabel: (ctx) =>
              s.estimated[ctx.dataIndex] ? "includes an estimate"
                : s.missing[ctx.dataIndex] ? "no actual read this month" : "" } },
          },
          scales: { y: { beginAtZero: true, title: { display: true, text: "kWh" } } },
        },
      });
      canvas.dataset.drawn = "true";
    }
  }

  function drawPlaces() {
    const map = window[window.KW_MAP_NAME];
    if (!map || typeof L === "undefined") return;
    const places = read("kw-places");
    const layer = L.geoJSON(places, {
      pointToLayer: (feature, latlng) => L.circleMarker(latlng, {
        radius: 9, weight: 2, color: "#fff", fillOpacity: 0.9,
        fillColor: feature.properties.current ? "#f0a500" : "#66707c",
      }),
      onEachFeature: (feature, marker) => {
        const link = document.createElement("a");
        link.href = feature.properties.href;
        link.textContent = feature.properties.label;
        marker.bindPopup(link);
      },
    }).addTo(map);
    if (places.features.length) {
      map.fitBounds(layer.getBounds(), { maxZoom: 17, padding: [30, 30] });
    }
    document.querySelector("[data-testid=premises-map]").dataset.markers = String(places.features.length);
  }

  drawCharts();
  drawPlaces();
})();
