-- PC4 -> region reference, loaded from a CSV by `leadflow regions load FILE` (a user brings the
-- current CBS file). Stored as non-overlapping ranges: a per-PC4 file is folded into ranges.
-- depends: 0003_lead_flow_tables

create table lead_flow.postcode_regions (
  pc4 int4range not null check (lower(pc4) >= 1000 and upper(pc4) <= 10000),
  region text not null references public.regions (slug),
  loaded_at timestamptz not null default now(),
  constraint postcode_regions_no_overlap exclude using gist (pc4 with &&)
);
create index postcode_regions_region_idx on lead_flow.postcode_regions (region);
-- The lookup: the last range starting at or below a PC4 (one backward btree probe; a 110-row table
-- would otherwise be scanned with a range test per row).
create index postcode_regions_lower_idx on lead_flow.postcode_regions (lower(pc4));

-- Spellings of province names as they appear in lead forms and partner profiles, folded to
-- lower-case letters only ('Noord-Brabant', 'N-Brabant', ' noord brabant ' -> noordbrabant, nbrabant).
create table lead_flow.region_aliases (
  alias text primary key check (alias ~ '^[a-z]+$'),
  region text not null references public.regions (slug)
);
create index region_aliases_region_idx on lead_flow.region_aliases (region);
insert into lead_flow.region_aliases (alias, region) values
  ('groningen', 'groningen'), ('gr', 'groningen'), ('gn', 'groningen'),
  ('friesland', 'friesland'), ('fryslan', 'friesland'), ('fr', 'friesland'), ('frl', 'friesland'),
  ('drenthe', 'drenthe'), ('drente', 'drenthe'), ('dr', 'drenthe'),
  ('overijssel', 'overijssel'), ('overijsel', 'overijssel'), ('ov', 'overijssel'),
  ('flevoland', 'flevoland'), ('fl', 'flevoland'), ('flevo', 'flevoland'),
  ('gelderland', 'gelderland'), ('gld', 'gelderland'), ('gd', 'gelderland'), ('ge', 'gelderland'),
  ('utrecht', 'utrecht'), ('ut', 'utrecht'), ('utr', 'utrecht'),
  ('noordholland', 'noord-holland'), ('nholland', 'noord-holland'), ('nh', 'noord-holland'),
  ('northholland', 'noord-holland'),
  ('zuidholland', 'zuid-holland'), ('zholland', 'zuid-holland'), ('zh', 'zuid-holland'),
  ('southholland', 'zuid-holland'),
  ('zeeland', 'zeeland'), ('ze', 'zeeland'), ('zl', 'zeeland'),
  ('noordbrabant', 'noord-brabant'), ('nbrabant', 'noord-brabant'), ('brabant', 'noord-brabant'),
  ('nb', 'noord-brabant'), ('northbrabant', 'noord-brabant'),
  ('limburg', 'limburg'), ('li', 'limburg'), ('lb', 'limburg'), ('lim', 'limburg');
