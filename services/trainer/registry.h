/* registry: what rs-train writes to PostgreSQL: training_runs rows (db/migrations/0003) and
 * model_versions rows plus their activation (rs_model_activate, db/migrations/0002).
 * All SQL is parameterized; JSON arguments are jsonb text. Errors carry PostgreSQL's message. */
#ifndef TR_REGISTRY_H
#define TR_REGISTRY_H

#include <libpq-fe.h>
#include <stddef.h>

#include "util.h"

/* tr_registry_connect: connect to dsn; RS_EUNAVAIL naming the reason. */
int tr_registry_connect(const char *dsn, PGconn **out, tr_error *err);

/* tr_registry_run_start: insert training_runs(run_id, command, params, git_revision) with
 * status 'running'. */
int tr_registry_run_start(PGconn *conn, const char *run_id, const char *command,
                          const char *params_json, const char *git_rev, tr_error *err);

/* tr_registry_run_finish: set finished_at = now(), status ('finished' | 'failed'), and
 * whatever of params/metrics/durations (jsonb), fingerprint, model_version, error is not
 * NULL. */
int tr_registry_run_finish(PGconn *conn, const char *run_id, const char *status,
                           const char *params_json, const char *metrics_json,
                           const char *durations_json, const char *fingerprint,
                           const char *model_version, const char *error, tr_error *err);

/* tr_registry_version_exists: *exists = 1 if model_versions has that version. */
int tr_registry_version_exists(PGconn *conn, const char *version, int *exists, tr_error *err);

/* tr_registry_version_run: *exists = 1 if model_versions has that version; run_id (size n)
 * then receives the id of the run that registered it ("" when none was recorded). */
int tr_registry_version_run(PGconn *conn, const char *version, int *exists, char *run_id, size_t n,
                            tr_error *err);

/* tr_registry_activate_new: in one transaction, insert the model_versions row (version, path,
 * metrics, params, data_fingerprint, run_id; created_at = now()) and, when activate, make it
 * the active one with rs_model_activate (which notifies the serving services). prev (size n)
 * receives the version that was active before (that stays active when !activate), "" if none.
 * On error nothing is changed. */
int tr_registry_activate_new(PGconn *conn, const char *version, const char *path,
                             const char *metrics_json, const char *params_json,
                             const char *fingerprint, const char *run_id, int activate, char *prev,
                             size_t n, tr_error *err);

/* tr_git_revision: $RS_GIT_REV, else `git rev-parse HEAD` in the current directory, else
 * "unknown", into buf. */
void tr_git_revision(char *buf, size_t n);

#endif
