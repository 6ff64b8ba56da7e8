/** The report's stylesheet: light, system fonts, no external resources. */
export const STYLE = `
:root {
  color-scheme: light;
  --fg: #1f2937; --muted: #6b7280; --bg: #f5f6f8; --card: #fff; --border: #e5e7eb;
  --accent: #7c3aed; --patient: #db2777; --ok: #16a34a; --ok-bg: #dcfce7; --ok-fg: #14532d;
  --bad: #dc2626; --bad-fg: #991b1b; --warn-bg: #fff7ed; --warn: #c2410c;
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body {
  margin: 0; color: var(--fg); background: var(--bg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
}
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 64px; }
header.top { margin-bottom: 8px; }
h1 { font-size: 25px; line-height: 1.25; margin: 0 0 4px; letter-spacing: -0.01em; word-break: break-word; }
h2 { font-size: 17px; margin: 0 0 4px; }
h3 { font-size: 14px; margin: 16px 0 6px; color: #374151; }
p { margin: 6px 0; }
.sub { color: var(--muted); margin: 0; }
.sub span + span::before { content: "·"; margin: 0 8px; color: #c0c4cc; }
.intro { color: var(--muted); margin: 0 0 14px; max-width: 75ch; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px; margin: 14px 0 4px; }
nav.toc a { color: #374151; text-decoration: none; padding: 3px 10px; border: 1px solid var(--border); border-radius: 999px; background: var(--card); font-size: 13px; }
nav.toc a:hover { border-color: var(--accent); color: var(--accent); }
section { background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 18px 22px 20px; margin: 16px 0; }
.count { color: var(--muted); font-weight: 500; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-top: 12px; }
.kpi { border: 1px solid var(--border); border-radius: 10px; padding: 10px 14px; background: #fafafb; }
.kpi .k { color: var(--muted); font-size: 12.5px; }
.kpi .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kpi .s { color: var(--muted); font-size: 12px; }
.kpi.main { grid-column: span 2; background: #faf7ff; border-color: #ddd6fe; }
.kpi.main .v { font-size: 42px; line-height: 1.1; color: var(--accent); }
.kpi.main.patient { background: #fdf4f8; border-color: #fbcfe8; }
.kpi.main.patient .v { color: var(--patient); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 10px 24px; }
figure { margin: 0; }
figure.chart-fig figcaption { font-weight: 600; font-size: 13px; color: #374151; margin: 8px 0 2px; }
svg.chart { display: block; width: 100%; height: auto; font-size: 11px; overflow: visible; }
svg.chart text { fill: #4b5563; }
svg.chart .grid line { stroke: #eef0f3; }
svg.chart .axis line { stroke: #9ca3af; }
svg.chart .axis .label { fill: #374151; font-weight: 600; font-size: 11.5px; }
svg.chart .legend text { fill: #374151; font-size: 12px; }
svg.chart .vline line { stroke: #9ca3af; stroke-dasharray: 3 3; }
svg.chart .vline text { fill: #6b7280; font-size: 10.5px; }
svg.chart .chance { stroke: #9ca3af; stroke-dasharray: 4 3; }
svg.chart .iso { stroke: #f59e0b; stroke-dasharray: 2 3; stroke-width: 1.3; }
.pr-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(205px, 1fr)); gap: 14px; }
figure.pr { border: 1px solid var(--border); border-radius: 10px; padding: 6px 8px 2px; }
figure.pr figcaption { display: flex; justify-content: space-between; align-items: baseline; font-size: 13px; padding: 0 4px; }
figure.pr .lbl { font-weight: 600; word-break: break-all; }
figure.pr .ap { color: var(--muted); font-variant-numeric: tabular-nums; }
.key { display: inline-flex; align-items: center; gap: 5px; margin-right: 14px; color: var(--muted); font-size: 12.5px; }
.key i { display: inline-block; width: 18px; height: 0; border-top: 2px solid; }
.key i.dot { width: 9px; height: 9px; border: 0; border-radius: 50%; background: #dc2626; }
.table-wrap { overflow-x: auto; }
table.metrics { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13.5px; }
table.metrics th, table.metrics td { padding: 5px 10px; border-bottom: 1px solid var(--border); text-align: right; white-space: nowrap; }
table.metrics thead th { color: #4b5563; font-weight: 600; font-size: 12.5px; background: #f9fafb; }
table.metrics th.group { text-align: center; border-bottom: 2px solid #d1d5db; font-size: 13px; color: #111827; }
table.metrics tbody tr:hover { background: #fafafa; }
table.metrics tbody th { font-weight: 600; }
table.metrics tfoot th, table.metrics tfoot td { border-bottom: 0; border-top: 1px solid #d1d5db; color: #374151; }
table.metrics tfoot tr.micro th, table.metrics tfoot tr.micro td { border-top: 2px solid #9ca3af; font-weight: 600; }
table.metrics .left { text-align: left; }
table.metrics td.missing { color: #c0c4cc; }
td.bar { background: linear-gradient(to right, rgba(124, 58, 237, 0.15) var(--v), transparent var(--v)); }
td.bar.strong { background: linear-gradient(to right, rgba(124, 58, 237, 0.28) var(--v), transparent var(--v)); }
table.confusion td.c-tp, table.confusion th.c-tp { color: #15803d; }
table.confusion td.c-fp, table.confusion th.c-fp { color: #c2410c; }
table.confusion td.c-fn, table.confusion th.c-fn { color: #b91c1c; }
table.confusion td.c-tn, table.confusion th.c-tn { color: #6b7280; }
table.skipped-list td { white-space: normal; text-align: left; }
table.skipped-list td.num { text-align: right; color: var(--muted); width: 3em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; font-size: 12.5px; }
td code { word-break: break-all; }
pre.config { background: #f9fafb; border: 1px solid var(--border); border-radius: 8px; padding: 12px 14px; overflow: auto; max-height: 640px; margin: 8px 0 0; line-height: 1.45; }
details > summary { cursor: pointer; color: #374151; font-weight: 600; margin-top: 6px; }
.samples { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 14px; margin-top: 10px; }
figure.sample { border: 1px solid var(--border); border-top: 4px solid var(--ok); border-radius: 10px; overflow: hidden; background: #fff; }
figure.sample.bad { border-top-color: var(--bad); }
figure.sample .cams { display: flex; flex-wrap: wrap; gap: 4px; padding: 4px; background: #111; }
figure.sample .cams figure.cam { flex: 1 1 30%; max-width: 33%; }
figure.sample .cams img { width: 100%; height: auto; display: block; image-rendering: auto; }
figure.sample .cams figcaption { color: #e5e7eb; font-size: 11px; text-align: center; }
figure.sample .img { background: #000; aspect-ratio: 1 / 1; display: flex; align-items: center; justify-content: center; }
figure.sample img { display: block; width: 100%; height: 100%; object-fit: contain; }
figure.sample figcaption { padding: 7px 9px 9px; font-size: 12.5px; }
.ids { display: flex; justify-content: space-between; gap: 6px; font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 11.5px; }
.ids .patient { font-weight: 600; word-break: break-all; }
.ids .slice { color: var(--muted); word-break: break-all; text-align: right; }
.status { display: flex; justify-content: space-between; margin-top: 3px; color: var(--muted); }
.verdict { font-weight: 600; }
.verdict.ok { color: var(--ok); }
.verdict.bad { color: var(--bad); }
ul.chips { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 4px; }
.chip { position: relative; display: inline-flex; gap: 5px; align-items: baseline; padding: 1px 8px; border-radius: 999px; font-size: 12px; border: 1.5px solid transparent; line-height: 1.5; }
.chip .p { font-variant-numeric: tabular-nums; opacity: 0.85; font-size: 11px; }
.chip.tp { background: var(--ok-bg); color: var(--ok-fg); border-color: #4ade80; font-weight: 600; }
.chip.fn { background: var(--bad); color: #fff; border-color: var(--bad); font-weight: 600; }
.chip.fp { background: #fff; color: var(--bad-fg); border: 1.5px dashed var(--bad); font-weight: 600; }
.chip.tn { background: #f3f4f6; color: #9ca3af; }
.legend-row { color: var(--muted); font-size: 12.5px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.legend-row .chip { margin-left: 8px; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.empty { color: var(--muted); font-style: italic; padding: 20px; text-align: center; border: 1px dashed var(--border); border-radius: 8px; }
p.ok { color: var(--ok); }
.warn { background: var(--warn-bg); color: var(--warn); border: 1px solid #fed7aa; border-radius: 8px; padding: 8px 12px; }
.note { color: var(--muted); font-size: 12.5px; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px 20px; margin: 8px 0 0; }
dl.facts dt { color: var(--muted); font-size: 12px; }
dl.facts dd { margin: 0; font-weight: 500; word-break: break-word; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
@media print { body, html { background: #fff; } section { break-inside: avoid; } nav.toc { display: none; } }
`;
