/* Charts of the coverage dashboard, drawn with plotly.js (served from the installed
   plotly wheel). Each chart's data is JSON in its element's data-series attribute, so
   the pages carry no inline script and run under a strict Content-Security-Policy.
   Without JavaScript, or when plotly.js is missing, the tables beside the charts
   carry the same figures. */
(function () {
  "use strict";
  if (!window.Plotly) { return; }
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  var font = { family: "system-ui, 'Noto Sans', Arial, sans-serif", size: 13, color: "#1d2430" };
  var TARGET = "#b54708";
  var data = function (el) {
    var raw = el.getAttribute("data-series");
    if (!raw) { return null; }
    try { return JSON.parse(raw); } catch (e) { return null; }
  };
  var finite = function (values) {
    return (values || []).filter(function (v) { return typeof v === "number" && isFinite(v); });
  };
  // Counts are whole numbers: over a small span plotly would put ticks at 0.5 steps and
  // print each whole number twice ("0 1 1 2 2"). Pin those axes to steps of one, on a
  // range that holds every value (and zero, for counts per day).
  var countAxis = function (values, fromZero) {
    var v = finite(values);
    var low = v.length ? Math.min.apply(null, v) : 0;
    var high = v.length ? Math.max.apply(null, v) : 0;
    if (fromZero) { low = Math.min(low, 0); high = Math.max(high, 0); }
    var axis = { tickformat: ",d", rangemode: fromZero ? "tozero" : "normal" };
    if (high - low <= 6) {
      axis.tickmode = "linear";
      axis.tick0 = 0;
      axis.dtick = 1;
      axis.range = fromZero
        ? [low < 0 ? low - 0.2 : 0, Math.max(high, 1) + 0.2]
        : [Math.max(low - 1, 0), Math.max(high + 1, 2)];
    }
    return axis;
  };
  var draw = {
    trend: function (el, d) {
      var bars = { type: "bar", name: "Net change per day", x: d.days, y: d.counts, marker: { color: "#0b6e4f" } };
      var line = { type: "scatter", mode: "lines", name: "Total", x: d.days, y: d.totals, yaxis: "y2", line: { color: "#0b4f71", width: 2 } };
      var y = countAxis(d.counts, true);
      y.title = { text: d.label + " per day" };
      var y2 = countAxis(d.totals, false);
      y2.title = { text: "Total" };
      y2.overlaying = "y";
      y2.side = "right";
      y2.showgrid = false;
      return Plotly.newPlot(el, [bars, line], {
        font: font, margin: { t: 10, r: 70, b: 40, l: 60 }, bargap: 0.15,
        legend: { orientation: "h", y: 1.12 },
        xaxis: { type: "date" },
        yaxis: y,
        yaxis2: y2
      }, config);
    },
    coverage: function (el, d) {
      var bar = {
        type: "bar", orientation: "h", x: d.values, y: d.districts, marker: { color: "#0b6e4f" },
        hovertemplate: d.percent ? "%{y}: %{x:.1f} %<extra></extra>" : "%{y}: %{x:,}<extra></extra>"
      };
      var layout = {
        font: font, margin: { t: 24, r: 20, b: 40, l: 140 },
        yaxis: { autorange: "reversed", automargin: true }
      };
      if (d.percent) {
        // A share of the target reads against the whole of it: 0-100 % always (more
        // when a district is past its target), the target and the state marked.
        var most = Math.max.apply(null, [100].concat(finite(d.values)));
        layout.xaxis = {
          title: { text: "% of target" }, range: [0, Math.ceil(most / 10) * 10],
          ticksuffix: " %", tick0: 0, dtick: 10, fixedrange: true
        };
        var mark = function (x, dash, color, text, anchor, lift) {
          layout.shapes.push({
            type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
            line: { color: color, width: 2, dash: dash }
          });
          layout.annotations.push({
            xref: "x", yref: "paper", x: x, y: 1, yanchor: "bottom", xanchor: anchor,
            yshift: lift, showarrow: false, text: text, font: { color: color, size: 12 }
          });
        };
        layout.shapes = [];
        layout.annotations = [];
        mark(100, "dash", TARGET, "Target 100 %", "right", 0);
        if (typeof d.overall === "number") {
          // Lifted over the target's label when the two would overlap.
          mark(d.overall, "dot", "#475467", d.overall_label + " " + d.overall.toFixed(1) + " %",
            "center", Math.abs(100 - d.overall) < 30 ? 16 : 0);
          layout.margin.t = 42;
        }
      } else {
        layout.xaxis = countAxis(d.values, true);
      }
      return Plotly.newPlot(el, [bar], layout, config);
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
