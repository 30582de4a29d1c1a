-- 0010_event_history: every customer's events in one unpartitioned table, the read model of
-- rs-feature's history load.
--
-- events is partitioned by month (ts), so a customer's history (services/feature/store.c: the
-- newest RS_FEATURE_HISTORY_CAP events and their count) was one index scan per partition, every
-- one of them started even when empty: with the 17 partitions of a shop created today (twelve
-- months back, three ahead, the default) that was most of PostgreSQL's ~0.9 ms of CPU per first
-- sight of a customer, and it grows by one partition a month. event_history holds the columns that
-- read returns, in one table ordered by the index the read walks, so a load is one index scan
-- whatever the number of partitions (docs/BENCHMARKS.md, issue 11, session 10).
--
-- It is kept by statement-level triggers on events, in the writer's transaction, so every writer
-- (rs-ingest's COPY and staging insert, rs-train's import and generator, tests' plain inserts)
-- keeps it equal to events without knowing it: an insert, update or delete through events
-- (the partitioned table) is mirrored, and so is a TRUNCATE. Statements on a single partition
-- are not: rs_events_ensure_partitions moves rows from events_default into a new partition that
-- way, and those rows are the same events before and after.
--
-- What ingest pays per event: a row and an index entry in event_history, and one index fewer on
-- events (this migration drops events_user_history_idx, below); bench/ingest/http.sh showed no
-- difference beyond the machine's swing (docs/BENCHMARKS.md, issue 11, session 10).
--
-- The backfill copies every event in this migration's transaction (the 1.74M-event bench shop:
-- a few seconds), which holds off writes to events while it runs.
create table event_history (
    user_id  bigint           not null,
    ts       timestamptz      not null,
    event_id text collate "C" not null,
    item_id  bigint           not null,
    type     smallint         not null,
    value    double precision
);

insert into event_history (user_id, ts, event_id, item_id, type, value)
    select user_id, ts, event_id, item_id, type, value from events order by user_id, ts;

create index event_history_user_idx on event_history (user_id, ts desc, event_id desc)
    include (item_id, type, value);

-- One function for the three row-changing triggers: an update is a delete of the old rows and
-- an insert of the new ones. Each statement is planned when first run, so a trigger without
-- ev_old (insert) or ev_new (delete) never needs the transition table it lacks.
create function rs_event_history_sync() returns trigger language plpgsql as $$
begin
    if tg_op in ('DELETE', 'UPDATE') then
        delete from event_history h using ev_old o
            where h.user_id = o.user_id and h.ts = o.ts and h.event_id = o.event_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into event_history (user_id, ts, event_id, item_id, type, value)
            select user_id, ts, event_id, item_id, type, value from ev_new;
    end if;
    return null;
end $$;

create function rs_event_history_truncate() returns trigger language plpgsql as $$
begin
    truncate event_history;
    return null;
end $$;

create trigger events_history_insert after insert on events
    referencing new table as ev_new for each statement execute function rs_event_history_sync();
create trigger events_history_delete after delete on events
    referencing old table as ev_old for each statement execute function rs_event_history_sync();
create trigger events_history_update after update on events
    referencing old table as ev_old new table as ev_new
    for each statement execute function rs_event_history_sync();
create trigger events_history_truncate after truncate on events
    for each statement execute function rs_event_history_truncate();

analyze event_history;

-- The other reads of events by customer, rs_experiment_kpis's retention (did the customer come
-- back on day 1 / day 7: `exists (select 1 from events e where e.user_id = ... and e.ts ...)`,
-- db/migrations/0007), read event_history too: the same rows, one index scan instead of one per
-- partition. Then nothing needs events_user_history_idx (0009), and ingest maintains
-- event_history's index instead of that one, not both. The function is redefined from its own
-- text with only the table name changed, and fails unless exactly those two lookups changed.
do $$
declare
    def text := pg_get_functiondef('rs_experiment_kpis(bigint, interval, interval)'::regprocedure);
    old text := 'from events e where e.user_id = c.user_id';
    n   int;
begin
    n := (length(def) - length(replace(def, old, ''))) / length(old);
    if n <> 2 then
        raise exception '0010: expected 2 lookups of events by customer in rs_experiment_kpis, found %', n;
    end if;
    execute replace(def, old, 'from event_history e where e.user_id = c.user_id');
end $$;

drop index events_user_history_idx;
