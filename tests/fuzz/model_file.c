/* Target model_file: a published model version folder through the serving side's reader
 * (common/rs_model.c: manifest.json, then what it parses out of the LMDB values: meta counts,
 * item ids, factor rows, neighbour and knn rows, the popular list, source scores, the
 * two-stage dbs) and the accessors the services call on an opened version.
 *
 * Input: records that the target writes with the LMDB API into a fresh version folder under
 * /dev/shm before each rs_model_open: a record is [db][key length][key][value length, 2 bytes
 * little endian][value]; db (mod 11) is items, item_codes, item_factors, neighbours, popular,
 * meta, item_features, transitions, knn_rows, source_scores, or 10 = the manifest.json text
 * (the key is ignored; without one a valid manifest is written). LMDB's own page format is not
 * fuzzed: the file is always one LMDB writes (a corrupt data.mdb is LMDB's to refuse).
 * Properties: no memory error or leak; a refused version has a message; an opened one answers
 * every accessor within its declared counts. */
#include "fuzz.h"

#include <lmdb.h>

#include "rs_err.h"
#include "rs_model.h"
#include "rs_model_layout.h"

static char dir[64];
static char manifest_path[128], data_path[128];

static const char *const dbs[] = {RS_MDB_ITEMS,         RS_MDB_ITEM_CODES,  RS_MDB_ITEM_FACTORS,
                                  RS_MDB_NEIGHBOURS,    RS_MDB_POPULAR,     RS_MDB_META,
                                  RS_MDB_ITEM_FEATURES, RS_MDB_TRANSITIONS, RS_MDB_KNN_ROWS,
                                  RS_MDB_SOURCE_SCORES};
static const unsigned db_flags[] = {
        MDB_INTEGERKEY, 0, MDB_INTEGERKEY, MDB_INTEGERKEY, 0, 0, MDB_INTEGERKEY, MDB_INTEGERKEY,
        MDB_INTEGERKEY, 0};
#define NDBS (sizeof(dbs) / sizeof(dbs[0]))

static const char default_manifest[] =
        "{\"format\": \"" RS_MODEL_FORMAT "\", \"model\": \"als\", \"params\": {\"alpha\": 1},"
        " \"published\": {\"lmdb_layout\": 1}}";

static void
cleanup(void)
{
	unlink(manifest_path);
	unlink(data_path);
	char lock[128];
	snprintf(lock, sizeof(lock), "%s/lock.mdb", dir);
	unlink(lock);
	rmdir(dir);
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
		abort();
}

/* Writes the version folder from the records; 0, or -1 when the input makes no LMDB file. */
static int
write_version(const uint8_t *data, size_t size)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi d[NDBS];
	int have_manifest = 0;

	unlink(manifest_path);
	unlink(data_path);
	if (mdb_env_create(&env) != 0)
		abort();
	mdb_env_set_maxdbs(env, RS_MODEL_MAX_DBS);
	mdb_env_set_mapsize(env, (size_t) 8 << 20);
	if (mdb_env_open(env, dir, MDB_NOSYNC | MDB_NOLOCK, 0644) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0)
		abort();
	/* the six dbs every version has; the two-stage ones when a record names them */
	for (size_t i = 0; i < NDBS; i++) {
		int has = i < 6;
		for (size_t p = 0; !has && p + 4 <= size;) {
			size_t kl = data[p + 1], vl;
			if (p + 2 + kl + 2 > size)
				break;
			vl = data[p + 2 + kl] | (size_t) data[p + 3 + kl] << 8;
			has = data[p] % 11 == i;
			p += 4 + kl + vl;
		}
		d[i] = 0;
		if (has && mdb_dbi_open(txn, dbs[i], MDB_CREATE | db_flags[i], &d[i]) != 0)
			abort();
	}
	for (size_t p = 0; p + 4 <= size;) {
		size_t db = data[p] % 11, kl = data[p + 1];
		if (p + 2 + kl + 2 > size)
			break;
		const uint8_t *key = data + p + 2;
		size_t vl = data[p + 2 + kl] | (size_t) data[p + 3 + kl] << 8;
		const uint8_t *val = data + p + 4 + kl;
		if (vl > size - (p + 4 + kl))
			vl = size - (p + 4 + kl);
		p += 4 + kl + vl;
		if (db == NDBS) {
			write_file(manifest_path, val, vl);
			have_manifest = 1;
			continue;
		}
		MDB_val k = {kl, (void *) key}, v = {vl, (void *) val};
		int rc = mdb_put(txn, d[db], &k, &v, 0);
		if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
			break;
		/* MDB_BAD_VALSIZE (an integer key of the wrong size, an empty key): LMDB refuses */
	}
	int rc = mdb_txn_commit(txn);
	mdb_env_close(env);
	if (rc != 0)
		return -1;
	if (!have_manifest)
		write_file(manifest_path, default_manifest, sizeof(default_manifest) - 1);
	return 0;
}

