// Admin 1: the heatmap of gap % per branch x province, totals per day, open alerts.
import { db, rpc, run } from '../api.js';
import { t } from '../i18n/nl.js';
import { addDays, amsterdamYesterday, chart, dateColumn, daysOption, fmt, h, link, notice, section, table } from '../ui.js';

const GAP_COLORS = ['#2166ac', '#92c5de', '#f7f7f7', '#f4a582', '#b2182b'];

function heatmapOption(cells, branches, regions, measure) {
  return {
    animation: false,
    tooltip: {
      formatter: (p) => `${cells[p.dataIndex].code}<br>${t.overview.branch}: ${branches[p.value[1]]}<br>`
        + `${t.overview.province}: ${regions[p.value[0]]}<br>${t.overview.gap}: ${fmt.pct(p.value[2] === '-' ? null : p.value[2])}`,
    },
    grid: { left: 130, right: 20, top: 10, bottom: 120 },
    xAxis: { type: 'category', data: regions, axisLabel: { rotate: 40 } },
    yAxis: { type: 'category', data: branches },
    visualMap: {
      min: -100, max: 100, calculable: true, orient: 'horizontal', left: 'center', bottom: 0,
      inRange: { color: GAP_COLORS }, text: [t.overview.scaleShort, t.overview.scaleSurplus],
    },
    series: [{
      type: 'heatmap', name: t.overview.heatmap, progressive: 0,
      // Plain [x, y, gap] triples (10,000 of them draw in one pass); cells[i] is the segment of data[i].
      data: cells.map((c) => [c.x, c.y, c[measure] ?? '-']),
      emphasis: { itemStyle: { borderColor: '#000', borderWidth: 1 } },
    }],
  };
}

function heatmapSection(rows) {
  const branches = [...new Set(rows.map((r) => r.branch))].sort();
  const regions = [...new Set(rows.map((r) => r.region))].sort();
  const bi = new Map(branches.map((b, i) => [b, i]));
  const ri = new Map(regions.map((r, i) => [r, i]));
  const cells = rows.map((r) => ({
    ...r, x: ri.get(r.region), y: bi.get(r.branch),
    last: r.gap_percentage_last_night === null ? null : Number(r.gap_percentage_last_night),
    week: r.gap_percentage_7_days === null ? null : Number(r.gap_percentage_7_days),
  }));
  const columns = [
    { label: t.common.segment, key: 'code', format: (v, r) => link(`#/segment/${r.segment_id}`, v) },
    { label: t.overview.branch, key: 'branch' },
    { label: t.overview.province, key: 'region' },
    { label: t.overview.gapLast, key: 'gap_percentage_last_night', format: fmt.pct },
    { label: t.overview.gap7, key: 'gap_percentage_7_days', format: fmt.pct },
    { label: t.overview.target7, key: 'target_leads_7_days', format: fmt.num },
    { label: t.overview.actual7, key: 'actual_leads_7_days', format: fmt.num },
  ];
  window.leadstroom.heatmapSegments = cells.map((c) => c.segment_id);
  const height = Math.min(Math.max(260, branches.length * 18 + 110), 760);
  const buttons = [['last', t.overview.lastNight], ['week', t.overview.last7]].map(([measure, label]) =>
    h('button', { type: 'button', 'aria-pressed': measure === 'last' ? 'true' : 'false', dataset: { measure } }, label));
  const onInit = (instance) => {
    instance.on('click', (p) => { if (cells[p.dataIndex]) location.hash = `#/segment/${cells[p.dataIndex].segment_id}`; });
    instance.on('finished', () => {
      if (!window.leadstroom.overviewDrawnAt) window.leadstroom.overviewDrawnAt = performance.now();
    });
    for (const b of buttons) {
      b.addEventListener('click', () => {
        buttons.forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
        instance.setOption({ series: [{ data: heatmapOption(cells, branches, regions, b.dataset.measure).series[0].data }] });
      });
    }
  };
  const block = chart(t.overview.heatmap, heatmapOption(cells, branches, regions, 'last'), columns, () => rows, { height, onInit });
  const night = rows.length ? rows[0].last_night : null;
  return section(t.overview.heatmap,
    h('p', { class: 'empty' }, `${t.overview.heatmapHelp} ${t.overview.plannedNight}: ${fmt.date(night)}.`),
    h('div', { class: 'toggle', role: 'group' }, buttons), block);
}

