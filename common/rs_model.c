/* rs_model: see rs_model.h. */
#include "rs_model.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rs_err.h"
#include "rs_idmap.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_pg.h"
#include "rs_time.h"

/* The rows of a db that requests read by code, located once when the version opens: a
 * published version is immutable and opened MDB_RDONLY, so its memory map and every value in
 * it stay put while the environment is open (LMDB never remaps a read-only environment), and a
 * request reads a row with no transaction and no B-tree search. */
typedef struct model_rows {
	const void **ptr; /* n_items: the value of code, NULL = none */
	uint32_t *len;    /* its bytes */
} model_rows;

struct rs_model {
	atomic_int refs;
	char *dir, *version, *kind;
	MDB_env *env;
	MDB_dbi d_items, d_codes, d_nb, d_pop;
	MDB_dbi d_opt[RS_MODEL_NDB]; /* the ranker's serving data (has_opt: present) */
	int has_opt[RS_MODEL_NDB];
	uint32_t n_items, factors;
	int has_nb, has_ranker, has_knn, has_src;
	int64_t *ids;   /* code -> item id (0 if not numeric) */
	rs_idmap codes; /* item id -> code (the lowest code of a repeated id), over ids */
	model_rows nb_rows, knn_rows; /* neighbours, knn_rows (when has_nb, has_knn) */
	float *fac;                   /* n_items x factors, 64-byte aligned */
	json_t *params;               /* manifest "params" (owned) */
	void *aux;
	void (*aux_destroy)(void *);
	size_t aux_bytes; /* declared by the service (rs_model_set_aux_bytes) */
};

/* LMDB and errno codes become RS_E* here, where they enter. */
static int
model_mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
	case ENOENT:
		return RS_ENOTFOUND;
	case ENOMEM:
		return RS_ENOMEM;
	case MDB_VERSION_MISMATCH:
		return RS_EVERSION;
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_VALSIZE:
		return RS_ECORRUPT;
	default:
		return RS_EIO;
	}
}

/* the row of every code of dbi (keys: u32 codes) into r; 0 or an RS_E* */
static int
model_rows_build(rs_model *m, MDB_txn *txn, MDB_dbi dbi, model_rows *r)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	r->ptr = calloc(m->n_items ? m->n_items : 1, sizeof(*r->ptr));
	r->len = calloc(m->n_items ? m->n_items : 1, sizeof(*r->len));
	if (r->ptr == NULL || r->len == NULL)
		return RS_ENOMEM;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return model_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint32_t code = UINT32_MAX;
		if (k.mv_size == sizeof(code))
			memcpy(&code, k.mv_data, sizeof(code));
		if (code >= m->n_items || v.mv_size > UINT32_MAX) {
			mdb_cursor_close(cur);
			return RS_ECORRUPT;
		}
		r->ptr[code] = v.mv_data;
		r->len[code] = (uint32_t) v.mv_size;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : model_mdb_err(rc);
}

static void
model_rows_free(model_rows *r)
{
	free(r->ptr);
	free(r->len);
}

/* Parses a stored id ("123") as a positive int64; 0 when it is anything else. */
static int64_t
model_parse_id(const char *p, size_t n)
{
	char buf[24];
	char *end;
	long long v;
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || buf[0] == '+' || buf[0] == ' ')
		return 0;
	return (int64_t) v;
}

/* manifest.json: format and layout version, kind, params. */
static int
model_manifest(rs_model *m, char *err, size_t errn)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root, *pub, *params;
	const char *format, *kind;
	int layout, rv = 0;

	snprintf(path, sizeof(path), "%s/" RS_MODEL_MANIFEST, m->dir);
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		struct stat st;
		if (stat(path, &st) != 0)
			return rs_err_fmt(err, errn, RS_ENOTFOUND,
			                  "%s: missing (not a published model version)", path);
		return rs_err_fmt(err, errn, RS_ECORRUPT, "%s: %s", path, jerr.text);
	}
	format = json_string_value(json_object_get(root, "format"));
	kind = json_string_value(json_object_get(root, "model"));
	pub = json_object_get(root, "published");
	if (format == NULL || strcmp(format, RS_MODEL_FORMAT) != 0) {
		rv = rs_err_fmt(err, errn, RS_EVERSION, "%s: format \"%s\", expected \"%s\"", path,
		                format ? format : "", RS_MODEL_FORMAT);
		goto out;
	}
	if (!json_is_object(pub) || !json_is_integer(json_object_get(pub, "lmdb_layout"))) {
		rv = rs_err_fmt(err, errn, RS_EVERSION,
		                "%s: a model folder, not a published version (no "
		                "published.lmdb_layout); run rs-train publish",
		                path);
		goto out;
	}
	layout = (int) json_integer_value(json_object_get(pub, "lmdb_layout"));
	if (layout != RS_MODEL_LAYOUT) {
		rv = rs_err_fmt(err, errn, RS_EVERSION,
		                "%s: published layout version %d, this service reads layout %d",
		                path, layout, RS_MODEL_LAYOUT);
		goto out;
	}
	if ((m->kind = strdup(kind != NULL ? kind : "")) == NULL) {
		rv = RS_ENOMEM;
		goto out;
	}
	params = json_object_get(root, "params");
	m->params = json_is_object(params) ? json_incref(params) : json_object();
out:
	json_decref(root);
	return rv;
}

static int
model_get_u32(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t *out)
{
	MDB_val k = {strlen(key), (void *) key}, v;
	int rc = mdb_get(txn, dbi, &k, &v);
	if (rc != 0)
		return model_mdb_err(rc);
	if (v.mv_size != sizeof(uint32_t))
		return RS_ECORRUPT;
	memcpy(out, v.mv_data, sizeof(*out));
	return 0;
}

