// Bill calculator chart: the bill total against consumption (Chart.js, served locally).
// The curve comes embedded in the page as JSON; dashed lines mark the thresholds (block
// bounds, social-block ceilings, tax exemption thresholds), a dot the simulated bill.
(function () {
  "use strict";
  const canvas = document.getElementById("tf-chart");
  const curve = JSON.parse(document.getElementById("tf-curve").textContent);
  if (!canvas || !curve.points || typeof Chart === "undefined") return;

  const thresholdLines = {
    id: "thresholds",
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.strokeStyle = "#f0a500";
      ctx.fillStyle = "#7a5800";
      ctx.setLineDash([4, 4]);
      ctx.font = "11px system-ui, sans-serif";
      for (const t of curve.thresholds) {
        const x = scales.x.getPixelForValue(t);
        ctx.beginPath();
        ctx.moveTo(x, chartArea.top);
        ctx.lineTo(x, chartArea.bottom);
        ctx.stroke();
        ctx.fillText(`${t.toLocaleString()} kWh`, x + 3, chartArea.top + 10);
      }
      ctx.restore();
    },
  };

  const money = (v) => `${v.toLocaleString()} ${curve.currency}`;
  canvas.chart = new Chart(canvas, {
    type: "scatter",
    data: {
      datasets: [
        { label: "Bill total", data: curve.points, showLine: true, borderColor: "#16324f",
          backgroundColor: "#16324f", pointRadius: 0, borderWidth: 2 },
        { label: "This simulation", data: [curve.entered], pointRadius: 6,
          backgroundColor: "#f0a500", borderColor: "#fff", borderWidth: 2 },
      ],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => `${c.parsed.x.toLocaleString()} kWh: ${money(c.parsed.y)}` } },
      },
      scales: {
        x: { type: "linear", beginAtZero: true, max: curve.points[curve.points.length - 1].x, title: { display: true, text: "kWh over the period" } },
        y: { beginAtZero: true, title: { display: true, text: `Bill total (${curve.currency})` } },
      },
    },
    plugins: [thresholdLines],
  });
  canvas.dataset.drawn = "true";
  canvas.dataset.points = String(curve.points.length);
})();
