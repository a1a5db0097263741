// Charts of the report pages: each <canvas data-chart="..."> carries its Chart.js config as JSON
// (labels and datasets); the table beside it holds the same figures.
(function () {
  function draw() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.chartReady) return;
      var spec = JSON.parse(canvas.dataset.chart);
      new Chart(canvas, {
        type: spec.type || "bar",
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          indexAxis: spec.indexAxis || "x",
          plugins: { legend: { display: spec.datasets.length > 1 } },
        },
      });
      canvas.dataset.chartReady = "1";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
