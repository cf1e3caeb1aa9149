// Admin 4: the controller, the global and per-segment pause (emergency stop), the limits. Admins edit
// within the definitions' ranges; the database checks them again and its message is shown as it is.
import { db, run } from '../api.js';
import { t } from '../i18n/nl.js';
import { act, fmt, h, link, section, table } from '../ui.js';

function input(def, value) {
  if (def.value_type === 'boolean') {
    return h('input', { type: 'checkbox', name: def.key, checked: value === true, 'aria-label': def.key });
  }
  if (def.allowed_values) {
    return h('select', { name: def.key, 'aria-label': def.key },
      def.allowed_values.map((v) => h('option', { value: v, selected: v === value }, v)));
  }
  if (def.value_type === 'numeric') {
    return h('input', { type: 'number', name: def.key, value: value ?? '', step: 'any', min: def.min_value ?? null,
      max: def.max_value ?? null, 'aria-label': def.key, style: 'width:8rem' });
  }
  return h('input', { type: 'text', name: def.key, value: value ?? '', 'aria-label': def.key });
}

function read(def, el) {
  if (def.value_type === 'boolean') return el.checked;
  if (def.value_type === 'numeric') return el.value === '' ? null : Number(el.value);
  return el.value;
}

async function save(def, value) {
  const updated = await run(db.from('lead_flow_settings').update({ value }).eq('key', def.key).is('segment_id', null).select('id'));
  if (!updated.length) await run(db.from('lead_flow_settings').insert({ key: def.key, value }));
}

function settingRow(def, value) {
  const field = input(def, value);
  const out = h('span');
  const button = h('button', { type: 'button', class: 'secondary', onclick: () => act(out, () => save(def, read(def, field)), t.common.saved) }, t.common.save);
  const range = def.allowed_values ? def.allowed_values.join(', ')
    : def.min_value !== null || def.max_value !== null ? `${fmt.num(def.min_value)} – ${fmt.num(def.max_value)}` : '';
  return { key: def.key, field: h('span', {}, field, ' ', button, out), range, description: def.description };
}

async function segmentPauses() {
  const out = h('div');
  const list = h('div');
  async function refresh() {
    const rows = await run(db.from('lead_flow_settings').select('id,segment_id,value,lead_segments(code)')
      .eq('key', 'paused').not('segment_id', 'is', null));
    list.replaceChildren(table([
      { label: t.common.segment, value: (r) => r.lead_segments?.code, format: (v, r) => link(`#/segment/${r.segment_id}`, v) },
      { label: t.settings.globalPause, key: 'value', format: fmt.bool },
      { label: '', key: 'id', format: (id) => h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (await act(out, () => run(db.from('lead_flow_settings').delete().eq('id', id)), t.common.saved)) await refresh();
      } }, t.common.remove) },
    ], rows));
  }
  const form = h('form', { class: 'inline' },
    h('label', {}, t.settings.segmentCode, h('input', { type: 'text', name: 'code', required: true, placeholder: 'schilder_utrecht' })),
    h('button', { type: 'submit' }, t.settings.pause));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await act(out, async () => {
      const seg = await run(db.from('lead_segments').select('id').eq('code', form.code.value.trim()));
      if (!seg.length) throw new Error(`${t.settings.unknownSegment}: ${form.code.value}`);
      await run(db.from('lead_flow_settings').upsert({ key: 'paused', segment_id: seg[0].id, value: true }, { onConflict: 'key,segment_id' }));
    }, t.common.saved);
    if (ok) await refresh();
  });
  await refresh();
  return section(t.settings.segmentPauses, form, out, list);
}

export async function render(root) {
  const [defs, values] = await Promise.all([
    run(db.from('lead_flow_setting_definitions').select('*').order('key')),
    run(db.from('lead_flow_settings').select('key,value').is('segment_id', null)),
  ]);
  const current = new Map(values.map((v) => [v.key, v.value]));
  const rows = defs.map((d) => settingRow(d, current.has(d.key) ? current.get(d.key) : d.default_value));
  const pick = (keys) => rows.filter((r) => keys.includes(r.key));
  const cols = [
    { label: t.settings.key, key: 'key' },
    { label: t.settings.value, key: 'field' },
    { label: t.settings.range, key: 'range' },
    { label: t.settings.description, key: 'description' },
  ];
  root.replaceChildren(
    h('h1', {}, t.settings.title),
    section(t.settings.emergency, table(cols, pick(['paused']))),
    await segmentPauses(),
    section(t.settings.controller, table(cols, pick(['controller']))),
    section(t.settings.limits, table(cols, rows.filter((r) => !['paused', 'controller'].includes(r.key)))),
  );
}
