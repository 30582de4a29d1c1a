-- 0005_catalog: the catalog API (services/gateway/catalog.c), event positions and impressions
-- (services/gateway/impressions.c), and change notification for rs-candidate.
--
-- items.available: false = withdrawn (DELETE /v1/items/{id}): the row and its history stay, but
--   no list ever offers it again. Kept apart from in_stock, which only the in_stock_only filter
--   reads: an out-of-stock item is still in the shop, a withdrawn one is not.
-- items.updated_at: maintained by the database (trigger below) for every writer, the gateway,
--   the importers, the generator and ingest's placeholder rows alike: set on insert and whenever
--   an update changes the row. rs-candidate reads the rows changed since its last look by it.
-- items_title_trgm_idx: GET /v1/items?q= matches every word of q inside the title with ILIKE,
--   which a pg_trgm GIN index serves. pg_trgm ships with Debian's postgresql-15 (contrib is
--   part of the server package) and is a trusted extension. It goes into schema public (the
--   tests apply migrations into per-suite schemas and drop them; the extension must outlive
--   them), and the index names the operator class in whatever schema the extension lives.
-- Channel catalog: a statement-level trigger notifies it after any insert, update, delete or
--   truncate of items, delivered when the writing transaction commits (once per transaction).
--   rs-candidate LISTENs and applies the change to its snapshot at once.
-- events.position: 1-based position in the list the event came from (NULL = none).
-- impressions.surface: the list's kind ("for_you", "similar", ...), NULL when not given.

alter table items add column available boolean not null default true;
alter table items add column updated_at timestamptz not null default now();
update items set updated_at = created_at;
create index items_updated_idx on items (updated_at);
create index items_category_idx on items (category text_pattern_ops);

create extension if not exists pg_trgm schema public;
do $$
declare
    ns text := (select n.nspname from pg_extension e
                join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm');
begin
    execute format('create index items_title_trgm_idx on items using gin (title %I.gin_trgm_ops)',
                   ns);
end $$;

create function rs_items_touch() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        new.updated_at := old.updated_at;
        if new is not distinct from old then
            return new;
        end if;
    end if;
    new.updated_at := now();
    return new;
end $$;
create trigger items_touch before insert or update on items
    for each row execute function rs_items_touch();

create function rs_items_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('catalog', '');
    return null;
end $$;
create trigger items_notify after insert or update or delete or truncate on items
    for each statement execute function rs_items_notify();

alter table events add column position int check (position >= 1);

alter table impressions add column surface text;
