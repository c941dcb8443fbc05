/**
 * The static parts of report.html: its stylesheet and the in-page script that draws the
 * charts from the embedded report JSON with the inlined Chart.js. Kept as plain strings
 * (not a stringified TypeScript function) so no transpiler or coverage instrumentation
 * can leak into the page. The script is ES5-flavoured on purpose: it has no build step.
 */

export const REPORT_CSS = `
:root { --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --band: #f8fafc; --accent: #2563eb; }
* { box-sizing: border-box; }
body {
  margin: 0;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: #fff;
}
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 12px; }
pre.command {
  background: var(--band); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px;
  white-space: pre-wrap; word-break: break-all; font-size: 12.5px;
}
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; font-size: 13px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: var(--band); font-weight: 600; color: #334155; white-space: normal; vertical-align: bottom; }
.scroll { overflow-x: auto; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.text { white-space: normal; }
tbody tr:nth-child(even) { background: #fcfdfe; }
.scheme {
  display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 6px; vertical-align: baseline;
}
.note { color: var(--muted); font-size: 12.5px; margin: 4px 0; }
.better { color: #047857; } .worse { color: #b91c1c; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px; }
.card {
  border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px 10px;
  break-inside: avoid; page-break-inside: avoid;
}
.card h3 { margin: 0 0 2px; }
.card .box { position: relative; height: 300px; }
.toolbar { margin: 0 0 10px; color: var(--muted); font-size: 13px; }
.levels { display: flex; flex-wrap: wrap; gap: 6px 32px; align-items: flex-start; }
.levels table { width: auto; }
.kv td:first-child { color: var(--muted); width: 1%; }
details summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@media (max-width: 820px) { .charts { grid-template-columns: 1fr; } main { padding: 16px; } }
@media print {
  @page { size: A4; margin: 14mm; }
  main { max-width: none; padding: 0; }
  body { font-size: 11px; }
  table { font-size: 10px; }
  th, td { padding: 3px 4px; }
  .toolbar, details summary { display: none; }
  details > * { display: block; }
  .charts { grid-template-columns: 1fr 1fr; gap: 10px; }
  .card .box { height: 230px; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, .card { break-inside: avoid; page-break-inside: avoid; }
  .scroll { overflow: visible; }
}
`;

/** Colours shared by the tables' swatches and the charts: one per scheme, one per stage. */
export const SCHEME_COLORS: Record<string, string> = {
  merged: '#2563eb',
  unmerged: '#d97706',
  gazelle: '#059669',
  cryptonets: '#dc2626',
};

