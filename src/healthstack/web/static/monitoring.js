/* Charts of the coverage dashboard, drawn with plotly.js (served from the installed
   plotly wheel) from the JSON each page embeds. Without JavaScript, or when plotly.js
   is missing, the tables beside the charts carry the same figures. */
(function () {
  "use strict";
  if (!window.Plotly) { return; }
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  var font = { family: "system-ui, 'Noto Sans', Arial, sans-serif", size: 13, color: "#1d2430" };
  var data = function (el) {
    var src = document.getElementById(el.getAttribute("data-source"));
    return src ? JSON.parse(src.textContent) : null;
  };
  var draw = {
    trend: function (el, d) {
      var bars = { type: "bar", name: "Net change per day", x: d.days, y: d.counts, marker: { color: "#0b6e4f" } };
      var line = { type: "scatter", mode: "lines", name: "Total", x: d.days, y: d.totals, yaxis: "y2", line: { color: "#0b4f71", width: 2 } };
      return Plotly.newPlot(el, [bars, line], {
        font: font, margin: { t: 10, r: 70, b: 40, l: 60 }, bargap: 0.15,
        legend: { orientation: "h", y: 1.12 },
        xaxis: { type: "date" },
        yaxis: { title: { text: d.label + " per day" }, rangemode: "tozero", tickformat: ",d" },
        yaxis2: { title: { text: "Total" }, overlaying: "y", side: "right", tickformat: ",d", showgrid: false }
      }, config);
    },
    coverage: function (el, d) {
      var bar = {
        type: "bar", orientation: "h", x: d.values, y: d.districts, marker: { color: "#0b6e4f" },
        hovertemplate: d.percent ? "%{y}: %{x:.1f} %<extra></extra>" : "%{y}: %{x:,}<extra></extra>"
      };
      return Plotly.newPlot(el, [bar], {
        font: font, margin: { t: 10, r: 20, b: 40, l: 140 },
        xaxis: d.percent ? { title: { text: "% of target" }, rangemode: "tozero", ticksuffix: " %" } : { rangemode: "tozero", tickformat: ",d" },
        yaxis: { autorange: "reversed", automargin: true }
      }, config);
    }
  };
  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (el) {
    var kind = el.getAttribute("data-chart");
    var d = data(el);
    if (!d || !draw[kind]) { return; }
    el.hidden = false;
    draw[kind](el, d);
    el.setAttribute("data-drawn", "true");
    // The chart now tells what the table did; the table stays one click away.
    var fallback = document.getElementById(el.getAttribute("data-fallback") || "");
    if (fallback && fallback.tagName === "DETAILS") { fallback.open = false; }
  });
}());
