-- The orchestration log's partner-marketing references are NULL on every segment row (thousands a
-- night): index only the rows that have them. The partner campaign's foreign key is served by
-- channel_orchestration_log_partner_campaign_day_key, which leads with partner_campaign_id and covers
-- exactly the rows that have one; the recommendation's by a partial index. Each segment change now
-- writes five index entries instead of seven.
-- depends: 0008_partner_marketing

drop index public.channel_orchestration_log_partner_campaign_id_idx;
drop index public.channel_orchestration_log_recommendation_id_idx;
create index channel_orchestration_log_recommendation_id_idx
  on public.channel_orchestration_log (recommendation_id) where recommendation_id is not null;
