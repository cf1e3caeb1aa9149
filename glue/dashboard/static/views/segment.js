// Admin 2: one segment: leads and budget per day, capacity, plans, budget changes, overrides, marketing.
import { db, rpc, run } from '../api.js';
import { t } from '../i18n/nl.js';
import {
  act, addDays, amsterdamYesterday, chart, dateColumn, daysOption, fmt, h, link, notice, partnerColumn, section, table,
} from '../ui.js';

// The mean of the (up to) 7 days ending at day i that have stats; null when none has.
function mean7(values, i) {
  const known = values.slice(Math.max(0, i - 6), i + 1).filter((v) => v !== null);
  return known.length ? Math.round((known.reduce((a, b) => a + b, 0) / known.length) * 10) / 10 : null;
}

function overridesSection(segmentId) {
  const list = h('div', { id: 'overrides-list' });
  const out = h('div', { id: 'override-message' });
  const today = amsterdamYesterday();
  async function refresh() {
    const rows = await run(db.from('lead_segment_target_overrides').select('*')
      .eq('segment_id', segmentId).order('valid_from', { ascending: false }));
    list.replaceChildren(table([
      { label: t.segment.from, key: 'valid_from', format: fmt.date },
      { label: t.segment.to, key: 'valid_to', format: fmt.date },
      { label: t.segment.perDay, key: 'target_leads_per_day', format: fmt.num },
      { label: t.common.reason, key: 'reason' },
      { label: '', key: 'id', format: (id) => h('button', {
        type: 'button', class: 'danger', 'aria-label': `${t.common.remove} ${id}`,
        onclick: async () => {
          if (await act(out, () => rpc('remove_target_override', { id }), t.segment.overrideRemoved)) await refresh();
        },
      }, t.common.remove) },
    ], rows));
  }
  const form = h('form', { class: 'inline', id: 'override-form' },
    h('label', {}, t.segment.from, h('input', { type: 'date', name: 'valid_from', value: addDays(today, 2), required: true })),
    h('label', {}, t.segment.to, h('input', { type: 'date', name: 'valid_to', value: addDays(today, 8), required: true })),
    h('label', {}, t.segment.perDay, h('input', { type: 'number', name: 'target', value: '10', step: '1' })),
    h('label', {}, t.common.reason, h('input', { type: 'text', name: 'reason', size: 30 })),
    h('button', { type: 'submit' }, t.common.add));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const args = {
      segment_id: segmentId, valid_from: form.valid_from.value, valid_to: form.valid_to.value,
      target_leads_per_day: form.target.value === '' ? null : Number(form.target.value), reason: form.reason.value,
    };
    if (await act(out, () => rpc('set_target_override', args), t.segment.overrideAdded)) await refresh();
  });
  return { element: section(t.segment.overrides, form, out, list), refresh };
}

