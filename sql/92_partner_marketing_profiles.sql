-- Partner marketing: the marketing profile on the platform's profiles (mode, automation, monthly
-- budget, channels, branding). Validation with messages a person can act on (the check constraints of
-- migration 0008 stay as the backstop); the trigger itself is migration 0015's (a platform table).

create or replace function lead_flow.tg_profiles__validate_marketing() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if new.marketing_mode is null or new.marketing_mode not in ('leads_only', 'hybrid', 'full_marketing') then
      raise exception 'marketing_mode must be one of leads_only, hybrid, full_marketing; got "%"',
        left(new.marketing_mode, 100) using errcode = '22023';
    end if;
    if new.monthly_marketing_budget is null or new.monthly_marketing_budget < 0 then
      raise exception 'monthly_marketing_budget must be 0 or more EUR; got %', new.monthly_marketing_budget
        using errcode = '22023';
    end if;
    if new.brand_color is not null and new.brand_color !~ '^#[0-9a-fA-F]{6}$' then
      raise exception 'brand_color must be a hex colour like #1a2b3c; got "%"', left(new.brand_color, 100)
        using errcode = '22023';
    end if;
    if new.logo_url is not null and (new.logo_url !~ '^https?://\S+$' or length(new.logo_url) > 2000) then
      raise exception 'logo_url must be an http(s) URL without spaces, at most 2000 characters'
        using errcode = '22023';
    end if;
    if new.tone_of_voice is not null and length(new.tone_of_voice) > 2000 then
      raise exception 'tone_of_voice must be at most 2000 characters' using errcode = '22023';
    end if;
    -- Eight channels exist; more entries are repeats (and a million of them would be a cheap way to
    -- make every later read of the profile expensive).
    if coalesce(cardinality(new.preferred_channels), 0) > 8 then
      raise exception 'preferred_channels may hold at most 8 channels; got %', cardinality(new.preferred_channels)
        using errcode = '22023';
    end if;
    if new.preferred_channels is not null and not new.preferred_channels <@
         array['google_ads', 'meta', 'microsoft_ads', 'linkedin', 'tiktok', 'seo', 'microsite', 'other'] then
      raise exception 'preferred_channels may hold google_ads, meta, microsoft_ads, linkedin, tiktok, seo, microsite, other; got %',
        left(new.preferred_channels::text, 200) using errcode = '22023';
    end if;
    return new;
  end
  $$;
comment on function lead_flow.tg_profiles__validate_marketing() is
  'Refuses invalid marketing profile fields (mode, budget, colour, logo URL and tone of voice of at most 2000 '
  'characters, at most 8 known channels) with a 22023 message naming the field.';
-- Its trigger on the platform's profiles (tg_profiles__validate_marketing) is migration 0015's.
