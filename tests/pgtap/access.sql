-- Who may read and write what: the access table of the README as one pgTAP specification, checked
-- in the database itself (grants, RLS policies and the functions' own checks), the way PostgREST
-- reaches it: a role (anon, authenticated, service_role) and the JWT's claims in
-- request.jwt.claims. tests/test_rls.py and tests/test_api_security.py check the same rules through
-- PostgREST, for fewer objects each.
--
-- Run: psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -f tests/pgtap/access.sql
-- (pgTAP in schema `extensions`: the test stack installs it). Everything is rolled back.
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

begin;
set local search_path = extensions, public;

select plan(4);

-- The callers. "nobody" is a signed-in caller without a partner profile, in each of its forms:
-- no sub, a sub that is not a uuid, a sub without a profile, a profile that is neither partner nor
-- admin. They must all get the same answer; the matrix shows it once (or every answer if they differ).
insert into auth.users (id, email) values
  ('00000000-0000-4000-8000-00000000a001', 'partner@example.nl'),
  ('00000000-0000-4000-8000-00000000a002', 'other-partner@example.nl'),
  ('00000000-0000-4000-8000-00000000a003', 'admin@example.nl'),
  ('00000000-0000-4000-8000-00000000a004', 'consumer@example.nl'),
  ('00000000-0000-4000-8000-00000000a005', 'nobody@example.nl');
insert into public.profiles (id, company_name, is_admin, primary_branch, regions, max_open_leads,
                             is_active_for_routing) values
  ('00000000-0000-4000-8000-00000000a001', 'Schilder BV', false, 'schilder', '{noord-brabant}', 10, true),
  ('00000000-0000-4000-8000-00000000a002', 'Dakdekker BV', false, 'dakdekker', '{utrecht}', 5, true),
  ('00000000-0000-4000-8000-00000000a003', 'Marketplace', true, null, '{}', 0, false),
  ('00000000-0000-4000-8000-00000000a005', 'Former partner', false, null, '{}', 0, false);

create function pg_temp.claims(p_who text) returns text[]
  language sql immutable
  as $$
    select case p_who
             when 'anon' then array['anon', '{"role": "anon"}']
             when 'partner' then array['authenticated',
               '{"role": "authenticated", "sub": "00000000-0000-4000-8000-00000000a001"}']
             when 'admin' then array['authenticated',
               '{"role": "authenticated", "sub": "00000000-0000-4000-8000-00000000a003"}']
             when 'service_role' then array['service_role', '{"role": "service_role"}']
             when 'no sub' then array['authenticated', '{"role": "authenticated"}']
             when 'garbage sub' then array['authenticated', '{"role": "authenticated", "sub": "alice"}']
             when 'no profile' then array['authenticated',
               '{"role": "authenticated", "sub": "00000000-0000-4000-8000-00000000a004"}']
             when 'not a partner' then array['authenticated',
               '{"role": "authenticated", "sub": "00000000-0000-4000-8000-00000000a005"}']
           end
  $$;

-- p_sql as p_who, always undone: 'denied' (42501), the number of rows it returns or changes, or the
-- SQLSTATE of any other error. The role and claims are set inside the block that is rolled back.
create function pg_temp.outcome_as(p_who text, p_sql text) returns text
  language plpgsql
  as $$
  declare
    v_claims text[] := pg_temp.claims(p_who);
    v_rows bigint;
    v_counted text;
  begin
    begin
      perform set_config('request.jwt.claims', v_claims[2], true);
      perform set_config('role', v_claims[1], true);
      execute p_sql;
      get diagnostics v_rows = row_count;
      -- An error of our own (no statement raises ZZ001) undoes the statement, the role and claims.
      raise exception using errcode = 'ZZ001', message = 'undo', detail = v_rows::text;
    exception
      when insufficient_privilege then return 'denied';
      when sqlstate 'ZZ001' then
        get stacked diagnostics v_counted = pg_exception_detail;
        return case v_counted when '0' then 'none' when '1' then 'one' else 'rows' end;
      when others then return sqlstate;
    end;
  end
  $$;

-- A caller's outcome; for 'nobody', the one outcome all its forms share, else each form's.
create function pg_temp.outcome(p_who text, p_sql text) returns text
  language sql
  as $$
    select case when p_who <> 'nobody' then pg_temp.outcome_as(p_who, p_sql)
                when count(distinct o) = 1 then min(o)
                else string_agg(w || ': ' || o, ', ' order by w) end
      from unnest(array['no sub', 'garbage sub', 'no profile', 'not a partner']) w
     cross join lateral pg_temp.outcome_as(w, p_sql) o
  $$;

-- One row in every Lead Flow table.
insert into public.lead_segments (id, branch, region) values
  ('00000000-0000-4000-8000-00000000b001', 'schilder', 'noord-brabant');
insert into public.lead_generation_stats (segment_id, date, leads_generated, google_ads_spend) values
  ('00000000-0000-4000-8000-00000000b001', '2026-11-20', 4, 80);
insert into public.lead_segment_plans (id, segment_id, date, target_leads_per_day, target_daily_budget_google_ads)
  values ('00000000-0000-4000-8000-00000000c001', '00000000-0000-4000-8000-00000000b001', '2026-11-20', 8, 120);
insert into public.lead_segment_campaigns (segment_id, customer_id, campaign_id, budget_resource_name, daily_budget)
  values ('00000000-0000-4000-8000-00000000b001', '1234567890', '111', 'customers/1234567890/campaignBudgets/222', 100);
insert into public.campaign_daily_metrics (customer_id, campaign_id, date, cost) values
  ('1234567890', '111', '2026-11-20', 80);
insert into public.channel_orchestration_log (date, segment_id, plan_id, action_type, old_value, new_value)
  values ('2026-11-20', '00000000-0000-4000-8000-00000000b001', '00000000-0000-4000-8000-00000000c001',
          'budget_increase', 100, 120);
insert into public.lead_segment_target_overrides (segment_id, valid_from, valid_to, target_leads_per_day, reason)
  values ('00000000-0000-4000-8000-00000000b001', '2026-11-20', '2026-11-20', 3, 'winter stop');
insert into public.lead_flow_logs (level, source, message) values ('info', 'lead_flow', 'seeded');
insert into public.partner_marketing_campaigns (partner_id, segment_id, channel, name) values
  ('00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000b001', 'google_ads', 'own'),
  ('00000000-0000-4000-8000-00000000a002', '00000000-0000-4000-8000-00000000b001', 'google_ads', 'other''s');

-- Who may do what, one matrix: each caller's outcome of reads ('denied', 'none' (no rows), 'one',
-- 'rows') and of writes through the tables and the back end's functions ('denied', or how many rows
-- changed: 'none' where RLS hides every row).
select results_eq(
  $$ select what, pg_temp.outcome('anon', q), pg_temp.outcome('nobody', q), pg_temp.outcome('partner', q),
            pg_temp.outcome('admin', q), pg_temp.outcome('service_role', q)
       from (values
         ('regions', 'select from public.regions limit 2'),
         ('normalize_region', $q$select from public.normalize_region('N-Brabant')$q$),
         ('extract_region', $q$select from public.extract_region(null, '5611 AB')$q$),
         ('lead_segments', 'select from public.lead_segments'),
         ('segment_capacity', 'select from public.segment_capacity'),
         ('lead_segment_overview', 'select from public.lead_segment_overview'),
         ('get_segment_capacity', $q$select from public.get_segment_capacity('00000000-0000-4000-8000-00000000b001')$q$),
         ('get_segment_stats', $q$select from public.get_segment_stats('00000000-0000-4000-8000-00000000b001',
                                                                     '2026-11-20', '2026-11-20')$q$),
         ('get_segment_plans', $q$select from public.get_segment_plans('00000000-0000-4000-8000-00000000b001',
                                                                     '2026-11-20', '2026-11-20')$q$),
         ('calculate_lead_gap', $q$select from public.calculate_lead_gap('00000000-0000-4000-8000-00000000b001',
                                                                       '2026-11-20')$q$),
         ('lead_generation_stats', 'select from public.lead_generation_stats'),
         ('lead_segment_plans', 'select from public.lead_segment_plans'),
         ('lead_flow_settings', 'select from public.lead_flow_settings limit 2'),
         ('lead_segment_campaigns', 'select from public.lead_segment_campaigns'),
         ('campaign_daily_metrics', 'select from public.campaign_daily_metrics'),
         ('channel_orchestration_log', 'select from public.channel_orchestration_log'),
         ('lead_segment_target_overrides', 'select from public.lead_segment_target_overrides'),
         ('orchestration_status', 'select from public.orchestration_status'),
         ('lead_flow_logs', $q$select from public.lead_flow_logs where message = 'seeded'$q$),
         ('partner_marketing_campaigns', 'select from public.partner_marketing_campaigns'),
         ('marketing_recommendation_outcomes', 'select from public.marketing_recommendation_outcomes'),
         ('segment_budget_response', $q$select from public.segment_budget_response(
                                          '00000000-0000-4000-8000-00000000b001') limit 1$q$),
         ('lead_flow_gap_heatmap', 'select from public.lead_flow_gap_heatmap'),
         ('get_lead_flow_daily_totals', $q$select from public.get_lead_flow_daily_totals('2026-11-20', '2026-11-20')$q$),
         ('get_segment_capacity_partners', $q$select from public.get_segment_capacity_partners(
                                                '00000000-0000-4000-8000-00000000b001')$q$),
         ('partner_capacity_trust', 'select from public.partner_capacity_trust'),
         ('partner_capacity_changes', 'select from public.partner_capacity_changes'),
         -- Writes.
         ('create a segment', $q$insert into public.lead_segments (branch, region) values ('dakdekker', 'utrecht')$q$),
         ('deactivate a segment', 'update public.lead_segments set is_active = false'),
         ('change a setting', $q$update public.lead_flow_settings set value = '0.7'
                                  where key = 'target_utilization'$q$),
         ('write stats', $q$insert into public.lead_generation_stats (segment_id, date, leads_generated)
                             values ('00000000-0000-4000-8000-00000000b001', '2026-11-21', 2)$q$),
         ('delete a campaign mapping', 'delete from public.lead_segment_campaigns'),
         -- The nightly steps are internal (lead_flow): the back end's, not the API's.
         ('plan a night', $q$select lead_flow.plan_lead_segments('2026-11-20')$q$),
         ('update one plan', $q$select from public.update_lead_gap('00000000-0000-4000-8000-00000000b001',
                                                                   '2026-11-20')$q$),
         ('rename a marketing campaign', 'update public.partner_marketing_campaigns set name = name'),
         ('delete a marketing campaign', 'delete from public.partner_marketing_campaigns')
       ) m (what, q) $$,
  $$ values
       --  what                            anon      nobody    partner   admin     service_role
       ('regions',                       'rows',   'rows',   'rows',   'rows',   'rows'),
       ('normalize_region',              'one',    'one',    'one',    'one',    'one'),
       ('extract_region',                'one',    'one',    'one',    'one',    'one'),
       ('lead_segments',                 'denied', 'none',   'one',    'one',    'one'),
       ('segment_capacity',              'denied', 'none',   'one',    'one',    'one'),
       ('lead_segment_overview',         'denied', 'none',   'one',    'one',    'one'),
       ('get_segment_capacity',          'denied', 'denied', 'one',    'one',    'one'),
       ('get_segment_stats',             'denied', 'denied', 'one',    'one',    'one'),
       ('get_segment_plans',             'denied', 'denied', 'one',    'one',    'one'),
       ('calculate_lead_gap',            'denied', 'denied', 'one',    'one',    'one'),
       ('lead_generation_stats',         'denied', 'none',   'none',   'one',    'one'),
       ('lead_segment_plans',            'denied', 'none',   'none',   'one',    'one'),
       ('lead_flow_settings',            'denied', 'none',   'none',   'rows',   'rows'),
       ('lead_segment_campaigns',        'denied', 'none',   'none',   'one',    'one'),
       ('campaign_daily_metrics',        'denied', 'none',   'none',   'one',    'one'),
       ('channel_orchestration_log',     'denied', 'none',   'none',   'one',    'one'),
       ('lead_segment_target_overrides', 'denied', 'none',   'none',   'one',    'one'),
       ('orchestration_status',          'denied', 'denied', 'denied', 'one',    'one'),
       ('lead_flow_logs',                'denied', 'none',   'none',   'one',    'one'),
       ('partner_marketing_campaigns',   'denied', 'none',   'one',    'rows',   'rows'),
       ('marketing_recommendation_outcomes', 'denied', 'none', 'none', 'none',  'none'),
       ('segment_budget_response',       'denied', 'denied', 'one',    'one',    'one'),
       ('lead_flow_gap_heatmap',         'denied', 'denied', 'denied', 'one',    'one'),
       ('get_lead_flow_daily_totals',    'denied', 'denied', 'denied', 'one',    'one'),
       ('get_segment_capacity_partners', 'denied', 'denied', 'denied', 'one',    'one'),
       ('partner_capacity_trust',        'denied', 'denied', 'denied', 'rows',   'rows'),
       ('partner_capacity_changes',      'denied', 'denied', 'denied', 'none',   'none'),
       -- Writes.
       ('create a segment',              'denied', 'denied', 'denied', 'one',    'one'),
       ('deactivate a segment',          'denied', 'none',   'none',   'one',    'one'),
       ('change a setting',              'denied', 'none',   'none',   'one',    'one'),
       ('write stats',                   'denied', 'denied', 'denied', 'denied', 'one'),
       ('delete a campaign mapping',     'denied', 'none',   'none',   'one',    'one'),
       ('plan a night',                  'denied', 'denied', 'denied', 'denied', 'one'),
       ('update one plan',               'denied', 'denied', 'denied', 'denied', 'one'),
       ('rename a marketing campaign',   'denied', 'none',   'one',    'rows',   'rows'),
       ('delete a marketing campaign',   'denied', 'denied', 'denied', 'denied', 'rows') $$,
  'reads: anon the regions only; signed in without a partner profile nothing; a partner the segments, '
  'capacity, stats, plans and the what-if, and its own marketing campaigns; the overview aggregates, '
  'capacity partners and capacity trust for admins and service_role, who read everything. Writes: admins '
  'change segments, settings and campaign mappings, a partner its own marketing campaigns (never deletes '
  'them); only the back end writes stats and plans');

