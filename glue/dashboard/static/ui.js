// Small DOM helpers: elements, tables, charts with their numbers as a table, messages, formats.
import { locale, t } from './i18n/nl.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const numberFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const moneyFormat = new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' });

export const fmt = {
  num: (v) => (v === null || v === undefined ? '–' : numberFormat.format(Number(v))),
  money: (v) => (v === null || v === undefined ? '–' : moneyFormat.format(Number(v))),
  pct: (v) => (v === null || v === undefined ? '–' : `${numberFormat.format(Number(v))}%`),
  date: (v) => (v ? new Date(`${String(v).slice(0, 10)}T12:00:00`).toLocaleDateString(locale) : '–'),
  time: (v) => (v ? new Date(v).toLocaleString(locale) : '–'),
  status: (v) => (v ? t.statuses[v] || v : '–'),
  bool: (v) => (v ? t.common.yes : t.common.no),
};

// columns: [{ label, key | value(row), format? (value -> text|Node) }]
// Columns many tables share: the row's date; its partner, by company name, opening the partner's page.
export const dateColumn = { label: t.common.date, key: 'date', format: fmt.date };
export function partnerColumn(label) {
  return { label, key: 'company_name', format: (v, r) => link(`#/partner/${r.partner_id}`, v || r.partner_id) };
}

export function table(columns, rows, { caption } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, t.common.none);
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)));
  const body = rows.map((row) =>
    h('tr', {}, columns.map((c) => {
      const raw = c.value ? c.value(row) : row[c.key];
      const shown = c.format ? c.format(raw, row) : raw;
      return h('td', { class: c.class }, shown === null || shown === undefined ? '–' : shown);
    })),
  );
  return h('table', {}, caption ? h('caption', {}, caption) : null, h('thead', {}, head), h('tbody', {}, body));
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

// A chart drawn by ECharts, with its numbers in a table below (built when opened: 10,000 rows
// cost nothing until someone asks for them).
const charts = new Set();

// onInit(instance) runs before the option is set, so its handlers see the first draw ('finished').
export function chart(name, option, columns, rows, { height = 280, onInit } = {}) {
  const box = h('div', { class: 'chart', style: `height:${height}px`, role: 'img', 'aria-label': name, dataset: { chart: name } });
  const details = h('details', { class: 'numbers' }, h('summary', {}, `${t.common.table}: ${name}`));
  let filled = false;
  details.addEventListener('toggle', () => {
    if (details.open && !filled) {
      details.append(table(columns, typeof rows === 'function' ? rows() : rows));
      filled = true;
    }
  });
  const wrap = h('div', { class: 'chart-wrap' }, box, details);
  requestAnimationFrame(() => {
    const instance = window.echarts.init(box, null, { renderer: 'canvas' });
    charts.add(instance);
    if (onInit) onInit(instance);
    instance.setOption(option);
  });
  return wrap;
}

// A chart of days: `dates` along the x axis, `series` (ECharts series, a value per date) over a value
// axis, their legend on top, the values in the tooltip of a date.
export function daysOption(dates, series, { left = 50 } = {}) {
  return {
    tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left, right: 20, top: 40, bottom: 30 },
    xAxis: { type: 'category', data: dates }, yAxis: { type: 'value' }, series,
  };
}

export function disposeCharts() {
  for (const c of charts) c.dispose();
  charts.clear();
}

window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

export function notice(text, kind = 'info') {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

// Run an action from a button or form; show its outcome (PostgREST's message as it is) in `where`.
export async function act(where, action, okText) {
  where.replaceChildren();
  try {
    await action();
    if (okText) where.append(notice(okText, 'ok'));
    return true;
  } catch (err) {
    where.append(notice(err.message, 'error'));
    return false;
  }
}

export function isoDay(d) {
  const z = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
  return z.toISOString().slice(0, 10);
}

export function addDays(iso, n) {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// Yesterday in Europe/Amsterdam (the last finished day), whatever the browser's zone.
export function amsterdamYesterday() {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam' }).format(new Date());
  return addDays(today, -1);
}

export function link(href, text) {
  return h('a', { href }, text);
}
