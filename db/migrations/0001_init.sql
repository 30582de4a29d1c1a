-- 0001_init: the event store, catalog, users, impressions and the model registry.
-- Applied by scripts/migrate.sh (or `rs-ingest migrate`) inside one transaction; every name is
-- unqualified so the file can be applied into any schema chosen by search_path (tests do that).

create table items (
    item_id     bigint primary key,
    external_id text unique,
    title       text not null default '',
    category    text not null default '',          -- path like 'Home/Kitchen/Knives'
    brand       text not null default '',
    price       numeric(12,2),
    attributes  jsonb not null default '{}',
    in_stock    boolean not null default true,
    created_at  timestamptz not null default now()
);

create table users (
    user_id       bigint primary key,
    external_id   text unique,
    display_name  text,
    password_hash text,
    role          text not null default 'customer' check (role in ('customer', 'admin')),
    created_at    timestamptz not null default now()
);

-- The raw event log: append-only, range-partitioned by ts into monthly partitions
-- (events_yYYYYmMM) plus events_default for anything outside them. type is the rs.EventType
-- number: 1 view, 2 click, 3 add_to_cart, 4 purchase, 5 rating, 6 not_interested.
-- No foreign keys: ingest guarantees users/items rows exist (see services/ingest/README.md),
-- and bulk importers load catalog rows before events.
create table events (
    event_id    text collate "C" not null,
    user_id     bigint not null,
    item_id     bigint not null,
    type        smallint not null check (type between 1 and 6),
    value       double precision,
    price       numeric(12,2),
    ts          timestamptz not null,
    rec_id      text,
    variant     text,
    ingested_at timestamptz not null default now()
) partition by range (ts);

create table events_default partition of events default;

-- The feature service reads a user's recent history; trainers scan by time (partition pruning).
create index events_user_ts_idx on events (user_id, ts desc);

-- Global uniqueness of event_id across all partitions (a unique index on a partitioned table must
-- include the partition key, so it cannot enforce this). Ingest inserts here first with
-- ON CONFLICT DO NOTHING and writes to events only the ids that were new, in the same transaction.
-- collate "C": byte-wise comparison makes this index about 2x cheaper to maintain.
create table event_ids (
    event_id text collate "C" primary key
);

create table impressions (
    rec_id        text not null,
    user_id       bigint not null,
    item_id       bigint not null,
    position      int not null,
    model_version text,
    variant       text,
    ts            timestamptz not null default now()
);
create index impressions_rec_idx on impressions (rec_id);
create index impressions_ts_idx on impressions (ts);

create table model_versions (
    version    text primary key,
    created_at timestamptz not null default now(),
    path       text not null default '',
    metrics    jsonb not null default '{}',
    params     jsonb not null default '{}',
    active     boolean not null default false
);
-- At most one active version.
create unique index model_versions_one_active on model_versions (active) where active;

-- rs_events_ensure_partitions(from, to): make sure a monthly partition exists for every month
-- touching [from, to]. Rows already sitting in events_default for such a month are moved into the
-- new partition (otherwise ATTACH would fail), all inside the caller's transaction.
-- Returns the number of partitions created.
create function rs_events_ensure_partitions(p_from timestamptz, p_to timestamptz)
returns int language plpgsql as $$
declare
    m       date := date_trunc('month', p_from at time zone 'UTC')::date;
    last_m  date := date_trunc('month', p_to at time zone 'UTC')::date;
    lo      timestamptz;
    hi      timestamptz;
    part    text;
    created int := 0;
    ns      text := (select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                     where c.oid = 'events'::regclass);
begin
    if p_from is null or p_to is null or p_to < p_from then
        return 0;
    end if;
    while m <= last_m loop
        part := format('events_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        if to_regclass(format('%I.%I', ns, part)) is null then
            lo := (m::timestamp at time zone 'UTC');
            hi := ((m + interval '1 month')::timestamp at time zone 'UTC');
            execute format('create table %I.%I (like %I.events including defaults including constraints)',
                           ns, part, ns);
            execute format('with moved as (delete from %I.events_default where ts >= $1 and ts < $2 returning *) '
                           'insert into %I.%I select * from moved', ns, ns, part) using lo, hi;
            execute format('alter table %I.events attach partition %I.%I for values from (%L) to (%L)',
                           ns, ns, part, lo, hi);
            created := created + 1;
        end if;
        m := (m + interval '1 month')::date;
    end loop;
    return created;
end $$;

-- Twelve months back and three ahead from the time of migration; ingest extends this daily.
select rs_events_ensure_partitions(now() - interval '12 months', now() + interval '3 months');