static void
exercise(rs_model *m)
{
	uint32_t n = rs_model_n_items(m);
	FUZZ_CHECK(rs_model_version(m) != NULL && rs_model_kind(m) != NULL, "names");
	(void) rs_model_param(m, "alpha", 1.0);
	const float *fac = rs_model_item_factors(m);
	uint32_t f = rs_model_factors(m);
	if (f > 0 && n > 0)
		FUZZ_CHECK(fac != NULL, "no factors");
	volatile float sink = 0;
	for (uint32_t c = 0; c < n && c < 256; c++) {
		int64_t id = rs_model_item_id(m, c);
		uint32_t back;
		if (id > 0)
			FUZZ_CHECK(rs_model_code(m, id, &back) == 0 &&
			                   rs_model_item_id(m, back) == id,
			           "code of id %lld", (long long) id);
		for (uint32_t j = 0; j < f; j++)
			sink += fac[(size_t) c * f + j];
		rs_model_nb nb[128];
		int k = rs_model_neighbours(m, c, nb, 128);
		for (int i = 0; i < k; i++)
			FUZZ_CHECK(nb[i].code < n, "neighbour code %u of %u", nb[i].code, n);
		const void *row;
		size_t bytes;
		if (rs_model_knn_row(m, c, &row, &bytes) == 0 && bytes > 0)
			sink += ((const uint8_t *) row)[bytes - 1];
	}
	uint32_t pop[1000];
	int k = rs_model_popular(m, pop, 1000);
	for (int i = 0; i < k; i++)
		FUZZ_CHECK(pop[i] < n, "popular code %u of %u", pop[i], n);
	float *scores = malloc(((size_t) n + 1) * sizeof(float));
	if (scores == NULL)
		abort();
	(void) rs_model_source_scores(m, RS_MDB_SOURCE_POP, scores);
	free(scores);
	rs_model_read rd;
	if (rs_model_read_begin(m, &rd) == 0) {
		for (int db = 0; db < RS_MODEL_NDB; db++) {
			const void *v;
			size_t len;
			if (rs_model_get_code(m, &rd, (rs_model_db) db, 0, &v, &len) == 0 &&
			    len > 0)
				sink += ((const uint8_t *) v)[len - 1];
		}
		rs_model_read_end(&rd);
	}
	(void) sink;
	FUZZ_CHECK(rs_model_bytes(m) > 0, "bytes");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/dev/shm/rs-fuzz-model-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(manifest_path, sizeof(manifest_path), "%s/" RS_MODEL_MANIFEST, dir);
		snprintf(data_path, sizeof(data_path), "%s/data.mdb", dir);
		atexit(cleanup);
	}
	if (write_version(data, size) != 0)
		return 0;
	rs_model *m = NULL;
	char err[512] = "";
	int rv = rs_model_open(dir, "v-fuzz", &m, err, sizeof(err));
	if (rv != 0) {
		FUZZ_CHECK(err[0] != '\0' || rv == RS_ENOMEM, "refused (%d) without a message", rv);
		return 0;
	}
	exercise(m);
	rs_model_unref(m);
	return 0;
}
