"""Lead Flow's indexes on the platform's live `leads` table, built without blocking lead inserts.

`create index concurrently` cannot run inside a transaction, so this migration is non-transactional
and each statement commits on its own. A concurrent build that failed (lock timeout, cancel, crash)
leaves an INVALID index behind, which `if not exists` would then keep forever: such an index is
dropped (concurrently too) and built again. Waiting for older transactions is what a concurrent
build does; it blocks no insert while it waits, so this step waits minutes, not the install's
short lock_timeout.
"""

from __future__ import annotations

from typing import Any

from yoyo import step

__depends__ = {"0002_platform_baseline", "0003_lead_flow_tables"}
__transactional__ = False

# name -> what it indexes; every one on a table the platform owns.
INDEXES: dict[str, str] = {
    # A segment's leads by day (stats, capacity, API filters) and the foreign key to lead_segments.
    "leads_segment_id_created_at_idx": "public.leads (segment_id, created_at)",
    "leads_source_channel_idx": "public.leads (source_channel)",
    # The nightly aggregate reads one Amsterdam day of leads for all segments from the index alone.
    "leads_created_at_segment_idx": "public.leads (created_at) include (segment_id, status)",
    # Leads attributed to a partner's own campaign (own-campaign leads, campaign totals).
    "leads_source_campaign_id_idx": "public.leads (source_campaign_id) where source_campaign_id is not null",
}


def build_indexes(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("set lock_timeout = '5min'")
    for name, definition in INDEXES.items():
        cur.execute(
            "select i.indisvalid from pg_catalog.pg_index i"
            " join pg_catalog.pg_class c on c.oid = i.indexrelid"
            " where c.relnamespace = 'public'::regnamespace and c.relname = %s",
            (name,),
        )
        row = cur.fetchone()
        if row is not None and not row[0]:
            cur.execute(f"drop index concurrently if exists public.{name}")
        cur.execute(f"create index concurrently if not exists {name} on {definition}")


def drop_indexes(conn: Any) -> None:
    cur = conn.cursor()
    for name in INDEXES:
        cur.execute(f"drop index concurrently if exists public.{name}")


step(build_indexes, drop_indexes)
