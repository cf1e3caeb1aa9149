-- One policy per rule (issue 14): where every command a table's grants allow follows the same rule,
-- sql/90 and sql/94 now state it once, as one policy `for all` (`<table>_all_admin`,
-- `<table>_all_own_or_admin`); the grants, not the policies, say which commands and columns. The
-- per-command policies they replace go here, once: left beside the new ones they would allow nothing
-- more (permissive policies add up to the same rule), but every row would be checked twice. sql/ makes
-- the new policies in the same migrate; until then (seconds, once) these tables show signed-in callers
-- no rows and take no writes from them (RLS with no policy refuses), never more than before.
-- Lead Flow's and partner marketing's own tables only; no platform table is touched.
-- depends: 0031_earlier_policy_names 0008_partner_marketing 0003_lead_flow_tables

drop policy if exists lead_flow_settings_select_admin on public.lead_flow_settings;
drop policy if exists lead_flow_settings_insert_admin on public.lead_flow_settings;
drop policy if exists lead_flow_settings_update_admin on public.lead_flow_settings;
drop policy if exists lead_flow_settings_delete_admin on public.lead_flow_settings;

drop policy if exists lead_segment_campaigns_select_admin on public.lead_segment_campaigns;
drop policy if exists lead_segment_campaigns_insert_admin on public.lead_segment_campaigns;
drop policy if exists lead_segment_campaigns_update_admin on public.lead_segment_campaigns;
drop policy if exists lead_segment_campaigns_delete_admin on public.lead_segment_campaigns;

drop policy if exists lead_segment_target_overrides_select_admin on public.lead_segment_target_overrides;
drop policy if exists lead_segment_target_overrides_insert_admin on public.lead_segment_target_overrides;
drop policy if exists lead_segment_target_overrides_update_admin on public.lead_segment_target_overrides;
drop policy if exists lead_segment_target_overrides_delete_admin on public.lead_segment_target_overrides;

drop policy if exists partner_segments_select_own_or_admin on public.partner_segments;
drop policy if exists partner_segments_insert_own_or_admin on public.partner_segments;
drop policy if exists partner_segments_update_own_or_admin on public.partner_segments;

drop policy if exists partner_landing_pages_select_own_or_admin on public.partner_landing_pages;
drop policy if exists partner_landing_pages_insert_own_or_admin on public.partner_landing_pages;
drop policy if exists partner_landing_pages_update_own_or_admin on public.partner_landing_pages;

drop policy if exists partner_marketing_campaigns_select_own_or_admin on public.partner_marketing_campaigns;
drop policy if exists partner_marketing_campaigns_insert_own_or_admin on public.partner_marketing_campaigns;
drop policy if exists partner_marketing_campaigns_update_own_or_admin on public.partner_marketing_campaigns;
