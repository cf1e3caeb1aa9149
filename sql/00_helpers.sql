-- Internal helpers every other file uses: settings lookup, the system log, the segment id check.
-- lead_flow.is_admin() lives in migration 0002, because the baseline policies need it there.

-- A setting's effective value: the segment's override, else the global value, else the default.
create or replace function lead_flow.setting(p_key text, p_segment_id uuid default null) returns jsonb
  language sql stable set search_path = ''
  as $$
    select coalesce(
             (select s.value from public.lead_flow_settings s
               where s.key = p_key and s.segment_id = p_segment_id and d.per_segment),
             (select s.value from public.lead_flow_settings s where s.key = p_key and s.segment_id is null),
             d.default_value)
      from public.lead_flow_setting_definitions d
     where d.key = p_key
  $$;
comment on function lead_flow.setting(text, uuid) is
  'Effective value of a Lead Flow setting for a segment (override > global > default); NULL for an unknown key.';

-- Every segment's effective settings as one jsonb object, for set-based steps.
create or replace view lead_flow.segment_settings as
  select s.id as segment_id,
         jsonb_object_agg(d.key, coalesce(seg.value, glob.value, d.default_value)) as settings
    from public.lead_segments s
   cross join public.lead_flow_setting_definitions d
    left join public.lead_flow_settings glob on glob.key = d.key and glob.segment_id is null
    left join public.lead_flow_settings seg
      on d.per_segment and seg.key = d.key and seg.segment_id = s.id
   group by s.id;
comment on view lead_flow.segment_settings is
  'One row per segment: {key: effective value} of every setting, for set-based pipeline steps.';

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
    new.updated_by := coalesce(new.updated_by, (select auth.uid()));
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

do $$
declare
  t text;
begin
  foreach t in array array['lead_segments', 'lead_generation_stats', 'lead_segment_plans',
                           'channel_orchestration_log', 'lead_segment_campaigns'] loop
    execute format('create or replace trigger tg_%1$s__touch_updated_at before update on public.%1$I
                    for each row execute function lead_flow.tg_touch_updated_at()', t);
  end loop;
end
$$;