export async function render(root, ctx) {
  const id = ctx.params[0];
  const seg = await run(db.from('lead_segment_overview').select('*').eq('id', id));
  if (!seg.length) throw new Error(t.errors.notFound);
  const s = seg[0];
  const end = s.plan_date || amsterdamYesterday();
  const start = addDays(end, -29);
  const [stats, plans, capacity, capacityPartners, changes, marketing] = await Promise.all([
    rpc('get_segment_stats', { segment_id: id, start_date: start, end_date: end }, { get: true }),
    rpc('get_segment_plans', { segment_id: id, start_date: start, end_date: end }, { get: true }),
    rpc('get_segment_capacity', { segment_id: id }, { get: true }),
    rpc('get_segment_capacity_partners', { segment_id: id }, { get: true }),
    run(db.from('channel_orchestration_log').select('*').eq('segment_id', id).order('date', { ascending: false }).limit(60)),
    run(db.from('segment_partner_marketing').select('*').eq('segment_id', id)),
  ]);
  const byDate = new Map(plans.map((p) => [p.date, p]));
  const statsByDate = new Map(stats.map((r) => [r.date, r]));
  const dates = [];
  for (let d = start; d <= end; d = addDays(d, 1)) dates.push(d);
  const leads = dates.map((d) => (statsByDate.get(d) ? statsByDate.get(d).leads_generated : null));
  const days = dates.map((d, i) => ({
    date: d, leads: leads[i], mean: mean7(leads, i),
    target: byDate.get(d) ? byDate.get(d).target_leads_per_day : null,
    budget: byDate.get(d) ? byDate.get(d).actual_daily_budget_google_ads : null,
    next: byDate.get(d) ? byDate.get(d).target_daily_budget_google_ads : null,
    spend: statsByDate.get(d) ? statsByDate.get(d).google_ads_spend : null,
  }));
  const leadsChart = chart(t.segment.leadsChart, daysOption(dates, [
    { type: 'bar', name: t.segment.leadsPerDay, data: days.map((d) => d.leads) },
    { type: 'line', name: t.segment.mean7, data: days.map((d) => d.mean), smooth: true },
    { type: 'line', name: t.segment.target, data: days.map((d) => d.target), step: 'middle' },
  ]), [
    dateColumn,
    { label: t.segment.leadsPerDay, key: 'leads', format: fmt.num },
    { label: t.segment.mean7, key: 'mean', format: fmt.num },
    { label: t.segment.target, key: 'target', format: fmt.num },
  ], days);
  const moneyChart = chart(t.segment.budgetChart, daysOption(dates, [
    { type: 'line', name: t.segment.budget, data: days.map((d) => d.budget), step: 'middle' },
    { type: 'bar', name: t.segment.spend, data: days.map((d) => d.spend) },
  ]), [
    dateColumn,
    { label: t.segment.budget, key: 'budget', format: fmt.money },
    { label: t.segment.nextBudget, key: 'next', format: fmt.money },
    { label: t.segment.spend, key: 'spend', format: fmt.money },
  ], days);
  const cap = Array.isArray(capacity) ? capacity[0] : capacity;
  const kpis = h('div', { class: 'kpis' }, [
    [t.segment.capacityPartners, cap.capacity_partners], [t.segment.capacityTotal, cap.capacity_total_leads],
    [t.segment.openLeads, cap.current_open_leads], [t.segment.available, cap.available_leads],
  ].map(([label, v]) => h('div', { class: 'kpi' }, label, h('b', {}, fmt.num(v)))));
  const overrides = overridesSection(id);
  await overrides.refresh();
  root.replaceChildren(
    h('p', {}, link('#/overview', t.segment.back)),
    h('h1', {}, `${t.segment.title} ${s.code}`),
    h('div', { class: 'grid2' }, section(t.segment.leadsChart, leadsChart), section(t.segment.budgetChart, moneyChart)),
    section(t.segment.capacity, kpis, table([
      partnerColumn(t.segment.company),
      { label: t.segment.maxOpen, key: 'max_open_leads', format: fmt.num },
      { label: t.segment.openLeads, key: 'open_leads', format: fmt.num },
    ], capacityPartners)),
    overrides.element,
    section(t.segment.plans, table([
      dateColumn,
      { label: t.segment.target, key: 'target_leads_per_day', format: fmt.num },
      { label: t.segment.source, key: 'target_source', format: fmt.status },
      { label: t.segment.actual, key: 'actual_leads', format: fmt.num },
      { label: t.segment.gap, key: 'lead_gap', format: fmt.num },
      { label: t.segment.gapPct, key: 'lead_gap_percentage', format: fmt.pct },
      { label: t.segment.nextBudget, key: 'target_daily_budget_google_ads', format: fmt.money },
      { label: t.common.status, key: 'orchestration_status', format: fmt.status },
      { label: t.common.reason, key: 'orchestration_reason' },
    ], [...plans].reverse())),
    section(t.segment.changes, table([
      dateColumn,
      { label: t.common.channel, key: 'channel' },
      { label: t.segment.action, key: 'action_type', format: fmt.status },
      { label: t.segment.oldValue, key: 'old_value', format: fmt.money },
      { label: t.segment.newValue, key: 'new_value', format: fmt.money },
      { label: t.segment.applied, key: 'applied_value', format: fmt.money },
      { label: t.segment.outcome, key: 'status', format: fmt.status },
      { label: t.common.reason, value: (r) => [r.reason, r.error_message].filter(Boolean).join(' — ') },
    ], changes)),
    section(t.segment.marketing, marketing.length ? table([
      partnerColumn(t.segment.company),
      { label: t.segment.mode, key: 'marketing_mode', format: fmt.status },
      { label: t.segment.linked, key: 'is_linked', format: fmt.bool },
      { label: t.segment.gapDate, key: 'gap_date', format: fmt.date },
      { label: t.segment.gap, key: 'lead_gap', format: fmt.num },
      { label: t.segment.campaigns, key: 'active_campaigns', format: fmt.num },
      { label: t.segment.pending, key: 'pending_recommendations', format: fmt.num },
    ], marketing) : notice(t.common.none)),
  );
}
