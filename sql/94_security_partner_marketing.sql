-- RLS and grants of partner marketing. A partner (lead_flow.is_partner(): sql/05_callers) reads and
-- writes only its own rows -- its campaigns' budgets, spend and cost per lead included, no other
-- partner's -- admins all, a signed-in account without a partner profile nothing, anon nothing,
-- service_role everything (it bypasses RLS). Lead gaps and recommendations are written by the nightly
-- job and the decision function only. Write grants list their columns: a partner cannot set totals,
-- counters, ownership of another partner, or (on profiles) is_admin. The partner comes from
-- lead_flow.caller_partner_id(), which reads a sub that is not a uuid as nobody instead of raising.

-- RLS is on from migration 0008, which creates these tables. Grants decide what a role may do (which
-- commands, which columns), policies which rows; a policy has no "create or replace", so each is
-- dropped and made again (earlier versions' names went in migration 0075). "Own or admin" is the same
-- rule on every table: the row's partner_id is the partner the caller acts as
-- (lead_flow.caller_partner_id(), NULL for anyone but a partner), or the caller is an admin.

-- Every partner marketing table: service_role everything, a signed-in caller reads its own rows.
revoke all on public.partner_segments, public.partner_landing_pages, public.partner_marketing_campaigns,
              public.partner_lead_gaps, public.ai_marketing_recommendations
  from anon, authenticated;
grant all on public.partner_segments, public.partner_landing_pages, public.partner_marketing_campaigns,
             public.partner_lead_gaps, public.ai_marketing_recommendations
  to service_role;
grant select on public.partner_segments, public.partner_landing_pages, public.partner_marketing_campaigns,
                public.partner_lead_gaps, public.ai_marketing_recommendations
  to authenticated;

-- What a partner writes itself (its own rows; admins any): its segment links, landing pages and
-- campaigns (budgets and spend included), inserted and updated, never deleted. Lead gaps and
-- recommendations are written by the nightly job and the decision function only: read, no writes.
grant insert (partner_id, segment_id, is_primary, priority, is_active) on public.partner_segments to authenticated;
grant update (is_primary, priority, is_active) on public.partner_segments to authenticated;
grant insert (partner_id, segment_id, path, status, source, title, subtitle, seo_title, seo_description, content_json)
  on public.partner_landing_pages to authenticated;
grant update (segment_id, path, status, title, subtitle, seo_title, seo_description, content_json)
  on public.partner_landing_pages to authenticated;
grant insert (partner_id, segment_id, channel, name, status, external_campaign_id, customer_id, budget_resource_name,
              daily_budget, monthly_budget, cpl_target, ai_managed)
  on public.partner_marketing_campaigns to authenticated;
grant update (name, status, monthly_budget, cpl_target, ai_managed) on public.partner_marketing_campaigns to authenticated;

-- One "own or admin" policy a table: for every command the grants above allow where a partner
-- writes (without `with check`, the rows it writes pass the same rule), for select where it only reads.
drop policy if exists partner_segments_all_own_or_admin on public.partner_segments;
create policy partner_segments_all_own_or_admin on public.partner_segments for all to authenticated
  using (partner_id = (select lead_flow.caller_partner_id()) or (select lead_flow.is_admin()));
drop policy if exists partner_landing_pages_all_own_or_admin on public.partner_landing_pages;
create policy partner_landing_pages_all_own_or_admin on public.partner_landing_pages for all to authenticated
  using (partner_id = (select lead_flow.caller_partner_id()) or (select lead_flow.is_admin()));
drop policy if exists partner_marketing_campaigns_all_own_or_admin on public.partner_marketing_campaigns;
create policy partner_marketing_campaigns_all_own_or_admin on public.partner_marketing_campaigns
  for all to authenticated
  using (partner_id = (select lead_flow.caller_partner_id()) or (select lead_flow.is_admin()));
drop policy if exists partner_lead_gaps_select_own_or_admin on public.partner_lead_gaps;
create policy partner_lead_gaps_select_own_or_admin on public.partner_lead_gaps for select to authenticated
  using (partner_id = (select lead_flow.caller_partner_id()) or (select lead_flow.is_admin()));
drop policy if exists ai_marketing_recommendations_select_own_or_admin on public.ai_marketing_recommendations;
create policy ai_marketing_recommendations_select_own_or_admin on public.ai_marketing_recommendations
  for select to authenticated
  using (partner_id = (select lead_flow.caller_partner_id()) or (select lead_flow.is_admin()));

-- The marketing fields of a profile: the partner itself (profiles' own RLS picks the row) edits
-- them; is_admin, routing and capacity fields are not among them.
grant update (marketing_mode, auto_marketing_enabled, monthly_marketing_budget, preferred_channels, brand_color,
              logo_url, tone_of_voice) on public.profiles to authenticated;

-- API views: authenticated callers (their rows filtered by RLS and the views' own checks).
revoke all on public.partner_marketing_profiles, public.segment_partner_marketing,
              public.marketing_recommendation_outcomes from anon, authenticated;
grant select on public.partner_marketing_profiles, public.segment_partner_marketing,
                public.marketing_recommendation_outcomes to authenticated, service_role;