/* The optional dbs, by rs_model_db. */
static const struct {
	const char *name;
	unsigned flags;
} model_opt_db[RS_MODEL_NDB] = {
        [RS_MODEL_DB_ITEM_FEATURES] = {RS_MDB_ITEM_FEATURES, MDB_INTEGERKEY},
        [RS_MODEL_DB_TRANSITIONS] = {RS_MDB_TRANSITIONS, MDB_INTEGERKEY},
        [RS_MODEL_DB_KNN_ROWS] = {RS_MDB_KNN_ROWS, MDB_INTEGERKEY},
        [RS_MODEL_DB_SOURCE_SCORES] = {RS_MDB_SOURCE_SCORES, 0},
};

/* The LMDB part: dbis, sizes, ids and factors into memory. */
/* A data.mdb shorter than its meta pages say (cut by a copy or a full disk): LMDB reads the
 * missing pages through its memory map, which is SIGBUS, not an error. So the file must hold
 * every page up to the last one the meta names before any page beyond the metas is read. */
static int
model_check_size(rs_model *m, char *err, size_t errn)
{
	MDB_envinfo info;
	MDB_stat st;
	struct stat fst;
	char path[PATH_MAX];
	int rc;

	if ((rc = mdb_env_info(m->env, &info)) != 0 || (rc = mdb_env_stat(m->env, &st)) != 0)
		return rs_err_fmt(err, errn, model_mdb_err(rc), "%s/data.mdb: %s", m->dir,
		                  mdb_strerror(rc));
	snprintf(path, sizeof(path), "%s/data.mdb", m->dir);
	if (stat(path, &fst) != 0)
		return rs_err_fmt(err, errn, RS_EIO, "%s: %s", path, strerror(errno));
	unsigned long long need = ((unsigned long long) info.me_last_pgno + 1) * st.ms_psize;
	if ((unsigned long long) fst.st_size < need)
		return rs_err_fmt(err, errn, RS_ECORRUPT,
		                  "%s: truncated: %lld bytes, its last page ends at byte %llu",
		                  path, (long long) fst.st_size, need);
	return 0;
}

static int
model_load(rs_model *m, char *err, size_t errn)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi d_meta, d_fac;
	MDB_val k, v;
	int rc, rv;
	uint32_t n_seen = 0;

