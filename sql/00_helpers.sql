-- Internal helpers every other file uses: settings lookup, the system log, the segment id check.
-- Who is calling (lead_flow.is_admin, is_partner, is_back_end, ...): sql/05_callers.sql.

-- THE definition of the settings in effect: one row per segment, and one row with segment_id NULL
-- for no segment in particular (the global values, which a segment without overrides of its own also
-- gets). settings = {key: value} of every setting: its default, overlaid with the global value,
-- overlaid with the segment's own value (only for keys defined per_segment). Built as "globals ||
-- this segment's overrides", so 10,000 segments cost one pass over the (few) override rows, not
-- segments x keys; a filter on segment_id reaches the lead_segments primary key and the grouped
-- overrides, so one segment costs an index probe. security_invoker: the caller's rights and RLS apply.
create or replace view lead_flow.segment_settings with (security_invoker = true) as
  with globals as (
    select jsonb_object_agg(d.key, coalesce(g.value, d.default_value)) as settings
      from public.lead_flow_setting_definitions d
      left join public.lead_flow_settings g on g.key = d.key and g.segment_id is null
  ), own as (
    select o.segment_id, jsonb_object_agg(o.key, o.value) as settings
      from public.lead_flow_settings o
      join public.lead_flow_setting_definitions d on d.key = o.key and d.per_segment
     where o.segment_id is not null
     group by o.segment_id
  )
  select s.id as segment_id, g.settings || coalesce(own.settings, '{}'::jsonb) as settings
    from public.lead_segments s
   cross join globals g
    left join own on own.segment_id = s.id
  union all
  select null::uuid, g.settings from globals g;
comment on view lead_flow.segment_settings is
  'The settings in effect, as {key: value} of every setting: one row per segment (default < global value < '
  'the segment''s own value), and one row with segment_id NULL holding the global values. The one definition: '
  'lead_flow.setting(key, segment_id) reads it for one value; set-based steps join it on segment_id.';

-- One setting's value, from lead_flow.segment_settings: the segment's (NULL, or an id that names no
-- segment: the global value). NULL for an unknown key.
create or replace function lead_flow.setting(p_key text, p_segment_id uuid default null) returns jsonb
  language sql stable set search_path = ''
  as $$
    select coalesce((select ss.settings from lead_flow.segment_settings ss where ss.segment_id = p_segment_id),
                    (select ss.settings from lead_flow.segment_settings ss where ss.segment_id is null)) -> p_key
  $$;
comment on function lead_flow.setting(text, uuid) is
  'Effective value of a Lead Flow setting for a segment (its own > global > default; no segment or an unknown '
  'one: global > default), read from lead_flow.segment_settings; NULL for an unknown key.';
revoke all on function lead_flow.setting(text, uuid) from public, anon, authenticated;
grant execute on function lead_flow.setting(text, uuid) to service_role;

-- Settings are checked against their definition, so a bad value is refused with a clear message.
create or replace function lead_flow.tg_lead_flow_settings__validate() returns trigger
  language plpgsql set search_path = ''
  as $$
  declare
    d public.lead_flow_setting_definitions;
    v numeric;
  begin
    select * into d from public.lead_flow_setting_definitions where key = new.key;
    if not found then
      raise exception 'unknown setting "%"', new.key using errcode = '22023';
    end if;
    if new.segment_id is not null and not d.per_segment then
      raise exception 'setting "%" is global and cannot be set per segment', new.key using errcode = '22023';
    end if;
    if jsonb_typeof(new.value) <> (case d.value_type when 'numeric' then 'number'
                                                     when 'boolean' then 'boolean' else 'string' end) then
      raise exception 'setting "%" takes a % value, got %', new.key, d.value_type, new.value
        using errcode = '22023';
    end if;
    if d.value_type = 'numeric' then
      v := (new.value #>> '{}')::numeric;
      if v < d.min_value or v > d.max_value then
        raise exception 'setting "%" must be between % and %, got %', new.key, d.min_value, d.max_value, v
          using errcode = '22023';
      end if;
    end if;
    if d.allowed_values is not null and not (new.value #>> '{}') = any (d.allowed_values) then
      raise exception 'setting "%" must be one of %, got %', new.key, d.allowed_values, new.value
        using errcode = '22023';
    end if;
    new.updated_at := now();
    new.updated_by := coalesce(new.updated_by, lead_flow.jwt_user_id());   -- sql/05: never raises
    return new;
  end
  $$;
create or replace trigger tg_lead_flow_settings__validate
  before insert or update on public.lead_flow_settings
  for each row execute function lead_flow.tg_lead_flow_settings__validate();

-- One line in Lead Flow's own log (public.lead_flow_logs; the platform's system_logs is never written).
-- Never raises: logging must not break what it records.
create or replace function lead_flow.log(p_level text, p_message text, p_details jsonb default '{}')
  returns void
  language plpgsql volatile security definer set search_path = ''
  as $$
  begin
    insert into public.lead_flow_logs (level, source, message, details)
    values (p_level, 'lead_flow', left(coalesce(p_message, ''), 4000), coalesce(p_details, '{}'));
  exception when others then
    raise warning 'lead_flow.log could not write to lead_flow_logs: %', sqlerrm;
  end
  $$;
comment on function lead_flow.log(text, text, jsonb) is
  'Appends a lead_flow line to lead_flow_logs; swallows its own errors so callers never fail on logging.';
revoke all on function lead_flow.log(text, text, jsonb) from public, anon, authenticated;

-- A segment id the caller can see, or 22023 naming what is wrong: the one check behind every API
-- function that takes a segment id.
create or replace function lead_flow.api_check_segment(p_segment_id uuid) returns void
  language plpgsql stable set search_path = ''
  as $$
  begin
    if p_segment_id is null then
      raise exception 'segment_id is required' using errcode = '22023';
    end if;
    if not exists (select from public.lead_segments s where s.id = p_segment_id) then
      raise exception 'unknown segment %', p_segment_id using errcode = '22023',
        hint = 'lead_segment_overview lists the active segments; lead_segments all of them';
    end if;
  end
  $$;
comment on function lead_flow.api_check_segment(uuid) is
  'Raises 22023 when the segment id is NULL or names no segment the caller can read.';
revoke all on function lead_flow.api_check_segment(uuid) from public, anon, authenticated;
grant execute on function lead_flow.api_check_segment(uuid) to authenticated, service_role;

-- updated_at maintenance shared by the Lead Flow tables.
create or replace function lead_flow.tg_touch_updated_at() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    new.updated_at := now();
    return new;
  end
  $$;

-- Lead Flow's own tables touch updated_at on every update (the platform's tables are left alone).
create or replace trigger tg_lead_segments__touch_updated_at before update on public.lead_segments
  for each row execute function lead_flow.tg_touch_updated_at();
create or replace trigger tg_lead_generation_stats__touch_updated_at before update on public.lead_generation_stats
  for each row execute function lead_flow.tg_touch_updated_at();
create or replace trigger tg_lead_segment_plans__touch_updated_at before update on public.lead_segment_plans
  for each row execute function lead_flow.tg_touch_updated_at();
create or replace trigger tg_channel_orchestration_log__touch_updated_at before update on public.channel_orchestration_log
  for each row execute function lead_flow.tg_touch_updated_at();
create or replace trigger tg_lead_segment_campaigns__touch_updated_at before update on public.lead_segment_campaigns
  for each row execute function lead_flow.tg_touch_updated_at();
