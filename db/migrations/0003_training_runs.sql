-- 0003_training_runs: every rs-train run that was given --dsn, and the data behind each model version.
--
-- rs-train inserts a row with status 'running' when a run starts and sets finished_at, status
-- ('finished' or 'failed', with the error), metrics, durations and the model version it published
-- when it ends. run_id is also the MLflow run id of the run's folder in the file store (--mlruns),
-- so both records of one run can be joined. Additive only: model_versions gains the fingerprint of
-- the data the version was trained on and the run that produced it.

create table training_runs (
    run_id           text primary key,
    command          text not null,                       -- 'pipeline', 'fit', ...
    started_at       timestamptz not null default now(),
    finished_at      timestamptz,
    status           text not null default 'running' check (status in ('running', 'finished', 'failed')),
    params           jsonb not null default '{}',          -- flags, weights, tuned parameters
    metrics          jsonb not null default '{}',          -- per model: NDCG@20, Recall@20, ...
    data_fingerprint text,                                 -- FNV-1a of the interactions (16 hex)
    durations        jsonb not null default '{}',          -- seconds per step
    git_revision     text,
    model_version    text,                                 -- model_versions.version it published
    error            text                                  -- why a failed run failed
);
create index training_runs_started_idx on training_runs (started_at desc);

alter table model_versions add column data_fingerprint text;
alter table model_versions add column run_id text;