#define MDB_TRY(call, what)                                                                  \
	do {                                                                                 \
		if ((rc = (call)) != 0) {                                                    \
			rv = rs_err_fmt(err, errn, model_mdb_err(rc), "%s/data.mdb: %s: %s", \
			                m->dir, what, mdb_strerror(rc));                     \
			goto out;                                                            \
		}                                                                            \
	} while (0)

	MDB_TRY(mdb_env_create(&m->env), "env");
	MDB_TRY(mdb_env_set_maxdbs(m->env, RS_MODEL_MAX_DBS), "maxdbs");
	MDB_TRY(mdb_env_open(m->env, m->dir, MDB_RDONLY | MDB_NOLOCK | MDB_NORDAHEAD, 0644),
	        "open");
	if ((rv = model_check_size(m, err, errn)) != 0)
		goto out;
	MDB_TRY(mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn), "begin");
	MDB_TRY(mdb_dbi_open(txn, RS_MDB_ITEMS, MDB_INTEGERKEY, &m->d_items), "db items");
	MDB_TRY(mdb_dbi_open(txn, RS_MDB_ITEM_CODES, 0, &m->d_codes), "db item_codes");
	MDB_TRY(mdb_dbi_open(txn, RS_MDB_ITEM_FACTORS, MDB_INTEGERKEY, &d_fac), "db item_factors");
	MDB_TRY(mdb_dbi_open(txn, RS_MDB_NEIGHBOURS, MDB_INTEGERKEY, &m->d_nb), "db neighbours");
	MDB_TRY(mdb_dbi_open(txn, RS_MDB_POPULAR, 0, &m->d_pop), "db popular");
	MDB_TRY(mdb_dbi_open(txn, RS_MDB_META, 0, &d_meta), "db meta");
	/* the ranker's serving data, present only in two-stage versions since feature layout 1 */
	for (int d = 0; d < RS_MODEL_NDB; d++) {
		rc = mdb_dbi_open(txn, model_opt_db[d].name, model_opt_db[d].flags, &m->d_opt[d]);
		if (rc != 0 && rc != MDB_NOTFOUND)
			MDB_TRY(rc, model_opt_db[d].name);
		m->has_opt[d] = rc == 0;
	}
	m->has_knn = m->has_opt[RS_MODEL_DB_KNN_ROWS];
	m->has_src = m->has_opt[RS_MODEL_DB_SOURCE_SCORES];
	if ((rv = model_get_u32(txn, d_meta, RS_MDB_META_ITEMS, &m->n_items)) != 0 ||
	    (rv = model_get_u32(txn, d_meta, RS_MDB_META_FACTORS, &m->factors)) != 0) {
		rv = rs_err_fmt(err, errn, RS_ECORRUPT, "%s/data.mdb: meta items/factors: %s",
		                m->dir, rs_strerror(rv));
		goto out;
	}
	if (m->factors > 4096) {
		rv = rs_err_fmt(err, errn, RS_ECORRUPT, "%s/data.mdb: %u factors", m->dir,
		                m->factors);
		goto out;
	}
	/* Every allocation below is sized by n_items: check it against the items db before
	 * trusting it (a corrupt count of 4 billion asked for 32 GiB; found by tests/fuzz
	 * model_file). */
	{
		MDB_stat ms;
		MDB_TRY(mdb_stat(txn, m->d_items, &ms), "stat items");
		if (ms.ms_entries != m->n_items) {
			rv = rs_err_fmt(err, errn, RS_ECORRUPT,
			                "%s/data.mdb: %zu item ids for %u items", m->dir,
			                ms.ms_entries, m->n_items);
			goto out;
		}
	}
	rv = RS_ENOMEM;
	if ((m->ids = calloc(m->n_items ? m->n_items : 1, sizeof(*m->ids))) == NULL)
		goto out;
	MDB_TRY(mdb_cursor_open(txn, m->d_items, &cur), "cursor items");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint32_t code;
		if (k.mv_size != sizeof(code)) {
			rv = rs_err_fmt(err, errn, RS_ECORRUPT, "%s/data.mdb: items key size %zu",
			                m->dir, k.mv_size);
			goto out;
		}
		memcpy(&code, k.mv_data, sizeof(code));
		if (code >= m->n_items) {
			rv = rs_err_fmt(err, errn, RS_ECORRUPT,
			                "%s/data.mdb: item code %u >= %u items", m->dir, code,
			                m->n_items);
			goto out;
		}
		m->ids[code] = model_parse_id(v.mv_data, v.mv_size);
		n_seen++;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if (rc != MDB_NOTFOUND || n_seen != m->n_items) {
		rv = rs_err_fmt(err, errn, RS_ECORRUPT, "%s/data.mdb: %u item ids for %u items",
		                m->dir, n_seen, m->n_items);
		goto out;
	}
	if ((rv = rs_idmap_index(&m->codes, m->ids, m->n_items)) != 0)
		goto out;
	if (m->factors > 0) {
		size_t row = (size_t) m->factors * sizeof(float);
		size_t bytes = ((size_t) m->n_items * row + 63) / 64 * 64;
		uint32_t n_fac = 0;
		if ((m->fac = aligned_alloc(64, bytes ? bytes : 64)) == NULL) {
			rv = RS_ENOMEM;
			goto out;
		}
		memset(m->fac, 0, bytes);
		MDB_TRY(mdb_cursor_open(txn, d_fac, &cur), "cursor item_factors");
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			uint32_t code = UINT32_MAX;
			if (k.mv_size == sizeof(code))
				memcpy(&code, k.mv_data, sizeof(code));
			if (code >= m->n_items || v.mv_size != row) {
				rv = rs_err_fmt(err, errn, RS_ECORRUPT,
				                "%s/data.mdb: item_factors entry (code %u, %zu "
				                "bytes) does not fit %u items x %u factors",
				                m->dir, code, v.mv_size, m->n_items, m->factors);
				goto out;
			}
			memcpy(m->fac + (size_t) code * m->factors, v.mv_data, row);
			n_fac++;
		}
		mdb_cursor_close(cur);
		cur = NULL;
		if (n_fac != m->n_items) {
			rv = rs_err_fmt(err, errn, RS_ECORRUPT,
			                "%s/data.mdb: %u factor rows for %u items", m->dir, n_fac,
			                m->n_items);
			goto out;
		}
	}
	{
		MDB_stat ms;
		MDB_TRY(mdb_stat(txn, m->d_nb, &ms), "stat neighbours");
		m->has_nb = ms.ms_entries > 0;
	}
	if ((m->has_nb && (rv = model_rows_build(m, txn, m->d_nb, &m->nb_rows)) != 0) ||
	    (m->has_knn &&
	     (rv = model_rows_build(m, txn, m->d_opt[RS_MODEL_DB_KNN_ROWS], &m->knn_rows)) != 0)) {
		rv = rs_err_fmt(err, errn, rv, "%s/data.mdb: neighbours / knn_rows: %s", m->dir,
		                rs_strerror(rv));
		goto out;
	}
	/* A committed read transaction keeps its dbi handles open for the environment. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	MDB_TRY(rc, "commit");
	rv = 0;
#undef MDB_TRY
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rv;
}

static void
model_free(rs_model *m)
{
	if (m == NULL)
		return;
	if (m->aux_destroy != NULL)
		m->aux_destroy(m->aux);
	if (m->env != NULL)
		mdb_env_close(m->env);
	json_decref(m->params);
	free(m->fac);
	free(m->ids);
	rs_idmap_fini(&m->codes);
	model_rows_free(&m->nb_rows);
	model_rows_free(&m->knn_rows);
	free(m->dir);
	free(m->version);
	free(m->kind);
	free(m);
}

int
rs_model_open(const char *dir, const char *version, rs_model **out, char *err, size_t errn)
{
	rs_model *m;
	struct stat st;
	char path[PATH_MAX];
	int rv;

	if (dir == NULL || dir[0] == '\0' || out == NULL)
		return rs_err_fmt(err, errn, RS_EINVAL, "no model folder given");
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return rs_err_fmt(err, errn, RS_ENOTFOUND, "%s: not a folder", dir);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return RS_ENOMEM;
	atomic_init(&m->refs, 1);
	if (version == NULL || version[0] == '\0') {
		const char *slash;
		size_t n = strlen(dir);
		while (n > 1 && dir[n - 1] == '/')
			n--;
		slash = memrchr(dir, '/', n);
		version = slash != NULL ? slash + 1 : dir;
		m->version = strndup(version, n - (size_t) (version - dir));
	} else {
		m->version = strdup(version);
	}
	m->dir = strdup(dir);
	if (m->dir == NULL || m->version == NULL) {
		model_free(m);
		return RS_ENOMEM;
	}
	if ((rv = model_manifest(m, err, errn)) != 0 || (rv = model_load(m, err, errn)) != 0) {
		model_free(m);
		return rv;
	}
	snprintf(path, sizeof(path), "%s/" RS_MODEL_RANKER, dir);
	m->has_ranker = stat(path, &st) == 0;
	*out = m;
	return 0;
}

rs_model *
rs_model_ref(rs_model *m)
{
	if (m != NULL)
		atomic_fetch_add(&m->refs, 1);
	return m;
}

void
rs_model_unref(rs_model *m)
{
	if (m != NULL && atomic_fetch_sub(&m->refs, 1) == 1)
		model_free(m);
}

const char *
rs_model_version(const rs_model *m)
{
	return m->version;
}

const char *
rs_model_dir(const rs_model *m)
{
	return m->dir;
}

const char *
rs_model_kind(const rs_model *m)
{
	return m->kind;
}

uint32_t
rs_model_n_items(const rs_model *m)
{
	return m->n_items;
}

uint32_t
rs_model_factors(const rs_model *m)
{
	return m->factors;
}

int
rs_model_has_neighbours(const rs_model *m)
{
	return m->has_nb;
}

int
rs_model_has_ranker(const rs_model *m)
{
	return m->has_ranker;
}

double
rs_model_param(const rs_model *m, const char *name, double def)
{
	json_t *v = json_object_get(m->params, name);
	return json_is_number(v) ? json_number_value(v) : def;
}

int
rs_model_code(const rs_model *m, int64_t item_id, uint32_t *code)
{
	int64_t c = rs_idmap_find(&m->codes, item_id);
	if (c < 0)
		return RS_ENOTFOUND;
	*code = (uint32_t) c;
	return 0;
}

int64_t
rs_model_item_id(const rs_model *m, uint32_t code)
{
	return code < m->n_items ? m->ids[code] : 0;
}

const int64_t *
rs_model_item_ids(const rs_model *m)
{
	return m->ids;
}

const float *
rs_model_item_factors(const rs_model *m)
{
	return m->fac;
}

int
rs_model_code_bytes(const rs_model *m, const void *id, size_t len, uint32_t *code)
{
	MDB_txn *txn;
	MDB_val k = {len, (void *) id}, v;
	int rc, rv;

	if (len == 0 || len > 511)
		return RS_ENOTFOUND;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return model_mdb_err(rc);
	rc = mdb_get(txn, m->d_codes, &k, &v);
	rv = rc != 0 ? model_mdb_err(rc) : v.mv_size != sizeof(*code) ? RS_ECORRUPT : 0;
	if (rv == 0)
		memcpy(code, v.mv_data, sizeof(*code));
	mdb_txn_abort(txn);
	return rv;
}

/* Copies the value of key in dbi (up to max elements of size el); count or RS_E*. */
static int
model_copy(const rs_model *m, MDB_dbi dbi, const void *key, size_t klen, void *out, size_t el,
           size_t max)
{
	MDB_txn *txn;
	MDB_val k = {klen, (void *) key}, v;
	int rc, n;

	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return model_mdb_err(rc);
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return 0;
	}
	if (rc != 0 || v.mv_size % el != 0) {
		mdb_txn_abort(txn);
		return rc != 0 ? model_mdb_err(rc) : RS_ECORRUPT;
	}
	n = (int) (v.mv_size / el < max ? v.mv_size / el : max);
	memcpy(out, v.mv_data, (size_t) n * el);
	mdb_txn_abort(txn);
	return n;
}