-- Money: the same reads, counting only rows where a money column has a value.
select results_eq(
  $$ select what, pg_temp.outcome('partner', q), pg_temp.outcome('admin', q), pg_temp.outcome('service_role', q)
       from (values
         ('lead_segment_overview', 'select from public.lead_segment_overview
                                     where target_daily_budget_google_ads is not null'),
         ('get_segment_stats', $q$select from public.get_segment_stats('00000000-0000-4000-8000-00000000b001',
                                     '2026-11-20', '2026-11-20') s where s.google_ads_spend is not null$q$),
         ('get_segment_plans', $q$select from public.get_segment_plans('00000000-0000-4000-8000-00000000b001',
                                     '2026-11-20', '2026-11-20') p
                                   where p.target_daily_budget_google_ads is not null$q$),
         ('segment_budget_response', $q$select from public.segment_budget_response(
                                          '00000000-0000-4000-8000-00000000b001') r
                                        where r.budget is not null limit 1$q$)
       ) m (what, q) $$,
  $$ values
       --  what                     partner  admin  service_role
       ('lead_segment_overview',    'none',  'one', 'one'),
       ('get_segment_stats',        'none',  'one', 'one'),
       ('get_segment_plans',        'none',  'one', 'one'),
       ('segment_budget_response',  'none',  'one', 'one') $$,
  'money (budgets, spend) is for admins and the back end: a partner gets those columns as null');

-- The matrices' own premise: the helper does undo, and a partner's claims are what make it a partner.
select is(pg_temp.outcome('admin', 'delete from public.lead_segments'), 'one', 'an admin may delete a segment');
select is((select count(*) from public.lead_segments)::int, 1, 'and every write above was undone');

select * from finish();
rollback;
