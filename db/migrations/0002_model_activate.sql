-- 0002_model_activate: rollback / roll forward of the serving model in one call.
--
--   select rs_model_activate('2026-11-28.1');   -- returns the version that was active (or null)
--
-- Makes exactly that model_versions row the active one, atomically: readers see the old or the
-- new active row, never none or two (both updates commit together; the table lock serialises
-- concurrent activations, which would otherwise trip model_versions_one_active). On commit it
-- notifies channel 'model_versions' (payload: the version); rs-candidate, rs-feature and
-- rs-ranking LISTEN on it and also poll, open the version's folder (model_versions.path,
-- relative paths against their RS_MODEL_DIR) and swap to it without failing a request.
-- An unknown version raises an error and changes nothing. Activating the active one only
-- notifies again.
create function rs_model_activate(p_version text)
returns text language plpgsql as $$
declare
    prev text;
begin
    lock table model_versions in exclusive mode;
    if not exists (select 1 from model_versions where version = p_version) then
        raise exception 'rs_model_activate: unknown model version %', p_version
            using errcode = 'no_data_found';
    end if;
    select version into prev from model_versions where active;
    update model_versions set active = false where active and version <> p_version;
    update model_versions set active = true where version = p_version and not active;
    perform pg_notify('model_versions', p_version);
    return prev;
end $$;
