// Admin 5: the partners; each opens its page's Marketing tab (views/marketing.js).
import { db, run } from '../api.js';
import { t } from '../i18n/nl.js';
import { fmt, h, partnerColumn, section, table } from '../ui.js';

export async function render(root) {
  const rows = await run(db.from('partner_marketing_profiles').select('*').order('company_name'));
  root.replaceChildren(h('h1', {}, t.partners.title), section(t.partners.title, table([
    partnerColumn(t.partners.company),
    { label: t.partners.mode, key: 'marketing_mode', format: fmt.status },
    { label: t.partners.auto, key: 'auto_marketing_enabled', format: fmt.bool },
    { label: t.partners.budget, key: 'monthly_marketing_budget', format: fmt.money },
  ], rows)));
}