int
rs_model_source_scores(const rs_model *m, const char *name, float *out)
{
	MDB_txn *txn;
	MDB_val k = {strlen(name), (void *) name}, v;
	int rc, rv;

	if (!m->has_src)
		return RS_ENOTFOUND;
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0)
		return model_mdb_err(rc);
	rc = mdb_get(txn, m->d_opt[RS_MODEL_DB_SOURCE_SCORES], &k, &v);
	rv = rc != 0                                            ? model_mdb_err(rc)
	     : v.mv_size != (size_t) m->n_items * sizeof(float) ? RS_ECORRUPT
	                                                        : 0;
	if (rv == 0)
		memcpy(out, v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	return rv;
}

int
rs_model_has_knn_rows(const rs_model *m)
{
	return m->has_knn;
}

int
rs_model_knn_row(const rs_model *m, uint32_t code, const void **data, size_t *bytes)
{
	if (!m->has_knn || code >= m->n_items || m->knn_rows.ptr[code] == NULL)
		return RS_ENOTFOUND;
	*data = m->knn_rows.ptr[code];
	*bytes = m->knn_rows.len[code];
	return 0;
}

int
rs_model_neighbours(const rs_model *m, uint32_t code, rs_model_nb *out, size_t max)
{
	if (!m->has_nb || code >= m->n_items || m->nb_rows.ptr[code] == NULL)
		return 0;
	if (m->nb_rows.len[code] % sizeof(*out) != 0)
		return RS_ECORRUPT;
	size_t n = m->nb_rows.len[code] / sizeof(*out);
	n = n < max ? n : max;
	memcpy(out, m->nb_rows.ptr[code], n * sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (out[i].code >= m->n_items)
			return RS_ECORRUPT;
	return (int) n;
}

int
rs_model_popular(const rs_model *m, uint32_t *out, size_t max)
{
	int n = model_copy(m, m->d_pop, RS_MDB_POPULAR_ALL, strlen(RS_MDB_POPULAR_ALL), out,
	                   sizeof(*out), max);
	for (int i = 0; i < n; i++)
		if (out[i] >= m->n_items)
			return RS_ECORRUPT;
	return n;
}

int
rs_model_has_db(const rs_model *m, rs_model_db db)
{
	return db >= 0 && db < RS_MODEL_NDB && m->has_opt[db];
}

int
rs_model_read_begin(const rs_model *m, rs_model_read *rd)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn);
	rd->r_txn = rc == 0 ? txn : NULL;
	return model_mdb_err(rc);
}

void
rs_model_read_end(rs_model_read *rd)
{
	if (rd->r_txn != NULL)
		mdb_txn_abort(rd->r_txn);
	rd->r_txn = NULL;
}

