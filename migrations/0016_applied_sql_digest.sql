-- What `sql/` was last applied: a digest of its files. A migrate that applied no migration and finds
-- the same digest skips re-applying sql/, so running `leadflow migrate` again on a live database takes
-- no lock at all (re-creating policies and triggers locks their tables until sql/ commits).

create table lead_flow.applied_sql (
  singleton boolean primary key default true check (singleton),
  digest text not null,
  applied_at timestamptz not null default now()
);
comment on table lead_flow.applied_sql is
  'The md5 of the sql/ files last applied by leadflow migrate (one row); written in the same transaction.';
revoke all on lead_flow.applied_sql from anon, authenticated;
