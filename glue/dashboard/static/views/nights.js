// Admin 3: orchestration status per night with its problems; re-run a night.
import { db, rpc, run } from '../api.js';
import { t } from '../i18n/nl.js';
import { act, amsterdamYesterday, chart, dateColumn, daysOption, fmt, h, link, section, table } from '../ui.js';

export async function render(root) {
  const nights = await run(db.from('orchestration_status').select('*').order('date', { ascending: false }).limit(30));
  const ordered = [...nights].reverse();
  const kinds = [['succeeded', t.nights.succeeded], ['failed', t.nights.failed], ['conflicts', t.nights.conflicts],
    ['pending', t.nights.pending], ['superseded', t.nights.superseded]];
  const option = daysOption(ordered.map((n) => n.date),
    kinds.map(([key, name]) => ({ type: 'bar', stack: 'changes', name, data: ordered.map((n) => n[key]) })));
  const columns = [
    dateColumn,
    { label: t.nights.changes, key: 'changes', format: fmt.num },
    ...kinds.map(([key, label]) => ({ label, key, format: fmt.num })),
    { label: t.nights.plans, key: 'plans_by_status',
      format: (v) => Object.entries(v || {}).map(([status, n]) => `${fmt.status(status)} ${fmt.num(n)}`).join(', ') },
  ];
  const problems = nights.flatMap((n) => n.problems.map((p) => ({ ...p, date: n.date })));
  const out = h('div', { id: 'rerun-result' });
  const form = h('form', { class: 'inline', id: 'rerun-form' },
    h('label', {}, t.nights.rerunDay, h('input', { type: 'date', name: 'day', value: amsterdamYesterday(), required: true })),
    h('button', { type: 'submit' }, t.nights.rerunButton));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let steps = [];
    await act(out, async () => { steps = await rpc('rerun_lead_flow', { day: form.day.value }); });
    if (steps.length) {
      out.append(table([
        { label: t.nights.step, key: 'step' },
        { label: t.common.status, key: 'status', format: fmt.status },
        { label: t.nights.rows, key: 'rows', format: fmt.num },
        { label: t.nights.duration, key: 'duration_ms', format: fmt.num },
        { label: t.nights.error, key: 'error' },
      ], steps));
    }
  });
  root.replaceChildren(
    h('h1', {}, t.nights.title),
    section(t.nights.chart, chart(t.nights.chart, option, columns, nights)),
    section(t.nights.problems, table([
      dateColumn,
      { label: t.common.segment, key: 'segment_code', format: (v, r) => (r.segment_id ? link(`#/segment/${r.segment_id}`, v) : '–') },
      { label: t.common.channel, key: 'channel' },
      { label: t.common.status, key: 'status', format: fmt.status },
      { label: t.segment.oldValue, key: 'old_value', format: fmt.money },
      { label: t.segment.newValue, key: 'new_value', format: fmt.money },
      { label: t.nights.error, key: 'message' },
    ], problems)),
    section(t.nights.rerun, form, out),
  );
}
