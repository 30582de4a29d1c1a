/* rs_model: read-only access to a published model version folder (its layout, named once:
 * rs_model_layout.h) and the machinery that keeps a service on the active version.
 *
 *   VERSION/manifest.json  format RS_MODEL_FORMAT, published.lmdb_layout == RS_MODEL_LAYOUT
 *                          (checked at open: another format or layout is refused)
 *   VERSION/data.mdb       named dbs items, item_codes, item_factors, neighbours, popular, meta;
 *                          two-stage versions also the ranker's item_features, transitions,
 *                          knn_rows, source_scores (rs_model_get; the learned ranker's sources:
 *                          rs_ranksrc.h)
 *
 * One LMDB environment per version and process (LMDB's rule: never open one file twice in a
 * process): every reader of a version, rs-ranking's learned ranker included, reads through its
 * rs_model.
 * rs_model: one opened version, immutable and reference-counted. rs_model_open loads what every
 * request needs in memory (code -> item id, an id -> code hash table, the item factors as one
 * contiguous row-major n x f float matrix for BLAS, where each code's neighbour and knn row is
 * in the map) and keeps the LMDB environment open for the rest: rows are read zero-copy in
 * place (the map of a read-only, immutable version never moves), the popular list in a short
 * read transaction. The last
 * rs_model_unref closes the environment, so a service can swap to a new version while requests
 * in flight keep the old one.
 *
 * LMDB flags: MDB_RDONLY | MDB_NOLOCK | MDB_NORDAHEAD. A published version is immutable (publish
 * refuses an existing folder and writes the manifest, which we require, only after the LMDB
 * commit), so there is never a writer and the lock file protects nothing. MDB_NOLOCK is also what
 * makes a swap back to the same folder safe: LMDB forbids opening one environment twice in a
 * process with locking on (closing one copy drops the other's fcntl locks), and a rollback can
 * reopen a folder whose old handle is still held by in-flight requests. It also needs no write
 * access to the folder (read-only mounts) and leaves no stale reader slots after a crash.
 *
 * rs_model_slot: the current version of a service (a mutex around one pointer; acquire = ref).
 * rs_model_watch: a background thread that follows PostgreSQL's model_versions table (the row
 * with active = true; LISTEN on channel "model_versions" plus a periodic check), opens a newly
 * activated version, lets the service prepare derived data, then swaps it into the slot.
 * Besides the active version, the watch keeps a small LRU cache of other published versions
 * that requests name (RequestHeader.model_version): rs_model_watch_get opens one on demand by
 * its model_versions row, with the same path rules and prepare callback, so a service can
 * serve several versions at once while everyone else keeps the active one.
 *
 * Errors are RS_E* (LMDB's codes are translated here): RS_ENOTFOUND (no such folder or file),
 * RS_EVERSION (another format or layout version), RS_ECORRUPT (inconsistent content), RS_EIO,
 * RS_ENOMEM. Functions that take err/errn write a one-line message there on failure. */
#ifndef RS_MODEL_H
#define RS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "rs_model_layout.h" /* RS_MODEL_LAYOUT: the published layout this code reads */

typedef struct rs_model rs_model;

/* One neighbour entry as stored in the neighbours db. */
typedef struct rs_model_nb {
	uint32_t code;
	float sim;
} rs_model_nb;

/* rs_model_open: open the version folder dir; version names it in responses (NULL: the folder's
 * base name). Returns 0 and *out (one reference), or an RS_E* with a message in err. */
int rs_model_open(const char *dir, const char *version, rs_model **out, char *err, size_t errn);

/* rs_model_path: the folder of a model_versions row (version, path) as every service resolves
 * it: an empty path means model_dir/version; a relative one resolves against model_dir ("" =
 * the working folder). Returns 0, or RS_EINVAL when it does not fit in n bytes. The gateway
 * checks a version before activating it with this and rs_model_open. */
int rs_model_path(const char *model_dir, const char *version, const char *path, char *out,
                  size_t n);

/* rs_model_ref / rs_model_unref (acquire / release): the last unref closes the environment and
 * frees everything, the aux data included. NULL is a no-op; ref returns its argument. */
rs_model *rs_model_ref(rs_model *m);
void rs_model_unref(rs_model *m);

const char *rs_model_version(const rs_model *m); /* borrowed, lives with m */
const char *rs_model_dir(const rs_model *m);
const char *rs_model_kind(const rs_model *m); /* "als", "itemknn", "two-stage", ... */
uint32_t rs_model_n_items(const rs_model *m);
uint32_t rs_model_factors(const rs_model *m); /* 0 when the version has no item factors */
int rs_model_has_neighbours(const rs_model *m);
int rs_model_has_ranker(const rs_model *m); /* VERSION/ranker.json exists */

/* rs_model_param: a numeric field of the manifest's "params" (e.g. "alpha", "reg"); def when
 * absent or not a number. */
double rs_model_param(const rs_model *m, const char *name, double def);