int
rs_model_get(const rs_model *m, rs_model_read *rd, rs_model_db db, const void *key, size_t klen,
             const void **data, size_t *len)
{
	MDB_val k = {klen, (void *) key}, v;
	if (!rs_model_has_db(m, db) || rd->r_txn == NULL)
		return RS_EINVAL;
	int rc = mdb_get(rd->r_txn, m->d_opt[db], &k, &v);
	if (rc != 0)
		return model_mdb_err(rc);
	*data = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
rs_model_get_code(const rs_model *m, rs_model_read *rd, rs_model_db db, uint32_t code,
                  const void **data, size_t *len)
{
	unsigned int k = code; /* MDB_INTEGERKEY keys are unsigned ints */
	return rs_model_get(m, rd, db, &k, sizeof(k), data, len);
}

void
rs_model_set_aux(rs_model *m, void *aux, void (*destroy)(void *))
{
	m->aux = aux;
	m->aux_destroy = destroy;
}

void *
rs_model_aux(const rs_model *m)
{
	return m->aux;
}

void
rs_model_set_aux_bytes(rs_model *m, size_t bytes)
{
	m->aux_bytes = bytes;
}

size_t
rs_model_bytes(const rs_model *m)
{
	size_t n = sizeof(*m) + strlen(m->dir) + strlen(m->version) + strlen(m->kind) + 3;
	n += (size_t) m->n_items * sizeof(*m->ids) + rs_idmap_bytes(&m->codes);
	if (m->has_nb)
		n += (size_t) m->n_items * (sizeof(*m->nb_rows.ptr) + sizeof(*m->nb_rows.len));
	if (m->has_knn)
		n += (size_t) m->n_items * (sizeof(*m->knn_rows.ptr) + sizeof(*m->knn_rows.len));
	if (m->fac != NULL)
		n += (size_t) m->n_items * m->factors * sizeof(float);
	return n + m->aux_bytes;
}

/* ---- slot ---- */

struct rs_model_slot {
	pthread_mutex_t mu;
	rs_model *cur;
	rs_metric *info; /* rs_model_info{version=cur} */
};

int
rs_model_slot_create(rs_model_slot **out)
{
	rs_model_slot *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return 0;
}

void
rs_model_slot_destroy(rs_model_slot *s)
{
	if (s == NULL)
		return;
	rs_model_unref(s->cur);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

rs_model *
rs_model_slot_get(rs_model_slot *s)
{
	pthread_mutex_lock(&s->mu);
	rs_model *m = rs_model_ref(s->cur);
	pthread_mutex_unlock(&s->mu);
	return m;
}

void
rs_model_slot_set(rs_model_slot *s, rs_model *m)
{
	char labels[300];
	rs_metric *info = NULL;

	if (m != NULL) {
		snprintf(labels, sizeof(labels), "version=\"%s\"", m->version);
		info = rs_metrics_gauge(
		        "rs_model_info",
		        "The model version serving requests (1) and earlier ones (0)", labels);
	}
	pthread_mutex_lock(&s->mu);
	rs_model *old = s->cur;
	rs_metric *old_info = s->info;
	s->cur = m;
	s->info = info;
	pthread_mutex_unlock(&s->mu);
	if (old_info != info)
		rs_metric_set(old_info, 0);
	rs_metric_set(info, 1);
	rs_model_unref(old); /* closed once its last request lets go */
}

/* ---- watch ---- */

#define WATCH_RECONNECT_MS 5000

struct rs_model_watch {
	rs_model_watch_config cfg;
	char *dsn, *dir, *svc;
	rs_model_slot *slot;
	pthread_mutex_t mu; /* one check at a time; guards pg and the fields below */
	PGconn *pg;
	int listening;
	double connect_failed_at;        /* a failed connect is retried after WATCH_RECONNECT_MS */
	char failed_key[PATH_MAX + 256]; /* version|path that failed to open */
	double failed_at;
	pthread_t thread;
	int thread_started;
	atomic_int stop;
	/* per-request versions (rs_model_watch_get) */
	pthread_mutex_t lmu; /* the lookup connection */
	PGconn *lpg;
	double lpg_failed_at;
	pthread_mutex_t cmu; /* the cache */
	struct watch_cached *cache;
	int cache_n, cache_cap;
	uint64_t cache_tick;
	rs_metric *c_hit, *c_miss, *c_evict, *c_versions, *c_bytes;
};

typedef struct watch_cached {
	rs_model *m;
	uint64_t used; /* cache_tick of the last use */
} watch_cached;

static void
watch_disconnect(rs_model_watch *w)
{
	if (w->pg != NULL)
		PQfinish(w->pg);
	w->pg = NULL;
	w->listening = 0;
}

static int
watch_connect(rs_model_watch *w)
{
	int rv;
	if (w->pg != NULL && PQstatus(w->pg) == CONNECTION_OK)
		return 0;
	watch_disconnect(w);
	if (w->connect_failed_at > 0 && rs_mono_ms() - w->connect_failed_at < WATCH_RECONNECT_MS)
		return RS_EUNAVAIL; /* no connect storm (and log line) every poll while it is down
		                     */
	if ((rv = rs_pg_connect(w->dsn, &w->pg)) != 0) {
		w->pg = NULL;
		w->connect_failed_at = rs_mono_ms();
		return rv;
	}
	w->connect_failed_at = 0;
	/* LISTEN is best effort: the periodic check alone is correct, only slower. */
	w->listening = rs_pg_exec(w->pg, "listen model_versions", 0, NULL, PGRES_COMMAND_OK,
	                          "model.listen") == 0;
	return 0;
}

static rs_model *watch_cache_take(rs_model_watch *w, const char *version, const char *dir);
static int watch_lookup_connect_locked(rs_model_watch *w);

int
rs_model_path(const char *model_dir, const char *version, const char *p, char *path, size_t n)
{
	int len;
	if (p[0] == '\0')
		len = snprintf(path, n, "%s%s%s", model_dir, model_dir[0] ? "/" : "", version);
	else if (p[0] == '/' || model_dir[0] == '\0')
		len = snprintf(path, n, "%s", p);
	else
		len = snprintf(path, n, "%s/%s", model_dir, p);
	return len < 0 || (size_t) len >= n ? RS_EINVAL : 0;
}

static int
watch_path(const rs_model_watch *w, const char *version, const char *p, char *path, size_t n)
{
	return rs_model_path(w->dir, version, p, path, n);
}

static int
watch_check_locked(rs_model_watch *w)
{
	PGresult *r;
	char path[PATH_MAX], key[sizeof(w->failed_key)], err[512];
	const char *version, *p;
	rs_model *cur, *m = NULL;
	int rv;

	if ((rv = watch_connect(w)) != 0)
		return rv;
	r = PQexec(w->pg, "select version, path from model_versions where active limit 1");
	if ((rv = rs_pg_check(w->pg, r, PGRES_TUPLES_OK, "model.check")) != 0) {
		PQclear(r);
		if (PQstatus(w->pg) != CONNECTION_OK)
			watch_disconnect(w);
		return rv;
	}
	cur = rs_model_slot_get(w->slot);
	if (PQntuples(r) == 0) {
		PQclear(r);
		if (cur != NULL) {
			rs_log_warn("model.deactivated", "consumer=%s version=%s", w->svc,
			            rs_model_version(cur));
			rs_model_slot_set(w->slot, NULL);
			if (w->cfg.swapped != NULL)
				w->cfg.swapped(w->cfg.ud, NULL);
		}
		rs_model_unref(cur);
		return 0;
	}
	version = PQgetvalue(r, 0, 0);
	p = PQgetvalue(r, 0, 1);
	if (watch_path(w, version, p, path, sizeof(path)) != 0) {
		rs_log_warn("model.path_too_long", "consumer=%s version=%s", w->svc, version);
		PQclear(r);
		rs_model_unref(cur);
		return RS_EINVAL;
	}
	if (cur != NULL && strcmp(rs_model_version(cur), version) == 0 &&
	    strcmp(rs_model_dir(cur), path) == 0) {
		PQclear(r);
		rs_model_unref(cur);
		return 0; /* already serving it */
	}
	rs_model_unref(cur);
	snprintf(key, sizeof(key), "%s|%s", version, path);
	if (strcmp(key, w->failed_key) == 0 && rs_mono_ms() - w->failed_at < 30000) {
		PQclear(r);
		return RS_EIO; /* failed lately: no retry storm, no log spam */
	}
	double t0 = rs_mono_ms();
	/* A version requests have named is open and prepared already: it becomes the active one
	 * (and leaves the cache) instead of being opened a second time. */
	int from_cache = (m = watch_cache_take(w, version, path)) != NULL;
	if (!from_cache && (rv = rs_model_open(path, version, &m, err, sizeof(err))) == 0 &&
	    w->cfg.prepare != NULL && (rv = w->cfg.prepare(w->cfg.ud, m)) != 0)
		snprintf(err, sizeof(err), "prepare: %s", rs_strerror(rv));
	if (rv != 0) {
		rs_model_unref(m);
		snprintf(w->failed_key, sizeof(w->failed_key), "%s", key);
		w->failed_at = rs_mono_ms();
		rs_log_error("model.open_failed", "consumer=%s version=%s path=%s err=\"%s\"",
		             w->svc, version, path, err);
		PQclear(r);
		return rv;
	}
	w->failed_key[0] = '\0';
	rs_log_info("model.activated",
	            "consumer=%s version=%s path=%s items=%u factors=%u ms=%.1f from=%s", w->svc,
	            version, path, rs_model_n_items(m), rs_model_factors(m), rs_mono_ms() - t0,
	            from_cache ? "cache" : "folder");
	PQclear(r);
	rs_model_slot_set(w->slot, rs_model_ref(m));
	if (w->cfg.swapped != NULL)
		w->cfg.swapped(w->cfg.ud, m);
	rs_model_unref(m);
	return 0;
}

int
rs_model_watch_check(rs_model_watch *w)
{
	pthread_mutex_lock(&w->mu);
	int rv = watch_check_locked(w);
	pthread_mutex_unlock(&w->mu);
	return rv;
}

/* Waits up to ms for a notification on channel model_versions; 1 if one came. */
static int
watch_wait(rs_model_watch *w, int ms)
{
	int got = 0;
	pthread_mutex_lock(&w->mu);
	int fd = w->pg != NULL && w->listening ? PQsocket(w->pg) : -1;
	pthread_mutex_unlock(&w->mu);
	if (fd < 0) {
		rs_sleep_ms(ms);
		return 0;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	pthread_mutex_lock(&w->mu);
	if (w->pg != NULL && PQconsumeInput(w->pg)) {
		PGnotify *n;
		while ((n = PQnotifies(w->pg)) != NULL) {
			got = 1;
			PQfreemem(n);
		}
	} else if (w->pg != NULL) {
		watch_disconnect(w); /* broken: the next check reconnects */
	}
	pthread_mutex_unlock(&w->mu);
	return got;
}

static void *
watch_thread(void *arg)
{
	rs_model_watch *w = arg;
	int failures = 0;

	while (!atomic_load(&w->stop)) {
		int rv = rs_model_watch_check(w);
		if ((rv == RS_EUNAVAIL || rv == RS_EDB) && failures++ % 30 == 0)
			rs_log_warn("model.check_failed", "consumer=%s err=\"%s\"", w->svc,
			            rs_strerror(rv));
		if (rv == 0)
			failures = 0;
		/* The lookup connection is made here, so the first request that names a version
		 * does not pay for the connect. */
		pthread_mutex_lock(&w->lmu);
		(void) watch_lookup_connect_locked(w);
		pthread_mutex_unlock(&w->lmu);
		double until = rs_mono_ms() + w->cfg.poll_ms;
		while (!atomic_load(&w->stop) && rs_mono_ms() < until)
			if (watch_wait(w, 50))
				break; /* notified: check now */
	}
	return NULL;
}

static void watch_cache_metrics(rs_model_watch *w);

int
rs_model_watch_start(rs_model_watch **out, const rs_model_watch_config *cfg, rs_model_slot *slot)
{
	rs_model_watch *w;
	size_t n;

	if (cfg == NULL || cfg->pg_dsn == NULL || slot == NULL || cfg->cache_size < 0 ||
	    cfg->cache_size > RS_MODEL_CACHE_MAX)
		return RS_EINVAL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return RS_ENOMEM;
	w->cfg = *cfg;
	w->slot = slot;
	n = strlen(cfg->pg_dsn) + 32;
	w->dsn = malloc(n);
	w->dir = strdup(cfg->model_dir != NULL ? cfg->model_dir : "");
	w->svc = strdup(cfg->svc != NULL ? cfg->svc : "");
	w->cache_cap = cfg->cache_size;
	w->cache = calloc((size_t) w->cache_cap + 1, sizeof(*w->cache));
	if (w->dsn == NULL || w->dir == NULL || w->svc == NULL || w->cache == NULL) {
		free(w->dsn);
		free(w->dir);
		free(w->svc);
		free(w->cache);
		free(w);
		return RS_ENOMEM;
	}
	/* A connect attempt must not hang on an unreachable host (keyword DSNs only). */
	if (strstr(cfg->pg_dsn, "connect_timeout") == NULL && strstr(cfg->pg_dsn, "://") == NULL)
		snprintf(w->dsn, n, "%s connect_timeout=2", cfg->pg_dsn);
	else
		snprintf(w->dsn, n, "%s", cfg->pg_dsn);
	for (size_t l = strlen(w->dir); l > 1 && w->dir[l - 1] == '/'; l--)
		w->dir[l - 1] = '\0';
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->lmu, NULL);
	pthread_mutex_init(&w->cmu, NULL);
	atomic_init(&w->stop, 0);
	watch_cache_metrics(w);
	if (cfg->poll_ms > 0) {
		if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
			rs_model_watch_stop(w);
			return RS_ENOMEM;
		}
		w->thread_started = 1;
	}
	*out = w;
	return 0;
}

void
rs_model_watch_stop(rs_model_watch *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, 1);
	if (w->thread_started)
		pthread_join(w->thread, NULL);
	watch_disconnect(w);
	for (int i = 0; i < w->cache_n; i++)
		rs_model_unref(w->cache[i].m);
	rs_metric_set(w->c_versions, 0);
	rs_metric_set(w->c_bytes, 0);
	if (w->lpg != NULL)
		PQfinish(w->lpg);
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->lmu);
	pthread_mutex_destroy(&w->cmu);
	free(w->cache);
	free(w->dsn);
	free(w->dir);
	free(w->svc);
	free(w);
}

