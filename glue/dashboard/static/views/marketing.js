// The Marketing tab: the partner portal's (its own rows) and the admin's partner page (any partner's).
// RLS decides the rows; the partner id only narrows an admin's view to one partner.
import { db, rpc, run } from '../api.js';
import { t } from '../i18n/nl.js';
import { act, chart, dateColumn, daysOption, fmt, h, link, notice, section, table } from '../ui.js';

const m = t.marketing;

function profileSection(profile, partnerId, refresh) {
  const out = h('div');
  const form = h('form', { class: 'inline', id: 'profile-form' },
    h('label', {}, m.mode, h('select', { name: 'mode' }, ['leads_only', 'hybrid', 'full_marketing'].map((v) =>
      h('option', { value: v, selected: profile.marketing_mode === v }, fmt.status(v))))),
    h('label', {}, m.auto, h('input', { type: 'checkbox', name: 'auto', checked: !!profile.auto_marketing_enabled })),
    h('label', {}, m.monthly, h('input', { type: 'number', name: 'monthly', step: '0.01', value: profile.monthly_marketing_budget ?? '' })),
    h('label', {}, m.channels, h('input', { type: 'text', name: 'channels', value: (profile.preferred_channels || []).join(', ') })),
    h('label', {}, m.brandColor, h('input', { type: 'text', name: 'color', size: 8, value: profile.brand_color ?? '' })),
    h('label', {}, m.tone, h('input', { type: 'text', name: 'tone', value: profile.tone_of_voice ?? '' })),
    h('button', { type: 'submit' }, t.common.save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await act(out, () => rpc('update_marketing_profile', {
      partner_id: partnerId, marketing_mode: form.mode.value, auto_marketing_enabled: form.auto.checked,
      monthly_marketing_budget: form.monthly.value === '' ? null : Number(form.monthly.value),
      preferred_channels: form.channels.value.split(',').map((s) => s.trim()).filter(Boolean),
      brand_color: form.color.value, tone_of_voice: form.tone.value,
    }), t.common.saved);
    if (ok) await refresh(t.common.saved);
  });
  return section(m.profile, form, out);
}

function pagesSection(pages, segments, partnerId, refresh) {
  const out = h('div', { id: 'pages-message' });
  const segmentOptions = segments.map((s) => h('option', { value: s.id }, s.code));
  const form = h('form', { class: 'inline', id: 'page-form' },
    h('label', {}, t.common.segment, h('select', { name: 'segment' }, segmentOptions)),
    h('label', {}, m.path, h('input', { type: 'text', name: 'path', placeholder: '/mijn-bedrijf/schilder', required: true })),
    h('label', {}, m.pageTitle, h('input', { type: 'text', name: 'title' })),
    h('button', { type: 'submit' }, m.create));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await act(out, () => run(db.from('partner_landing_pages').insert({
      partner_id: partnerId, segment_id: form.segment.value || null, path: form.path.value.trim(),
      title: form.title.value || null, status: 'draft',
    })), t.common.saved);
    if (ok) await refresh(t.common.saved);
  });
  const rows = pages.map((p) => {
    const draft = p.status === 'draft';
    const title = h('input', { type: 'text', value: p.title ?? '', 'aria-label': `${m.pageTitle} ${p.path}`, disabled: !draft });
    const subtitle = h('input', { type: 'text', value: p.subtitle ?? '', 'aria-label': `${m.subtitle} ${p.path}`, disabled: !draft });
    const actions = draft ? [
      h('button', { type: 'button', class: 'secondary', onclick: async () => {
        if (await act(out, () => run(db.from('partner_landing_pages').update({ title: title.value || null, subtitle: subtitle.value || null }).eq('id', p.id)), t.common.saved)) await refresh(t.common.saved);
      } }, t.common.save), ' ',
      h('button', { type: 'button', onclick: async () => {
        if (await act(out, () => rpc('publish_landing_page', { id: p.id }), m.published)) await refresh(m.published);
      } }, m.publish),
    ] : [];
    return { ...p, titleField: title, subtitleField: subtitle, actions: h('span', {}, actions) };
  });
  return section(m.pages, form, out, table([
    { label: m.path, key: 'path' },
    { label: t.common.status, key: 'status', format: fmt.status },
    { label: m.pageTitle, key: 'titleField' },
    { label: m.subtitle, key: 'subtitleField' },
    { label: '', key: 'actions' },
  ], rows));
}

function recommendationsSection(recs, outcomes, codes, campaignNames, refresh) {
  const out = h('div', { id: 'recommendations-message' });
  const byRec = new Map(outcomes.map((o) => [o.recommendation_id, o]));
  // marketing_recommendation_outcomes: waiting, pushed, failed, conflict, applied, approved, rejected.
  const outcomeText = (r) => {
    const o = byRec.get(r.id);
    if (!o) return '–';
    const text = m.outcomes[o.outcome] || o.outcome;
    return o.error_message ? `${text}: ${o.error_message}` : text;
  };
  return section(m.recommendations, out, table([
    { label: m.type, key: 'type', format: (v) => m.types[v] || v },
    { label: t.common.segment, key: 'segment_id', format: (v) => codes.get(v) || '–' },
    { label: m.campaign, key: 'campaign_id', format: (v) => (v ? campaignNames.get(v) || v : '–') },
    { label: t.common.reason, key: 'reason' },
    { label: t.common.status, key: 'status', format: fmt.status },
    { label: m.outcome, value: outcomeText, class: 'outcome' },
    { label: m.expires, key: 'expires_at', format: fmt.time },
    { label: '', key: 'id', format: (id, r) => (r.status !== 'pending' ? '' : h('span', {},
      h('button', { type: 'button', dataset: { approve: id }, onclick: async () => {
        if (await act(out, () => rpc('approve_marketing_recommendation', { id }), m.approved)) await refresh(m.approved);
      } }, m.approve), ' ',
      h('button', { type: 'button', class: 'danger', dataset: { reject: id }, onclick: async () => {
        if (await act(out, () => rpc('reject_marketing_recommendation', { id }), m.rejected)) await refresh(m.rejected);
      } }, m.reject))) },
  ], recs));
}

