-- Partner marketing: partner_landing_pages. Validation of a page's path, status, source, content
-- and texts with messages naming the field and its limit (migrations 0008 and 0019 hold the
-- constraints that back them up), and the published_at stamp.

create or replace function lead_flow.tg_partner_landing_pages__validate() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if new.path is null or length(new.path) > 200 or new.path !~ '^/[a-z0-9]+([-/][a-z0-9]+)*$' then
      raise exception 'path must be a safe URL path such as /schilder/eindhoven: it starts with /, holds only '
                      'lower-case letters, digits, single - and / between them (no spaces, no .., no //), '
                      'at most 200 characters; got "%"', left(new.path, 200)
        using errcode = '22023';
    end if;
    if new.status is null or new.status not in ('draft', 'review', 'published', 'archived') then
      raise exception 'status must be one of draft, review, published, archived; got "%"', left(new.status, 100)
        using errcode = '22023';
    end if;
    if new.source is null or new.source not in ('manual', 'template', 'ai') then
      raise exception 'source must be one of manual, template, ai; got "%"', left(new.source, 100)
        using errcode = '22023';
    end if;
    if new.content_json is null or jsonb_typeof(new.content_json) <> 'object' then
      raise exception 'content_json must be a JSON object' using errcode = '22023';
    end if;
    -- Bounds a page author never reaches and an attacker gains nothing from (the constraints of
    -- migrations 0008 and 0019 are the backstop; these say which field and what limit).
    if octet_length(new.content_json::text) > 262144 then
      raise exception 'content_json is % bytes as JSON; at most 262144 (256 kB) are allowed',
        octet_length(new.content_json::text) using errcode = '22023';
    end if;
    perform lead_flow.api_check_length('title', new.title, 200);
    perform lead_flow.api_check_length('subtitle', new.subtitle, 500);
    perform lead_flow.api_check_length('seo_title', new.seo_title, 200);
    perform lead_flow.api_check_length('seo_description', new.seo_description, 1000);
    if new.status = 'published' and coalesce(btrim(new.title), '') = '' then
      raise exception 'a landing page needs a title before it is published' using errcode = '22023';
    end if;
    if new.status = 'published' and (tg_op = 'INSERT' or old.status <> 'published') then
      new.published_at := now();
    end if;
    new.updated_at := now();
    return new;
  end
  $$;
comment on function lead_flow.tg_partner_landing_pages__validate() is
  'Refuses an unsafe path, unknown status or source, non-object content or content over 256 kB, over-long title '
  '(200), subtitle (500), seo_title (200) or seo_description (1000), and publishing without a title (22023); stamps '
  'published_at.';
create or replace trigger tg_partner_landing_pages__validate
  before insert or update on public.partner_landing_pages
  for each row execute function lead_flow.tg_partner_landing_pages__validate();