/* ---- per-request versions: the cache ---- */

static void
watch_cache_metrics(rs_model_watch *w)
{
	w->c_hit = rs_metrics_counter("rs_model_cache_total",
	                              "Requests naming a model version, by where it came from",
	                              "result=\"hit\"");
	w->c_miss = rs_metrics_counter("rs_model_cache_total",
	                               "Requests naming a model version, by where it came from",
	                               "result=\"open\"");
	w->c_evict = rs_metrics_counter("rs_model_cache_evictions_total",
	                                "Cached model versions closed to make room", NULL);
	w->c_versions = rs_metrics_gauge("rs_model_cache_versions",
	                                 "Model versions open besides the active one", NULL);
	w->c_bytes =
	        rs_metrics_gauge("rs_model_cache_bytes",
	                         "Heap held by the cached model versions (rs_model_bytes)", NULL);
}

/* Under cmu: the gauges follow the cache. */
static void
watch_cache_gauges_locked(rs_model_watch *w)
{
	size_t bytes = 0;
	for (int i = 0; i < w->cache_n; i++)
		bytes += rs_model_bytes(w->cache[i].m);
	rs_metric_set(w->c_versions, w->cache_n);
	rs_metric_set(w->c_bytes, (double) bytes);
}

/* The cached version named version (a new reference), or NULL. */
static rs_model *
watch_cache_find(rs_model_watch *w, const char *version)
{
	rs_model *m = NULL;
	pthread_mutex_lock(&w->cmu);
	for (int i = 0; i < w->cache_n && m == NULL; i++)
		if (strcmp(rs_model_version(w->cache[i].m), version) == 0) {
			w->cache[i].used = ++w->cache_tick;
			m = rs_model_ref(w->cache[i].m);
		}
	pthread_mutex_unlock(&w->cmu);
	return m;
}

