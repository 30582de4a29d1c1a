-- 0008_experiment_model_kinds: an experiment's variant may follow a model kind instead of a
-- fixed version (services/gateway/experiments.h). (0007 is left to a migration written in
-- parallel.)
--
-- experiment_variants.model_kind: the kind of model ('als', 'two-stage', ...) the variant
--   serves: the gateway's refresher resolves it every refresh period to the newest published
--   version of that kind, so a version published while the experiment runs (rs-train pipeline
--   --no-activate, rs-train simulate --retrain) is served within one period. A version's kind
--   is model_versions.params->>'model' (written by rs-train pipeline, pl_params_json); rows
--   without it (registered by hand) belong to no kind. A 'model' variant names exactly one of
--   model_version and model_kind, a 'popular' one neither.
alter table experiment_variants
    add column model_kind text check (model_kind ~ '^[a-z0-9_-]{1,32}$');
alter table experiment_variants drop constraint experiment_variants_check;
alter table experiment_variants add constraint experiment_variants_what_check check (
    (strategy = 'model' and num_nonnulls(model_version, model_kind) = 1)
    or (strategy = 'popular' and num_nonnulls(model_version, model_kind) = 0));

-- the refresher's lookup: the newest version of a kind
create index model_versions_kind_idx on model_versions ((params ->> 'model'), created_at desc);
