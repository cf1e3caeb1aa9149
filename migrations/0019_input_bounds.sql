-- Bounds on the text and jsonb that API clients write into Lead Flow's own tables, where none held yet:
-- generous for a person, useless to an attacker (a landing page's content of 50 MB was accepted).
-- Each constraint's name says the field and the limit, which is what PostgREST's 400 shows; the
-- validation triggers (sql/92) say the same in words first where a table has one. Columns Lead Flow
-- added to the platform's profiles get no new constraint: their bounds are in the trigger function.
--
-- Outside a transaction: each constraint is added NOT VALID (a catalog change under a brief lock) and
-- then validated (a scan that lets reads and writes through), each step its own short transaction under
-- the install's lock_timeout (glue/db.py sets it on the connection), so the install waits briefly or
-- fails cleanly instead of queueing clients (a lead's foreign-key check on lead_segments) behind it.
-- Every step is idempotent: a run that stopped part way resumes.
-- transactional: false
-- depends: 0003_lead_flow_tables 0008_partner_marketing

do $$
declare
  c record;
begin
  for c in
    select * from (values
      ('partner_landing_pages', 'partner_landing_pages_content_json_max_256kb',
       'octet_length(content_json::text) <= 262144'),
      ('partner_marketing_campaigns', 'partner_marketing_campaigns_budget_resource_name_max_100',
       'length(budget_resource_name) <= 100'),
      ('lead_segment_campaigns', 'lead_segment_campaigns_campaign_id_max_20',
       'length(campaign_id) <= 20'),
      ('lead_segment_campaigns', 'lead_segment_campaigns_budget_resource_name_max_100',
       'length(budget_resource_name) <= 100'),
      ('lead_segments', 'lead_segments_postal_prefixes_max_1000_items_10kb',
       'cardinality(postal_prefixes) <= 1000 and octet_length(array_to_string(postal_prefixes, '''')) <= 10000'),
      ('lead_flow_settings', 'lead_flow_settings_value_max_1kb',
       'octet_length(value::text) <= 1024')
    ) as t (tbl, name, expr)
  loop
    if not exists (select from pg_catalog.pg_constraint
                    where conrelid = format('public.%I', c.tbl)::regclass and conname = c.name) then
      execute format('alter table public.%I add constraint %I check (%s) not valid', c.tbl, c.name, c.expr);
    end if;
  end loop;
end
$$;

-- Validating a validated constraint is a no-op, so a re-run passes through.
alter table public.partner_landing_pages validate constraint partner_landing_pages_content_json_max_256kb;
alter table public.partner_marketing_campaigns
    validate constraint partner_marketing_campaigns_budget_resource_name_max_100;
alter table public.lead_segment_campaigns validate constraint lead_segment_campaigns_campaign_id_max_20;
alter table public.lead_segment_campaigns validate constraint lead_segment_campaigns_budget_resource_name_max_100;
alter table public.lead_segments validate constraint lead_segments_postal_prefixes_max_1000_items_10kb;
alter table public.lead_flow_settings validate constraint lead_flow_settings_value_max_1kb;
