-- RLS and grants of partner marketing. A partner (lead_flow.is_partner(): sql/90) reads and writes
-- only its own rows -- its campaigns' budgets, spend and cost per lead included, no other partner's --
-- admins all, a signed-in account without a partner profile nothing, anon nothing, service_role
-- everything (it bypasses RLS). Lead gaps and recommendations are written by the nightly job and the
-- decision function only. Write grants list their columns: a partner cannot set totals, counters,
-- ownership of another partner, or (on profiles) is_admin. The user id comes from
-- lead_flow.jwt_user_id(), which reads a sub that is not a uuid as nobody instead of raising.

do $$
declare
  r record;
  own text := '(((select lead_flow.jwt_user_id()) = partner_id and (select lead_flow.is_partner())) '
              'or (select lead_flow.is_admin()))';
begin
  for r in
    select * from (values
      -- table, columns partners/admins may insert, columns they may update (null: read-only)
      ('partner_segments', 'partner_id, segment_id, is_primary, priority, is_active',
       'is_primary, priority, is_active'),
      ('partner_landing_pages',
       'partner_id, segment_id, path, status, source, title, subtitle, seo_title, seo_description, content_json',
       'segment_id, path, status, title, subtitle, seo_title, seo_description, content_json'),
      ('partner_marketing_campaigns',
       'partner_id, segment_id, channel, name, status, external_campaign_id, customer_id, budget_resource_name, '
       'daily_budget, monthly_budget, cpl_target, ai_managed',
       'name, status, monthly_budget, cpl_target, ai_managed'),
      ('partner_lead_gaps', null, null),
      ('ai_marketing_recommendations', null, null)
    ) as t (tbl, insert_columns, update_columns)
  loop
    execute format('alter table public.%I enable row level security', r.tbl);
    execute format('revoke all on public.%I from anon, authenticated', r.tbl);
    execute format('grant all on public.%I to service_role', r.tbl);

    execute format('drop policy if exists %I on public.%I', r.tbl || '_select_own_or_admin', r.tbl);
    execute format('create policy %I on public.%I for select to authenticated using %s',
                   r.tbl || '_select_own_or_admin', r.tbl, own);
    execute format('grant select on public.%I to authenticated', r.tbl);

    execute format('drop policy if exists %I on public.%I', r.tbl || '_insert_own_or_admin', r.tbl);
    execute format('drop policy if exists %I on public.%I', r.tbl || '_update_own_or_admin', r.tbl);
    if r.insert_columns is not null then
      execute format('create policy %I on public.%I for insert to authenticated with check %s',
                     r.tbl || '_insert_own_or_admin', r.tbl, own);
      execute format('grant insert (%s) on public.%I to authenticated', r.insert_columns, r.tbl);
    end if;
    if r.update_columns is not null then
      execute format('create policy %I on public.%I for update to authenticated using %s with check %s',
                     r.tbl || '_update_own_or_admin', r.tbl, own, own);
      execute format('grant update (%s) on public.%I to authenticated', r.update_columns, r.tbl);
    end if;
  end loop;
end
$$;

-- The marketing fields of a profile: the partner itself (profiles' own RLS picks the row) edits
-- them; is_admin, routing and capacity fields are not among them.
grant update (marketing_mode, auto_marketing_enabled, monthly_marketing_budget, preferred_channels, brand_color,
              logo_url, tone_of_voice) on public.profiles to authenticated;

-- API views: authenticated callers (their rows filtered by RLS and the views' own checks).
revoke all on public.partner_marketing_profiles, public.segment_partner_marketing from anon, authenticated;
grant select on public.partner_marketing_profiles, public.segment_partner_marketing to authenticated, service_role;