/* Removes the cached version named version opened from dir and returns the cache's reference
 * to it, or NULL. */
static rs_model *
watch_cache_take(rs_model_watch *w, const char *version, const char *dir)
{
	rs_model *m = NULL;
	pthread_mutex_lock(&w->cmu);
	for (int i = 0; i < w->cache_n && m == NULL; i++)
		if (strcmp(rs_model_version(w->cache[i].m), version) == 0 &&
		    strcmp(rs_model_dir(w->cache[i].m), dir) == 0) {
			m = w->cache[i].m;
			w->cache[i] = w->cache[--w->cache_n];
		}
	watch_cache_gauges_locked(w);
	pthread_mutex_unlock(&w->cmu);
	return m;
}

/* Keeps m (the caller's reference stays the caller's) unless a racing request cached the same
 * version first: then that copy is returned (a new reference) and m released. Evicts the least
 * recently used version when the cache is full. */
static rs_model *
watch_cache_put(rs_model_watch *w, rs_model *m)
{
	rs_model *evicted = NULL, *out = m;
	int i;

	pthread_mutex_lock(&w->cmu);
	for (i = 0; i < w->cache_n; i++)
		if (strcmp(rs_model_version(w->cache[i].m), rs_model_version(m)) == 0)
			break;
	if (i < w->cache_n) {
		w->cache[i].used = ++w->cache_tick;
		out = rs_model_ref(w->cache[i].m);
		evicted = m; /* ours is the duplicate */
	} else if (w->cache_cap > 0) {
		if (w->cache_n == w->cache_cap) {
			int lru = 0;
			for (i = 1; i < w->cache_n; i++)
				if (w->cache[i].used < w->cache[lru].used)
					lru = i;
			evicted = w->cache[lru].m;
			w->cache[lru] = w->cache[--w->cache_n];
			rs_metric_add(w->c_evict, 1);
		}
		w->cache[w->cache_n++] = (watch_cached){rs_model_ref(m), ++w->cache_tick};
	}
	watch_cache_gauges_locked(w);
	pthread_mutex_unlock(&w->cmu);
	if (evicted != NULL && evicted != m)
		rs_log_info("model.cache_evicted", "consumer=%s version=%s", w->svc,
		            rs_model_version(evicted));
	rs_model_unref(evicted); /* closes after its last request */
	return out;
}

