-- 0009_events_history_index: a customer's history read from the index alone.
--
-- rs-feature loads a customer's history on first sight (services/feature/store.c): the newest
-- RS_FEATURE_HISTORY_CAP events in (ts desc, event_id desc) order and their count. With
-- events_user_ts_idx (user_id, ts desc) every event fetched its heap row, one page per event
-- (a customer's events lie on as many pages as they are events, in every monthly partition),
-- and the count visited them again: on the 10,000 x 20,000 bench shop ~1 ms of PostgreSQL's
-- CPU per first sight (docs/BENCHMARKS.md, issue 11). This index holds everything that read
-- returns, in its order, so it is an index-only scan (a few leaf pages per partition) wherever
-- the visibility map says the heap page is all-visible (vacuum sets it; autovacuum does so for
-- insert-only tables), and the order needs no sort. It serves every lookup by user_id the old
-- index served (experiments' attribution, rs_experiment_*), so that one is dropped: ingest
-- maintains one index per event, not two.
--
-- On a partitioned table the index is built in this migration's transaction (no CONCURRENTLY),
-- which holds off writes to events while it builds (the 1.74M-event bench shop: see
-- docs/BENCHMARKS.md, "Issue 11, session 8"). On a large store, build
-- the same index on every partition first (`create index concurrently ... on events_yYYYYmMM
-- (user_id, ts desc, event_id desc) include (item_id, type, value)`): this migration then
-- attaches those instead of building.
create index events_user_history_idx on events (user_id, ts desc, event_id desc)
    include (item_id, type, value);
drop index events_user_ts_idx;
