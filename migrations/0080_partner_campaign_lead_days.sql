-- Partner campaign totals kept incrementally (issue 17). Until now the nightly step
-- partner_recommendations recounted each touched campaign's attributed leads over its whole history,
-- and every metric pull re-summed the campaign's whole spend: both grew with history. From here on
-- (sql/92_partner_marketing_campaigns.sql):
--   * partner_campaign_lead_days holds each campaign's attributed leads per Amsterdam day; the night
--     recounts only its own day (and any day since the last counted one, or of the pause window not
--     counted yet), writes the day's row and adds the difference to the campaign's total_leads, so a
--     rerun of a night adds nothing;
--   * partner_campaign_lead_nights remembers which days were counted;
--   * the metrics' triggers add what a pull changed (new minus old) to total_spend and total_clicks.
-- Here: the two tables, filled once from the leads as they are (a read of the attributed leads
-- through their partial index; no lock that a lead insert waits for), and the campaign totals set
-- to the full recount, so the increments start from the truth. No day is marked counted: the first
-- night counts its own day and the pause window's (the same counts, once).
-- depends: 0008_partner_marketing

create table lead_flow.partner_campaign_lead_days (
  campaign_id uuid not null references public.partner_marketing_campaigns (id) on delete cascade,
  date date not null,
  leads integer not null check (leads > 0),
  primary key (campaign_id, date)
);
comment on table lead_flow.partner_campaign_lead_days is
  'Leads attributed to a partner campaign (leads.source_campaign_id = its external_campaign_id) per Amsterdam '
  'day of created_at, as last counted; total_leads of the campaign is their sum. Written by '
  'lead_flow.count_partner_campaign_leads (the night) and lead_flow.sync_partner_campaign_totals (recount).';
create index partner_campaign_lead_days_date_idx on lead_flow.partner_campaign_lead_days (date);

create table lead_flow.partner_campaign_lead_nights (
  date date primary key,
  counted_at timestamptz not null default now()
);
comment on table lead_flow.partner_campaign_lead_nights is
  'Amsterdam days whose attributed leads partner_campaign_lead_days holds (as of counted_at). A night '
  'recounts its day and every day after the last one counted before it.';

-- Internal tables: no grant to the API roles; the back end may read them.
revoke all on lead_flow.partner_campaign_lead_days, lead_flow.partner_campaign_lead_nights
  from public, anon, authenticated;
grant select on lead_flow.partner_campaign_lead_days, lead_flow.partner_campaign_lead_nights to service_role;

insert into lead_flow.partner_campaign_lead_days (campaign_id, date, leads)
select c.id, (l.created_at at time zone 'Europe/Amsterdam')::date, count(*)
  from public.partner_marketing_campaigns c
  join public.leads l on l.source_campaign_id = c.external_campaign_id
 where c.external_campaign_id is not null and l.source_campaign_id is not null and l.created_at is not null
 group by 1, 2;

-- The totals from the full recount (what sync_partner_campaign_totals computes), where they differ.
with metrics as (
  select c.id, sum(m.cost) as spend, sum(m.clicks) as clicks
    from public.partner_marketing_campaigns c
    join public.campaign_daily_metrics m
      on m.customer_id = c.customer_id and m.campaign_id = c.external_campaign_id
   where c.channel = 'google_ads'
   group by c.id
), attributed as (
  select d.campaign_id as id, sum(d.leads)::integer as n
    from lead_flow.partner_campaign_lead_days d
   group by d.campaign_id
), totals as (
  select c.id, coalesce(m.spend, 0) as spend, coalesce(m.clicks, 0) as clicks, coalesce(a.n, 0) as leads
    from public.partner_marketing_campaigns c
    left join metrics m on m.id = c.id
    left join attributed a on a.id = c.id
)
update public.partner_marketing_campaigns c
   set total_spend = t.spend, total_clicks = t.clicks, total_leads = t.leads,
       avg_cpl = case when t.leads > 0 and t.spend > 0 then round(t.spend / t.leads, 2) end,
       metrics_synced_at = now()
  from totals t
 where t.id = c.id
   and (c.total_spend, c.total_clicks, c.total_leads, c.avg_cpl)
       is distinct from (t.spend, t.clicks, t.leads,
                         case when t.leads > 0 and t.spend > 0 then round(t.spend / t.leads, 2) end);