/* rs_model_code: the code of item_id (items whose stored id is not a decimal int64 are not
 * addressable by id). Returns 0 and *code, or RS_ENOTFOUND. O(1) (a hash table), no LMDB
 * access. */
int rs_model_code(const rs_model *m, int64_t item_id, uint32_t *code);

/* rs_model_item_id: the item id of code (0 if the stored id is not a decimal int64 or code is
 * out of range). */
int64_t rs_model_item_id(const rs_model *m, uint32_t code);

/* rs_model_item_ids: code -> item id for all codes (n_items entries), borrowed. */
const int64_t *rs_model_item_ids(const rs_model *m);

/* rs_model_item_factors: the n_items x factors row-major matrix (NULL without factors). */
const float *rs_model_item_factors(const rs_model *m);

/* rs_model_code_bytes: look an item id up by its stored bytes (item_codes db). 0 or
 * RS_ENOTFOUND / RS_EIO. */
int rs_model_code_bytes(const rs_model *m, const void *id, size_t len, uint32_t *code);

/* rs_model_neighbours: copy up to max neighbours of code (best first) into out. Returns the
 * number copied (0 when the item has none), or a negative RS_E*. O(1): every row was located
 * when the version opened (no transaction, no B-tree search per call). */
int rs_model_neighbours(const rs_model *m, uint32_t code, rs_model_nb *out, size_t max);

/* rs_model_source_scores: a two-stage version's published scores of its ranker source `name`
 * (db source_scores, e.g. "pop": n_items floats by code) copied into out (n_items floats).
 * 0, RS_ENOTFOUND (none published under that name), RS_ECORRUPT (another size), RS_EIO. */
int rs_model_source_scores(const rs_model *m, const char *name, float *out);

/* rs_model_has_knn_rows: 1 when the version published the itemknn source's full rows. */
int rs_model_has_knn_rows(const rs_model *m);

/* rs_model_knn_row: the knn_row of code (a two-stage version's itemknn source: {u32 code,
 * f32 sim} entries, codes ascending; native-endian and unaligned: memcpy each entry) in place
 * in the version's memory map, valid while m is referenced. O(1): located when the version
 * opened. 0, or RS_ENOTFOUND (no row for code, or no knn_rows published). */
int rs_model_knn_row(const rs_model *m, uint32_t code, const void **data, size_t *bytes);

/* rs_model_popular: copy up to max codes of the "all" popular list (best first). Returns the
 * number copied or a negative RS_E*. */
int rs_model_popular(const rs_model *m, uint32_t *out, size_t max);

/* ---- the rest of data.mdb, read in place (the learned ranker's serving data) ---- */

typedef enum rs_model_db {
	RS_MODEL_DB_ITEM_FEATURES, /* u32 code -> float32[RS_RANKFEAT_ITEM] */
	RS_MODEL_DB_TRANSITIONS,   /* u32 code -> {u32 code, float32 share}[], codes ascending */
	RS_MODEL_DB_KNN_ROWS,      /* u32 code -> {u32 code, float32 sim}[], codes ascending */
	RS_MODEL_DB_SOURCE_SCORES, /* source name ("pop") -> float32[items] */
	RS_MODEL_NDB,
} rs_model_db;

/* rs_model_has_db: 1 when the version has db (a two-stage version published with the ranker's
 * serving data), else 0. */
int rs_model_has_db(const rs_model *m, rs_model_db db);

/* A read transaction on the version's environment. Values read through it point into the
 * read-only map and stay valid until rs_model_read_end; hold the model meanwhile. */
typedef struct rs_model_read {
	void *r_txn;
} rs_model_read;

/* rs_model_read_begin: 0, or RS_EIO / RS_ENOMEM (rd is then empty; read_end is a no-op). */
int rs_model_read_begin(const rs_model *m, rs_model_read *rd);
void rs_model_read_end(rs_model_read *rd);

/* rs_model_get: the value of key (klen bytes) in db into *data, *len (in place: unaligned, copy
 * out with memcpy). Returns 0, RS_ENOTFOUND (no such key), RS_EINVAL (the version has no db, or
 * rd is empty), RS_EIO. rs_model_get_code: the same for a u32 code key. */
int rs_model_get(const rs_model *m, rs_model_read *rd, rs_model_db db, const void *key, size_t klen,
                 const void **data, size_t *len);
int rs_model_get_code(const rs_model *m, rs_model_read *rd, rs_model_db db, uint32_t code,
                      const void **data, size_t *len);

/* Per-version derived data of the service (e.g. a Gram matrix): set once before the model is
 * shared (the watch's prepare callback), freed by destroy on the last unref. */
void rs_model_set_aux(rs_model *m, void *aux, void (*destroy)(void *));
void *rs_model_aux(const rs_model *m);

/* rs_model_set_aux_bytes: the heap the aux holds (counted by rs_model_bytes); set it in the
 * prepare callback when the aux is large. */
