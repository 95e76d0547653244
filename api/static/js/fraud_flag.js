// The flag page: the consumption chart beside the peers' median, the map (premises and
// transformer), and the lifecycle buttons (the API, authenticated by the page's cookie).
(function () {
  "use strict";
  const read = (id) => JSON.parse(document.getElementById(id).textContent);

  function drawChart() {
    const data = read("kw-flag-chart");
    const canvas = document.getElementById("flag-chart");
    if (!canvas || typeof Chart === "undefined") return;
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.months,
        datasets: [
          { type: "bar", label: "this usage point, kWh", data: data.kwh, backgroundColor: "#c0392b" },
          { type: "line", label: `median of ${data.peer_count} peer(s), kWh`, data: data.peers,
            borderColor: "#2c3e50", pointRadius: 2, spanGaps: true },
        ],
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 scales: { y: { beginAtZero: true, title: { display: true, text: "kWh" } } } },
    });
    canvas.dataset.drawn = "true";
  }

  function drawMap() {
    const map = window[window.KW_MAP_NAME];
    if (!map || typeof L === "undefined") return;
    const places = read("kw-flag-places");
    const points = [];
    if (places.premises) {
      const [lon, lat] = places.premises.coordinates;
      L.circleMarker([lat, lon], { radius: 8, color: "#c0392b" }).bindTooltip("premises").addTo(map);
      points.push([lat, lon]);
    }
    if (places.transformer) {
      const [lon, lat] = places.transformer.coordinates;
      L.circleMarker([lat, lon], { radius: 6, color: "#2c3e50" })
        .bindTooltip(`transformer ${places.transformer_code || ""}`).addTo(map);
      points.push([lat, lon]);
    }
    if (points.length === 1) map.setView(points[0], 17);
    else if (points.length > 1) map.fitBounds(points, { padding: [30, 30], maxZoom: 18 });
  }

  function wireSteps() {
    const form = document.getElementById("flag-step");
    if (!form) return;
    const status = document.getElementById("flag-step-status");
    form.querySelectorAll("button[data-event]").forEach((button) => {
      button.addEventListener("click", async () => {
        const body = { event: button.dataset.event };
        const reason = form.elements.reason.value.trim();
        if (reason) body.reason = reason;
        if (body.event === "confirm" && form.elements.outcome.value) body.outcome = form.elements.outcome.value;
        if (form.elements.kind.value.trim()) body.kind = form.elements.kind.value.trim();
        status.textContent = "…";
        const answer = await fetch(`/api/v1/fraud/flags/${form.dataset.flag}/transitions`, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify(body),
        });
        if (answer.ok) { window.location.reload(); return; }
        const problem = await answer.json().catch(() => ({}));
        status.textContent = problem.detail || `error ${answer.status}`;
      });
    });
  }

  drawChart();
  drawMap();
  wireSteps();
})();
