-- Trust in declared capacity (issue 16). A partner sets its own max_open_leads (a column of the
-- platform's profiles it may update itself); until now that number drove the segment's target, and
-- so the ad spend, the night it changed. From here on (sql/35_capacity_trust.sql):
--   * every change of max_open_leads is logged (partner_capacity_changes: who, when, from, to) by a
--     trigger on profiles, created once here (sql/ only replaces its function);
--   * planning reads a trusted capacity per partner and day (partner_capacity_trust), which follows a
--     raise only by a ramp from the previous night's trusted value, by what the partner accepted
--     recently, or at once up to what an admin confirmed (partner_capacity_confirmations);
--   * the settings of the ramp, the evidence and the alert for a large change are global settings.
-- The tables are internal (lead_flow: PostgREST does not expose them); admins read them through the
-- API (sql/91_api.sql). Each table references the partner's profile: a deleted profile takes its rows.
-- depends: 0015_platform_triggers 0017_lead_flow_logs 0031_earlier_policy_names

-- Every change of a partner's declared capacity (profiles.max_open_leads): who, when, from, to.
create table lead_flow.partner_capacity_changes (
  id bigint generated always as identity primary key,
  partner_id uuid not null references public.profiles (id) on delete cascade on update cascade,
  changed_at timestamptz not null default now(),
  changed_by uuid,                 -- the signed-in user (the JWT's sub); NULL for a session without one
  changed_by_role text not null,   -- the JWT's role (authenticated, service_role) or the login role
  from_leads integer,
  to_leads integer
);
comment on table lead_flow.partner_capacity_changes is
  'Every change of profiles.max_open_leads (a partner''s declared capacity): partner, when, by whom (user id '
  'and role), from and to. Written by the trigger tg_profiles__log_capacity_change; never edited.';
create index partner_capacity_changes_partner_id_changed_at_idx
  on lead_flow.partner_capacity_changes (partner_id, changed_at);
create index partner_capacity_changes_changed_at_idx on lead_flow.partner_capacity_changes (changed_at);

-- An admin's confirmation that a partner can take this many open leads: planning trusts the partner's
-- declared capacity at once up to it. The latest confirmation of a partner is the one in effect.
create table lead_flow.partner_capacity_confirmations (
  id bigint generated always as identity primary key,
  partner_id uuid not null references public.profiles (id) on delete cascade on update cascade,
  confirmed_leads integer not null check (confirmed_leads between 0 and 1000000),
  confirmed_by uuid,
  confirmed_by_role text not null,
  confirmed_at timestamptz not null default now(),
  comment text check (length(comment) <= 1000)
);
comment on table lead_flow.partner_capacity_confirmations is
  'Admins'' confirmations of a partner''s capacity (confirm_partner_capacity): up to confirmed_leads the '
  'declared max_open_leads counts for planning at once. The latest row per partner is in effect.';
create index partner_capacity_confirmations_partner_id_confirmed_at_idx
  on lead_flow.partner_capacity_confirmations (partner_id, confirmed_at);

-- The capacity planning trusted per partner and planned day: the plan step writes day D's rows from
-- D - 1's (lead_flow.record_capacity_trust), so re-running a night gives the same rows.
create table lead_flow.partner_capacity_trust (
  partner_id uuid not null references public.profiles (id) on delete cascade on update cascade,
  date date not null,
  declared_leads integer not null check (declared_leads >= 0),
  trusted_leads integer not null check (trusted_leads between 0 and declared_leads),
  previous_leads integer,          -- the trusted value the ramp started from (NULL: none before)
  accepted_leads_30d integer not null default 0,
  confirmed_leads integer,
  primary key (partner_id, date)
);
comment on table lead_flow.partner_capacity_trust is
  'Per partner and planned Amsterdam day: declared capacity (max_open_leads), the part planning trusts, and '
  'what it was derived from (the previous trusted value, leads accepted in 30 days, the admin confirmation).';
create index partner_capacity_trust_date_idx on lead_flow.partner_capacity_trust (date);

-- Internal tables: no grant to the API roles (Supabase's default privileges do not reach lead_flow;
-- revoked all the same); the back end reads them, the definer functions of sql/35 write them.
revoke all on lead_flow.partner_capacity_changes, lead_flow.partner_capacity_confirmations,
              lead_flow.partner_capacity_trust from anon, authenticated;
grant select on lead_flow.partner_capacity_changes, lead_flow.partner_capacity_confirmations,
                lead_flow.partner_capacity_trust to service_role;

insert into public.lead_flow_setting_definitions
  (key, value_type, default_value, min_value, max_value, allowed_values, per_segment, description) values
  ('capacity_trust_ramp_percentage', 'numeric', '0.25', 0, 10, null, false,
   'A partner''s trusted capacity grows by at most this share of the previous night''s trusted value per '
   'planned night (or capacity_trust_ramp_min_leads, whichever is more), up to its declared max_open_leads.'),
  ('capacity_trust_ramp_min_leads', 'numeric', '2', 0, 100000, null, false,
   'The least a partner''s trusted capacity may grow per planned night (leads), so a small partner ramps too.'),
  ('capacity_trust_evidence_factor', 'numeric', '1.5', 0, 1000, null, false,
   'Trusted capacity is at least this factor x the leads the partner accepted in the last 30 days '
   '(capped by its declared max_open_leads).'),
  ('capacity_change_alert_factor', 'numeric', '2', 1, 1000000, null, false,
   'A raise of max_open_leads to more than this factor x the previous value (and by more than '
   'capacity_change_alert_min_leads) is a large change: an alert until an admin confirms it.'),
  ('capacity_change_alert_min_leads', 'numeric', '20', 0, 1000000, null, false,
   'A raise of max_open_leads by at most this many leads never alerts, whatever the factor.');
insert into public.lead_flow_settings (key, value)
select d.key, d.default_value
  from public.lead_flow_setting_definitions d
 where d.key in ('capacity_trust_ramp_percentage', 'capacity_trust_ramp_min_leads', 'capacity_trust_evidence_factor',
                 'capacity_change_alert_factor', 'capacity_change_alert_min_leads')
on conflict (key, segment_id) do nothing;

-- The trigger on the platform's profiles, made once here: only an update that changes max_open_leads
-- calls the function (the WHEN runs in the executor; every other profile update costs nothing).
-- Where the function does not exist yet (migrations run before sql/), a stub that does nothing;
-- sql/35_capacity_trust.sql replaces it in the same migrate.
do $$
begin
  if to_regprocedure('lead_flow.tg_profiles__log_capacity_change()') is null then
    create function lead_flow.tg_profiles__log_capacity_change() returns trigger
      language plpgsql set search_path = '' as 'begin return null; end';
    comment on function lead_flow.tg_profiles__log_capacity_change() is 'Stub until sql/ is applied: does nothing.';
    revoke all on function lead_flow.tg_profiles__log_capacity_change() from public, anon, authenticated;
  end if;
end
$$;
create trigger tg_profiles__log_capacity_change
  after update of max_open_leads on public.profiles
  for each row when (old.max_open_leads is distinct from new.max_open_leads)
  execute function lead_flow.tg_profiles__log_capacity_change();