export const CHART_SCRIPT = `
(function () {
  'use strict';
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var Chart = window.Chart;
  var SCHEME_COLORS = ${JSON.stringify(SCHEME_COLORS)};
  var STAGE_COLORS = { merging: '#94a3b8', setup: '#c026d3', preprocessing: '#7c3aed', online: '#0891b2' };
  var STAGES = ['merging', 'setup', 'preprocessing', 'online'];
  var schemes = report.schemes;
  var names = schemes.map(function (s) { return s.label || s.scheme; });
  function stageOf(s, st) { return s.stages[st] || { wallMs: 0, bytesClientToServer: 0, bytesServerToClient: 0 }; }
  var charts = [];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
  Chart.defaults.color = '#334155';
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function rgba(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return 'n/a';
    var a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString('en-US');
    if (a >= 10) return v.toFixed(1);
    return a >= 0.01 || a === 0 ? v.toFixed(2) : v.toExponential(2);
  }
  // A log axis cannot show 0: such bars are left out (null) rather than drawn wrong.
  function positive(v) { return v > 0 ? v : null; }
  // Log axes label powers of ten only (Chart.js's 1-2-5 log ticks collide) and end at
  // the next power of ten, so the tallest bar does not touch the frame.
  function logTick(value) {
    var e = Math.log10(value);
    if (Math.abs(e - Math.round(e)) > 1e-9) return '';
    return value >= 1 ? value.toLocaleString('en-US') : String(value);
  }
  function logMax(values) {
    var top = Math.max.apply(null, values.filter(function (v) { return v > 0; }).concat([1]));
    return Math.pow(10, Math.ceil(Math.log10(top)));
  }
  function valueAxis(title, values) {
    return { type: 'logarithmic', max: logMax(values), logMax: logMax(values), title: { display: true, text: title },
      ticks: { callback: function (value) { return this.type === 'logarithmic' ? logTick(value) : fmt(value); } } };
  }
  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    var chart = new Chart(canvas, config);
    charts.push(chart);
  }
  function unitTooltip(unit) {
    return { callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + fmt(ctx.raw) + ' ' + unit; } } };
  }

  // every run's figure for every stage, flattened: the values an axis must fit
  function allStages(value) {
    return schemes.flatMap(function (s) {
      return STAGES.map(function (st) { return value(stageOf(s, st)); });
    });
  }

  var timeStages = STAGES.filter(function (st) {
    return schemes.some(function (s) { return stageOf(s, st).wallMs > 0; });
  });
  make('chart-time', {
    type: 'bar',
    data: { labels: names, datasets: timeStages.map(function (st) {
      return {
        label: st,
        data: schemes.map(function (s) { return positive(stageOf(s, st).wallMs); }),
        backgroundColor: STAGE_COLORS[st],
      };
    }) },
    options: {
      scales: { y: valueAxis('wall time (ms, all images)', allStages(function (m) { return m.wallMs; })) },
      plugins: { tooltip: unitTooltip('ms') },
    },
  });

  // one binary unit per chart, the one that keeps the largest value readable
  var maxBytes = Math.max.apply(null, [1].concat(allStages(function (m) {
    return Math.max(m.bytesClientToServer, m.bytesServerToClient);
  })));
  var byteUnit = ['B', 'KiB', 'MiB', 'GiB'][Math.min(3, Math.floor(Math.log(maxBytes) / Math.log(1024)))];
  var byteDiv = Math.pow(1024, ['B', 'KiB', 'MiB', 'GiB'].indexOf(byteUnit));
  var byteSets = [];
  STAGES.forEach(function (st) {
    [['bytesClientToServer', 'client→server', 1], ['bytesServerToClient', 'server→client', 0.45]].forEach(function (d) {
      var values = schemes.map(function (s) { return stageOf(s, st)[d[0]] / byteDiv; });
      if (!values.some(function (v) { return v > 0; })) return;
      byteSets.push({
        label: st + ' ' + d[1],
        data: values.map(positive),
        backgroundColor: rgba(STAGE_COLORS[st], d[2]),
        borderColor: STAGE_COLORS[st],
        borderWidth: 1,
      });
    });
  });
  make('chart-bytes', {
    type: 'bar',
    data: { labels: names, datasets: byteSets },
    options: {
      scales: { y: valueAxis(byteUnit + ' sent (all images)', byteSets.flatMap(function (d) { return d.data; })) },
      plugins: { tooltip: unitTooltip(byteUnit) },
    },
  });

  var traces = schemes.map(function (s) {
    var pre = s.stages.preprocessing.levels, on = s.stages.online.levels;
    return { scheme: s.scheme, name: s.label || s.scheme, trace: pre && pre.length ? pre : on && on.length ? on : [] };
  }).filter(function (t) { return t.trace.length > 0; });
  var depth = Math.max.apply(null, [0].concat(traces.map(function (t) { return t.trace.length; })));
  var positions = [];
  for (var i = 1; i <= depth; i++) positions.push(String(i));
  make('chart-levels', {
    type: 'line',
    data: { labels: positions, datasets: traces.map(function (t) {
      return {
        label: t.name,
        layers: t.trace,
        borderColor: SCHEME_COLORS[t.scheme],
        backgroundColor: SCHEME_COLORS[t.scheme],
        pointRadius: 4,
        borderWidth: 2,
        tension: 0,
        data: t.trace.map(function (l) { return l.levels.length ? Math.min.apply(null, l.levels) : null; }) };
    }) },
    options: {
      scales: { x: { title: { display: true, text: 'layer (position in the evaluated network)' } },
        y: {
          beginAtZero: true,
          ticks: { stepSize: 1, precision: 0 },
          title: { display: true, text: 'ciphertext levels left' },
        } },
      plugins: { tooltip: { callbacks: {
        title: function (items) { var l = items[0].dataset.layers[items[0].dataIndex]; return l ? l.layer : ''; },
        label: function (ctx) {
          var l = ctx.dataset.layers[ctx.dataIndex];
          return ctx.dataset.label + ': ' + ctx.raw + ' levels left, ' + l.levelsUsed + ' used';
        },
      } } },
    },
  });

  var quality = [
    ['accuracy', 'secure accuracy', '#2563eb'],
    ['plaintextAccuracy', 'plaintext accuracy', '#94a3b8'],
    ['agreement', 'agreement with plaintext', '#16a34a'],
  ];
  var lowest = Math.min.apply(null, schemes.map(function (s) {
    // null: no plaintext reference (a remote run without one); such a figure is no bar, not a 0
    return Math.min.apply(null, [s.accuracy, s.plaintextAccuracy, s.agreement].filter(function (x) {
      return x !== null;
    })) * 100;
  }));
  make('chart-quality', {
    type: 'bar',
    data: { labels: names, datasets: quality.map(function (q) {
      return { label: q[1], backgroundColor: q[2], data: schemes.map(function (s) {
        return s[q[0]] === null ? null : s[q[0]] * 100;
      }) };
    }) },
    options: {
      scales: { y: {
        min: Math.max(0, Math.floor(lowest / 5) * 5 - 5),
        max: 100,
        title: { display: true, text: '% of images (axis does not start at 0)' },
      } },
      plugins: { tooltip: unitTooltip('%') },
    },
  });

  var toggle = document.getElementById('log-axes');
  if (toggle) toggle.addEventListener('change', function () {
    charts.forEach(function (c) {
      if (c.canvas.id !== 'chart-time' && c.canvas.id !== 'chart-bytes') return;
      var y = c.options.scales.y;
      y.type = toggle.checked ? 'logarithmic' : 'linear';
      y.beginAtZero = !toggle.checked;
      y.max = toggle.checked ? y.logMax : undefined;
      c.update();
    });
  });
  // Chart.js sizes canvases for the screen; re-measure for the printed page and back.
  window.addEventListener('beforeprint', function () { charts.forEach(function (c) { c.resize(); }); });
  window.addEventListener('afterprint', function () { charts.forEach(function (c) { c.resize(); }); });
  document.documentElement.setAttribute('data-charts-ready', String(charts.length));
})();
`;