void rs_model_set_aux_bytes(rs_model *m, size_t bytes);

/* rs_model_bytes: the heap a version holds: the code <-> id indexes (code -> id 8 bytes per
 * item, the id -> code hash table 8-16), the locations of the neighbour and knn rows (12 bytes
 * per item each, when published), the factor matrix (4 x items x factors bytes), the manifest
 * params and the aux bytes the service declared. The LMDB map (the rows themselves, the
 * popular list) is a read-only file mapping shared with the page cache and not counted. */
size_t rs_model_bytes(const rs_model *m);

/* ---- the current version of a service ---- */

typedef struct rs_model_slot rs_model_slot;

/* rs_model_slot_create: an empty slot (also registers the gauge
 * rs_model_info{version="..."}, 1 for the version in the slot, 0 for the ones before). */
int rs_model_slot_create(rs_model_slot **out);
void rs_model_slot_destroy(rs_model_slot *s); /* drops the slot's reference; NULL ok */

/* rs_model_slot_get: a reference to the current version (NULL if none); release it with
 * rs_model_unref when the request is done. */
rs_model *rs_model_slot_get(rs_model_slot *s);

/* rs_model_slot_set: m (whose reference moves to the slot; NULL clears) serves the next
 * request; the previous version is released (closed after its last request). */
void rs_model_slot_set(rs_model_slot *s, rs_model *m);

/* ---- following model_versions in PostgreSQL ---- */

typedef struct rs_model_watch_config {
	const char *pg_dsn;
	const char *model_dir; /* a relative model_versions.path resolves against it ("" = cwd);
	                          an empty path means model_dir/version */
	int poll_ms;           /* periodic check; <= 0: no thread (rs_model_watch_check only) */
	const char *svc;       /* for logs */
	/* prepare: called from the watch thread on a freshly opened version before it is swapped
	 * in (attach derived data with rs_model_set_aux). Nonzero refuses the version. May be
	 * NULL. */
	int (*prepare)(void *ud, rs_model *m);
	/* swapped: called after a swap (m = the new version, or NULL). May be NULL. */
	void (*swapped)(void *ud, rs_model *m);
	void *ud;
	/* cache_size: other (not active) versions rs_model_watch_get keeps open, least recently
	 * used evicted first (0..RS_MODEL_CACHE_MAX; 0 = none kept: every request that names one
	 * opens and closes it). Services read it from RS_<SVC>_MODEL_CACHE, default
	 * RS_MODEL_CACHE_DEFAULT. */
	int cache_size;
} rs_model_watch_config;

#define RS_MODEL_CACHE_DEFAULT 2
#define RS_MODEL_CACHE_MAX     16

typedef struct rs_model_watch rs_model_watch;

/* rs_model_watch_start: follow the active version into slot (first check at once, in the
 * background; a database that is down is not an error). Returns 0, RS_EINVAL, RS_ENOMEM. */
int rs_model_watch_start(rs_model_watch **out, const rs_model_watch_config *cfg,
                         rs_model_slot *slot);

/* rs_model_watch_check: check now (blocking; serialised with the thread; after a failed connect
 * the next attempt waits 5 s). Returns 0 (the slot holds the active version, or nothing when no
 * row is active), RS_EUNAVAIL / RS_EDB (database), or the open error of the active version (the
 * slot keeps what it had). */
int rs_model_watch_check(rs_model_watch *w);

/* rs_model_watch_stop: stop the thread and free (the slot is the caller's); the cached
 * versions are released (each closes after its last request). NULL ok. */
void rs_model_watch_stop(rs_model_watch *w);

/* ---- per-request versions ---- */

/* rs_model_watch_get: a reference to the published version named `version` for one request:
 *  - the slot's version when that is the one named (no database access);
 *  - else a cached version (it becomes the most recently used);
 *  - else (blocking, on the caller's thread) its model_versions row is read on the watch's
 *    own lookup connection (one parameterized query), the folder opened and prepared exactly
 *    like an activated one, and kept in the cache, evicting the least recently used version
 *    when cache_size are open (an evicted version closes after its last request).
 * Two requests missing the same version at once may both open it; one copy is kept. When a
 * cached version is activated, the watch moves it into the slot instead of opening it again.
 * Release the reference with rs_model_unref. Returns 0 and *out; RS_EINVAL (empty name),
 * RS_ENOTFOUND (no model_versions row of that name: "not published"), RS_EUNAVAIL / RS_EDB
 * (database), or the open / prepare error of the version's folder; err says why. Requests
 * that name no version never call this: the active version is untouched by it. */
int rs_model_watch_get(rs_model_watch *w, const char *version, rs_model **out, char *err,
                       size_t errn);

/* rs_model_watch_cached: how many versions the cache holds; when buf is not NULL, their names
 * comma-separated, most recently used first, into buf (n bytes, truncated). For tests, health
 * details and logs. */
int rs_model_watch_cached(rs_model_watch *w, char *buf, size_t n);

#endif
