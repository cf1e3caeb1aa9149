-- RLS and grants of the Lead Flow tables. Per the spec: authenticated users read, admins write,
-- anon nothing, service_role everything (it bypasses RLS). Exceptions: the budget audit trail, the
-- campaign mapping, ad metrics, overrides and the system log are for admins only.
-- Policies are named <table>_<command>_<who>; auth checks are wrapped in (select ...) so they run
-- once per statement, not once per row.

do $$
declare
  r record;
  readers text;
  read_check text;
begin
  for r in
    select * from (values
      -- table, who reads, columns admins may write (null: nobody writes through the API)
      ('regions', 'everyone', null),
      ('lead_segments', 'authenticated', 'branch, region, country, postal_prefixes, description, is_active'),
      ('lead_generation_stats', 'authenticated', null),
      ('lead_segment_plans', 'authenticated', null),
      ('lead_flow_setting_definitions', 'authenticated', null),
      ('lead_flow_settings', 'authenticated', 'key, segment_id, value'),
      ('channel_orchestration_log', 'admin', null),
      ('lead_segment_campaigns', 'admin', 'segment_id, customer_id, campaign_id, budget_resource_name, daily_budget, is_active'),
      ('campaign_daily_metrics', 'admin', null),
      ('lead_segment_target_overrides', 'admin', 'segment_id, valid_from, valid_to, target_leads_per_day, reason'),
      ('lead_flow_logs', 'admin', null)
    ) as t (tbl, reader, write_columns)
  loop
    execute format('alter table public.%I enable row level security', r.tbl);
    execute format('revoke all on public.%I from anon, authenticated', r.tbl);
    execute format('grant all on public.%I to service_role', r.tbl);

    readers := case r.reader when 'everyone' then 'anon, authenticated' else 'authenticated' end;
    read_check := case r.reader when 'admin' then '(select lead_flow.is_admin())' else 'true' end;
    execute format('drop policy if exists %I on public.%I', r.tbl || '_select_' || r.reader, r.tbl);
    execute format('create policy %I on public.%I for select to %s using (%s)',
                   r.tbl || '_select_' || r.reader, r.tbl, readers, read_check);
    execute format('grant select on public.%I to %s', r.tbl, readers);

    foreach readers in array array['insert', 'update', 'delete'] loop
      execute format('drop policy if exists %I on public.%I', r.tbl || '_' || readers || '_admin', r.tbl);
    end loop;
    if r.write_columns is not null then
      execute format('create policy %I on public.%I for insert to authenticated with check ((select lead_flow.is_admin()))',
                     r.tbl || '_insert_admin', r.tbl);
      execute format('create policy %I on public.%I for update to authenticated using ((select lead_flow.is_admin())) '
                     'with check ((select lead_flow.is_admin()))', r.tbl || '_update_admin', r.tbl);
      execute format('create policy %I on public.%I for delete to authenticated using ((select lead_flow.is_admin()))',
                     r.tbl || '_delete_admin', r.tbl);
      execute format('grant insert (%s), update (%s), delete on public.%I to authenticated',
                     r.write_columns, r.write_columns, r.tbl);
    end if;
  end loop;
end
$$;

-- Internal schema: usable for the definer helpers policies call, nothing in it is granted wholesale.
revoke all on all tables in schema lead_flow from anon, authenticated;
grant usage on schema lead_flow to anon, authenticated, service_role;
-- Except the region reference data that public.normalize_region / extract_region (executable by
-- every API role, and used by create_lead_segment) read as the caller: province spellings and PC4
-- ranges are public knowledge. Without this the blanket revoke above turns those RPCs into 401/403.
grant select on lead_flow.region_aliases, lead_flow.postcode_regions to anon, authenticated, service_role;