/* Under lmu: the lookup connection, (re)connected when it is not up (at most one attempt a
 * second while the database is down). 0 or RS_EUNAVAIL. */
static int
watch_lookup_connect_locked(rs_model_watch *w)
{
	if (w->lpg != NULL && PQstatus(w->lpg) != CONNECTION_OK) {
		PQfinish(w->lpg);
		w->lpg = NULL;
	}
	if (w->lpg != NULL)
		return 0;
	if (w->lpg_failed_at > 0 && rs_mono_ms() - w->lpg_failed_at < 1000)
		return RS_EUNAVAIL;
	if (rs_pg_connect(w->dsn, &w->lpg) != 0) {
		w->lpg = NULL;
		w->lpg_failed_at = rs_mono_ms();
		return RS_EUNAVAIL;
	}
	w->lpg_failed_at = 0;
	return 0;
}

/* The model_versions path of version into p (n bytes) on the lookup connection. 0,
 * RS_ENOTFOUND, RS_EUNAVAIL, RS_EDB. */
static int
watch_lookup(rs_model_watch *w, const char *version, char *p, size_t n)
{
	const char *params[1] = {version};
	PGresult *r;
	int rv;

	pthread_mutex_lock(&w->lmu);
	if ((rv = watch_lookup_connect_locked(w)) != 0) {
		pthread_mutex_unlock(&w->lmu);
		return rv;
	}
	r = PQexecParams(w->lpg, "select path from model_versions where version = $1", 1, NULL,
	                 params, NULL, NULL, 0);
	if ((rv = rs_pg_check(w->lpg, r, PGRES_TUPLES_OK, "model.lookup")) == 0) {
		if (PQntuples(r) == 0)
			rv = RS_ENOTFOUND;
		else
			snprintf(p, n, "%s", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	pthread_mutex_unlock(&w->lmu);
	return rv;
}

int
rs_model_watch_get(rs_model_watch *w, const char *version, rs_model **out, char *err, size_t errn)
{
	char p[PATH_MAX], path[PATH_MAX];
	rs_model *m;
	int rv;

	if (version == NULL || version[0] == '\0')
		return rs_err_fmt(err, errn, RS_EINVAL, "no model version named");
	m = rs_model_slot_get(w->slot);
	if (m != NULL && strcmp(rs_model_version(m), version) == 0) {
		*out = m; /* the active one */
		return 0;
	}
	rs_model_unref(m);
	if ((m = watch_cache_find(w, version)) != NULL) {
		rs_metric_add(w->c_hit, 1);
		*out = m;
		return 0;
	}
	if ((rv = watch_lookup(w, version, p, sizeof(p))) != 0)
		return rs_err_fmt(err, errn, rv,
		                  rv == RS_ENOTFOUND ? "model version %s is not published"
		                                     : "model version %s: registry: %s",
		                  version, rs_strerror(rv));
	if (watch_path(w, version, p, path, sizeof(path)) != 0)
		return rs_err_fmt(err, errn, RS_EINVAL, "model version %s: path too long", version);
	double t0 = rs_mono_ms();
	if ((rv = rs_model_open(path, version, &m, err, errn)) == 0 && w->cfg.prepare != NULL &&
	    (rv = w->cfg.prepare(w->cfg.ud, m)) != 0)
		rs_err_fmt(err, errn, rv, "%s: prepare: %s", path, rs_strerror(rv));
	if (rv != 0) {
		rs_model_unref(m);
		rs_log_warn("model.open_failed", "consumer=%s version=%s path=%s err=\"%s\"",
		            w->svc, version, path, err != NULL ? err : "");
		return rv;
	}
	rs_metric_add(w->c_miss, 1);
	rs_log_info("model.cache_opened",
	            "consumer=%s version=%s path=%s items=%u factors=%u bytes=%zu ms=%.1f", w->svc,
	            version, path, rs_model_n_items(m), rs_model_factors(m), rs_model_bytes(m),
	            rs_mono_ms() - t0);
	*out = watch_cache_put(w, m);
	if (*out != m)
		rs_model_unref(m);
	return 0;
}

int
rs_model_watch_cached(rs_model_watch *w, char *buf, size_t n)
{
	int count;
	size_t len = 0;

	pthread_mutex_lock(&w->cmu);
	count = w->cache_n;
	if (buf != NULL && n > 0) {
		uint64_t below = UINT64_MAX;
		buf[0] = '\0';
		for (int k = 0; k < w->cache_n && len < n; k++) { /* most recently used first */
			int best = -1;
			for (int i = 0; i < w->cache_n; i++)
				if (w->cache[i].used < below &&
				    (best < 0 || w->cache[i].used > w->cache[best].used))
					best = i;
			below = w->cache[best].used;
			len += (size_t) snprintf(buf + len, n - len, "%s%s", k > 0 ? "," : "",
			                         rs_model_version(w->cache[best].m));
		}
	}
	pthread_mutex_unlock(&w->cmu);
	return count;
}