export async function render(root, ctx) {
  const partnerId = ctx.partnerId;
  const redraw = (flash) => render(root, { ...ctx, flash });
  const [profiles, gaps, campaigns, pages, recs, outcomes, links] = await Promise.all([
    run(db.from('partner_marketing_profiles').select('*').eq('partner_id', partnerId)),
    run(db.from('partner_lead_gaps').select('*').eq('partner_id', partnerId).order('date', { ascending: false }).limit(2000)),
    run(db.from('partner_marketing_campaigns').select('*').eq('partner_id', partnerId).order('created_at')),
    run(db.from('partner_landing_pages').select('*').eq('partner_id', partnerId).order('created_at')),
    run(db.from('ai_marketing_recommendations').select('*').eq('partner_id', partnerId).order('created_at', { ascending: false }).limit(100)),
    run(db.from('marketing_recommendation_outcomes').select('recommendation_id,outcome,error_message,live_value')
      .eq('partner_id', partnerId)),
    run(db.from('partner_segments').select('segment_id,is_primary,priority,is_active').eq('partner_id', partnerId)),
  ]);
  if (!profiles.length) throw new Error(t.errors.notFound);
  const profile = profiles[0];
  const segmentIds = [...new Set([...gaps.map((g) => g.segment_id), ...links.map((l) => l.segment_id),
    ...campaigns.map((c) => c.segment_id), ...recs.map((r) => r.segment_id)].filter(Boolean))];
  const segments = segmentIds.length
    ? await run(db.from('lead_segments').select('id,code').in('id', segmentIds).order('code')) : [];
  const codes = new Map(segments.map((s) => [s.id, s.code]));
  const lastDate = gaps.length ? gaps[0].date : null;
  const latest = gaps.filter((g) => g.date === lastDate);
  const perDay = new Map();
  for (const g of gaps) {
    const d = perDay.get(g.date) || { date: g.date, platform: 0, own: 0, target: 0 };
    d.platform += g.platform_leads; d.own += g.own_campaign_leads; d.target += Number(g.target_leads);
    perDay.set(g.date, d);
  }
  const days = [...perDay.values()].sort((a, b) => (a.date < b.date ? -1 : 1)).slice(-30);
  const flow = chart(m.flowChart, daysOption(days.map((d) => d.date), [
    { type: 'bar', stack: 'leads', name: m.platformLeads, data: days.map((d) => d.platform) },
    { type: 'bar', stack: 'leads', name: m.ownLeads, data: days.map((d) => d.own) },
    { type: 'line', name: m.target, data: days.map((d) => Math.round(d.target * 10) / 10) },
  ]), [
    dateColumn,
    { label: m.platformLeads, key: 'platform', format: fmt.num },
    { label: m.ownLeads, key: 'own', format: fmt.num },
    { label: m.target, key: 'target', format: fmt.num },
  ], days);
  root.replaceChildren(
    ctx.admin ? h('p', {}, link('#/partners', `← ${t.partners.title}`)) : '',
    h('h1', {}, `${m.title}${ctx.admin ? ` — ${profile.company_name || partnerId}` : ''}`),
    ctx.flash ? notice(ctx.flash, 'ok') : '',
    section(m.segments, latest.length ? table([
      { label: t.common.segment, key: 'segment_id', format: (v) => (ctx.admin ? link(`#/segment/${v}`, codes.get(v) || v) : codes.get(v) || v) },
      dateColumn,
      { label: m.target, key: 'target_leads', format: fmt.num },
      { label: m.platformLeads, key: 'platform_leads', format: fmt.num },
      { label: m.ownLeads, key: 'own_campaign_leads', format: fmt.num },
      { label: m.gap, key: 'lead_gap', format: fmt.num },
    ], latest) : notice(t.common.none)),
    section(m.flowChart, flow),
    recommendationsSection(recs, outcomes, codes, new Map(campaigns.map((c) => [c.id, c.name || c.external_campaign_id])), redraw),
    section(m.campaigns, table([
      { label: m.name, key: 'name' },
      { label: m.channel, key: 'channel' },
      { label: t.common.segment, key: 'segment_id', format: (v) => codes.get(v) || '–' },
      { label: t.common.status, key: 'status', format: fmt.status },
      { label: m.dailyBudget, key: 'daily_budget', format: fmt.money },
      { label: m.spend, key: 'total_spend', format: fmt.money },
      { label: m.leads, key: 'total_leads', format: fmt.num },
    ], campaigns)),
    pagesSection(pages, segments, partnerId, redraw),
    profileSection(profile, partnerId, redraw),
  );
}
