-- Lead Flow's own log. The platform's system_logs is the platform's (its columns, grants and policies
-- are never touched); everything Lead Flow writes goes here, through lead_flow.log(). Its own
-- migration, not part of 0003, so that a database installed before it existed gets it too (an applied
-- migration is never run again).
-- depends: 0003_lead_flow_tables

create table if not exists public.lead_flow_logs (
  id bigint generated always as identity primary key,
  level text not null default 'info' check (level in ('debug', 'info', 'notice', 'warning', 'error')),
  source text not null default 'lead_flow' check (length(source) between 1 and 100),
  message text not null check (length(message) <= 4000),
  details jsonb not null default '{}',
  created_at timestamptz not null default now()
);
comment on table public.lead_flow_logs is
  'Lead Flow''s log: nightly steps, budget changes, assignment errors (level, source, message, details). Admins read it.';
create index if not exists lead_flow_logs_source_created_at_idx on public.lead_flow_logs (source, created_at);
create index if not exists lead_flow_logs_created_at_idx on public.lead_flow_logs (created_at);

-- Safe at once, whatever fails next: RLS on and Supabase's default grants to anon and authenticated
-- taken back in this same transaction; the admins' read policy is sql/90_security_lead_flow.sql's.
alter table public.lead_flow_logs enable row level security;
revoke all on public.lead_flow_logs from anon, authenticated;
revoke all on sequence public.lead_flow_logs_id_seq from anon, authenticated;
