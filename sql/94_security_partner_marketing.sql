-- RLS and grants of partner marketing. A partner (lead_flow.is_partner(): sql/90) reads and writes
-- only its own rows -- its campaigns' budgets, spend and cost per lead included, no other partner's --
-- admins all, a signed-in account without a partner profile nothing, anon nothing, service_role
-- everything (it bypasses RLS). Lead gaps and recommendations are written by the nightly job and the
-- decision function only. Write grants list their columns: a partner cannot set totals, counters,
-- ownership of another partner, or (on profiles) is_admin. The user id comes from
-- lead_flow.jwt_user_id(), which reads a sub that is not a uuid as nobody instead of raising.

-- RLS is on from migration 0008, which creates these tables; each table below: who may do what, then
-- the grants (service_role everything), then its policies, dropped and made again (a policy has no
-- "create or replace"). "Own or admin" is the same expression everywhere: the row's partner_id is the
-- caller and the caller is a partner, or the caller is an admin.

-- partner_segments: a partner reads, inserts and updates its own links; admins all of them.
revoke all on public.partner_segments from anon, authenticated;
grant all on public.partner_segments to service_role;
grant select on public.partner_segments to authenticated;
grant insert (partner_id, segment_id, is_primary, priority, is_active) on public.partner_segments to authenticated;
grant update (is_primary, priority, is_active) on public.partner_segments to authenticated;
drop policy if exists partner_segments_select_own_or_admin on public.partner_segments;
create policy partner_segments_select_own_or_admin on public.partner_segments for select to authenticated
  using (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));
drop policy if exists partner_segments_insert_own_or_admin on public.partner_segments;
create policy partner_segments_insert_own_or_admin on public.partner_segments for insert to authenticated
  with check (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));
drop policy if exists partner_segments_update_own_or_admin on public.partner_segments;
create policy partner_segments_update_own_or_admin on public.partner_segments for update to authenticated
  using (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()))
  with check (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));

-- partner_landing_pages: a partner reads, inserts and updates its own pages; admins all of them.
revoke all on public.partner_landing_pages from anon, authenticated;
grant all on public.partner_landing_pages to service_role;
grant select on public.partner_landing_pages to authenticated;
grant insert (partner_id, segment_id, path, status, source, title, subtitle, seo_title, seo_description, content_json)
  on public.partner_landing_pages to authenticated;
grant update (segment_id, path, status, title, subtitle, seo_title, seo_description, content_json)
  on public.partner_landing_pages to authenticated;
drop policy if exists partner_landing_pages_select_own_or_admin on public.partner_landing_pages;
create policy partner_landing_pages_select_own_or_admin on public.partner_landing_pages for select to authenticated
  using (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));
drop policy if exists partner_landing_pages_insert_own_or_admin on public.partner_landing_pages;
create policy partner_landing_pages_insert_own_or_admin on public.partner_landing_pages for insert to authenticated
  with check (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));
drop policy if exists partner_landing_pages_update_own_or_admin on public.partner_landing_pages;
create policy partner_landing_pages_update_own_or_admin on public.partner_landing_pages for update to authenticated
  using (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()))
  with check (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));

-- partner_marketing_campaigns: a partner reads, inserts and updates its own campaigns (budgets and
-- spend included); admins all of them.
revoke all on public.partner_marketing_campaigns from anon, authenticated;
grant all on public.partner_marketing_campaigns to service_role;
grant select on public.partner_marketing_campaigns to authenticated;
grant insert (partner_id, segment_id, channel, name, status, external_campaign_id, customer_id, budget_resource_name,
              daily_budget, monthly_budget, cpl_target, ai_managed)
  on public.partner_marketing_campaigns to authenticated;
grant update (name, status, monthly_budget, cpl_target, ai_managed) on public.partner_marketing_campaigns to authenticated;
drop policy if exists partner_marketing_campaigns_select_own_or_admin on public.partner_marketing_campaigns;
create policy partner_marketing_campaigns_select_own_or_admin on public.partner_marketing_campaigns
  for select to authenticated
  using (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));
drop policy if exists partner_marketing_campaigns_insert_own_or_admin on public.partner_marketing_campaigns;
create policy partner_marketing_campaigns_insert_own_or_admin on public.partner_marketing_campaigns
  for insert to authenticated
  with check (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));
drop policy if exists partner_marketing_campaigns_update_own_or_admin on public.partner_marketing_campaigns;
create policy partner_marketing_campaigns_update_own_or_admin on public.partner_marketing_campaigns
  for update to authenticated
  using (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()))
  with check (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));

-- partner_lead_gaps: a partner reads its own, admins all; written by the nightly job only.
revoke all on public.partner_lead_gaps from anon, authenticated;
grant all on public.partner_lead_gaps to service_role;
grant select on public.partner_lead_gaps to authenticated;
drop policy if exists partner_lead_gaps_select_own_or_admin on public.partner_lead_gaps;
create policy partner_lead_gaps_select_own_or_admin on public.partner_lead_gaps for select to authenticated
  using (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));

-- ai_marketing_recommendations: a partner reads its own, admins all; written by the nightly job and
-- the decision function only.
revoke all on public.ai_marketing_recommendations from anon, authenticated;
grant all on public.ai_marketing_recommendations to service_role;
grant select on public.ai_marketing_recommendations to authenticated;
drop policy if exists ai_marketing_recommendations_select_own_or_admin on public.ai_marketing_recommendations;
create policy ai_marketing_recommendations_select_own_or_admin on public.ai_marketing_recommendations
  for select to authenticated
  using (((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) or (select lead_flow.is_admin()));

-- The marketing fields of a profile: the partner itself (profiles' own RLS picks the row) edits
-- them; is_admin, routing and capacity fields are not among them.
grant update (marketing_mode, auto_marketing_enabled, monthly_marketing_budget, preferred_channels, brand_color,
              logo_url, tone_of_voice) on public.profiles to authenticated;

-- API views: authenticated callers (their rows filtered by RLS and the views' own checks).
revoke all on public.partner_marketing_profiles, public.segment_partner_marketing,
              public.marketing_recommendation_outcomes from anon, authenticated;
grant select on public.partner_marketing_profiles, public.segment_partner_marketing,
                public.marketing_recommendation_outcomes to authenticated, service_role;