function totalsSections(days) {
  const dates = days.map((d) => d.date);
  const leadsOption = daysOption(dates, [
    { type: 'bar', name: t.overview.leads, data: days.map((d) => d.actual_leads) },
    { type: 'line', name: t.overview.target, data: days.map((d) => d.target_leads) },
  ]);
  const moneyOption = daysOption(dates, [
    { type: 'bar', name: t.overview.spend, data: days.map((d) => Number(d.google_ads_spend)) },
    { type: 'line', name: t.overview.budget, data: days.map((d) => (d.daily_budget === null ? null : Number(d.daily_budget))) },
  ], { left: 60 });
  const cols = [
    dateColumn,
    { label: t.overview.segments, key: 'segments', format: fmt.num },
    { label: t.overview.leads, key: 'actual_leads', format: fmt.num },
    { label: t.overview.target, key: 'target_leads', format: fmt.num },
    { label: t.overview.spend, key: 'google_ads_spend', format: fmt.money },
    { label: t.overview.budget, key: 'daily_budget', format: fmt.money },
  ];
  return h('div', { class: 'grid2' },
    section(t.overview.totalsLeads, chart(t.overview.totalsLeads, leadsOption, cols, days)),
    section(t.overview.totalsMoney, chart(t.overview.totalsMoney, moneyOption, cols, days)));
}

const ALERT_COLUMNS = (codes) => [
  dateColumn,
  { label: t.overview.severity, key: 'severity' },
  { label: t.overview.kind, key: 'kind' },
  { label: t.common.segment, key: 'segment_id', format: (v) => (v ? link(`#/segment/${v}`, codes.get(v) || v) : '–') },
  { label: t.overview.message, key: 'message' },
];

export async function render(root) {
  window.leadstroom = window.leadstroom || {};
  Object.assign(window.leadstroom, { overviewDrawnAt: null, alertsAt: null });
  // All three at once; the alerts (the slowest on a large marketplace) fill their section when they come.
  const yesterday = amsterdamYesterday();
  // Two weeks of totals: each day sums every segment's plan and stats (10,000 segments: 280,000 rows).
  const totals = (end) => rpc('get_lead_flow_daily_totals', { start_date: addDays(end, -13), end_date: end }, { get: true });
  const alerts = run(db.from('lead_flow_alerts').select('*').order('date', { ascending: false }).limit(200));
  alerts.catch(() => {}); // shown in its section below
  const [heat, recent] = await Promise.all([
    run(db.from('lead_flow_gap_heatmap')
      .select('segment_id,code,branch,region,last_night,gap_percentage_last_night,gap_percentage_7_days,target_leads_7_days,actual_leads_7_days')),
    totals(yesterday),
  ]);
  const last = heat.length && heat[0].last_night ? heat[0].last_night : yesterday;
  // A marketplace whose last planned night lies further back: the two weeks up to that night.
  const days = last < addDays(yesterday, -13) ? await totals(last) : recent;
  const codes = new Map(heat.map((r) => [r.segment_id, r.code]));
  const alertsBox = h('div', { id: 'alerts' }, h('p', { class: 'empty' }, t.loading));
  const parts = [h('h1', {}, t.overview.title)];
  if (!heat.some((r) => r.last_night)) parts.push(notice(t.overview.noPlans));
  parts.push(heatmapSection(heat), totalsSections(days), section(t.overview.alerts, alertsBox));
  root.replaceChildren(...parts);
  alerts.then(
    (rows) => alertsBox.replaceChildren(table(ALERT_COLUMNS(codes), rows)),
    (err) => alertsBox.replaceChildren(notice(err.message, 'error')),
  ).finally(() => { window.leadstroom.alertsAt = performance.now(); });
}
