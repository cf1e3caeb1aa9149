-- An approved pause_campaign recommendation is carried out like a budget change: one row of
-- channel_orchestration_log (action_type campaign_pause) that the worker claims, pushes to Google Ads
-- (CampaignService, status PAUSED) and completes, under the same exactly-once rules. A pause sets
-- no budget, so new_value may be NULL for it, and only for it; it is always a partner's campaign.
-- The table is Lead Flow's own worker queue (no lead insert waits for it); the checks scan it once
-- under the install's lock_timeout.
-- depends: 0003_lead_flow_tables 0008_partner_marketing

alter table public.channel_orchestration_log
  drop constraint channel_orchestration_log_action_type_check,
  add constraint channel_orchestration_log_action_type_check
    check (action_type in ('budget_increase', 'budget_decrease', 'campaign_pause')),
  alter column new_value drop not null,
  add constraint channel_orchestration_log_budget_has_new_value
    check (action_type = 'campaign_pause' or new_value is not null),
  add constraint channel_orchestration_log_pause_is_partner_campaign
    check (action_type <> 'campaign_pause' or (partner_campaign_id is not null and new_value is null));
