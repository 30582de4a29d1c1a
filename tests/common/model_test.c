/* rs_model: opening a published version folder (written by model_fixture.h exactly as
 * rs-train publish lays it out), lookups, refusal of other layouts, and the slot's swap. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_fixture.h"
#include "pg_fixture.h"
#include "rs_err.h"
#include "rs_model.h"
#include "rs_time.h"

static char root[64];

static void
setup(void)
{
	snprintf(root, sizeof(root), "/tmp/rs-model-test-XXXXXX");
	fx_tmpdir(root);
}

static void
teardown(void)
{
	fx_rmtree(root);
}

TestSuite(model, .init = setup, .fini = teardown, .timeout = 20);

static const int64_t ids[4] = {101, 7, 55, 9000000000LL};
static const float V[4 * 3] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, 0.5f, 0};
static const fx_nb nb0[2] = {{2, 0.9f}, {1, 0.1f}};
static const fx_nb nb2[1] = {{0, 0.7f}};
static const fx_nb *const nbs[4] = {nb0, NULL, nb2, NULL};
static const uint32_t nb_len[4] = {2, 0, 1, 0};
static const uint32_t pop[3] = {3, 0, 2};

static void
write_version(const char *name, int layout)
{
	char dir[128];
	fx_model m = {.n_items = 4,
	              .factors = 3,
	              .ids = ids,
	              .V = V,
	              .nb = nbs,
	              .nb_len = nb_len,
	              .popular = pop,
	              .n_popular = 3,
	              .alpha = 2.5,
	              .reg = -1,
	              .layout = layout};
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	fx_model_write(dir, &m);
}

Test(model, open_and_lookups)
{
	char dir[128], err[256] = "";
	rs_model *m;
	uint32_t code, codes[8];
	rs_model_nb nb[8];

	write_version("v1", 1);
	snprintf(dir, sizeof(dir), "%s/v1/", root);
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(rs_model_version(m), "v1");
	cr_assert_str_eq(rs_model_kind(m), "als");
	cr_assert_eq(rs_model_n_items(m), 4);
	cr_assert_eq(rs_model_factors(m), 3);
	cr_assert(rs_model_has_neighbours(m));
	cr_assert_not(rs_model_has_ranker(m));
	cr_assert_float_eq(rs_model_param(m, "alpha", 1), 2.5, 1e-12);
	cr_assert_float_eq(rs_model_param(m, "reg", 0.01), 0.01, 1e-12);
	cr_assert_eq(rs_model_code(m, 55, &code), 0);
	cr_assert_eq(code, 2);
	cr_assert_eq(rs_model_code(m, 9000000000LL, &code), 0);
	cr_assert_eq(code, 3);
	cr_assert_eq(rs_model_code(m, 8, &code), RS_ENOTFOUND);
	cr_assert_eq(rs_model_code_bytes(m, "7", 1, &code), 0);
	cr_assert_eq(code, 1);
	cr_assert_eq(rs_model_code_bytes(m, "8", 1, &code), RS_ENOTFOUND);
	cr_assert_eq(rs_model_item_id(m, 0), 101);
	cr_assert_eq(rs_model_item_id(m, 4), 0);
	cr_assert_eq(memcmp(rs_model_item_factors(m), V, sizeof(V)), 0);
	cr_assert_eq(rs_model_neighbours(m, 0, nb, 8), 2);
	cr_assert_eq(nb[0].code, 2);
	cr_assert_float_eq(nb[0].sim, 0.9f, 1e-6);
	cr_assert_eq(rs_model_neighbours(m, 0, nb, 1), 1);
	cr_assert_eq(rs_model_neighbours(m, 1, nb, 8), 0);
	cr_assert_eq(rs_model_neighbours(m, 99, nb, 8), 0);
	cr_assert_eq(rs_model_popular(m, codes, 8), 3);
	cr_assert_eq(codes[0], 3);
	rs_model_unref(m);
}

Test(model, named_version_and_same_folder_twice)
{
	char dir[128], err[256] = "";
	rs_model *a, *b;

	write_version("v1", 1);
	snprintf(dir, sizeof(dir), "%s/v1", root);
	cr_assert_eq(rs_model_open(dir, "2026-11-28.1", &a, err, sizeof(err)), 0, "%s", err);
	/* MDB_NOLOCK: a rollback may reopen a folder whose old handle is still in use */
	cr_assert_eq(rs_model_open(dir, NULL, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(rs_model_version(a), "2026-11-28.1");
	rs_model_unref(a);
	cr_assert_eq(rs_model_neighbours(b, 2, (rs_model_nb[4]){0}, 4), 1);
	rs_model_unref(b);
}

Test(model, refuses_other_layouts_and_model_folders)
{
	char dir[128], path[160], err[256] = "";
	rs_model *m = NULL;
	FILE *f;

	write_version("v2", 2);
	snprintf(dir, sizeof(dir), "%s/v2", root);
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), RS_EVERSION);
	cr_assert_null(m);
	cr_assert_not_null(strstr(err, "layout version 2"), "%s", err);

	/* a fitted model folder (no "published") */
	write_version("m", 1);
	snprintf(path, sizeof(path), "%s/m/manifest.json", root);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{\"format\": \"rs-train-model\", \"format_version\": 1, \"model\": \"als\"}", f);
	fclose(f);
	snprintf(dir, sizeof(dir), "%s/m", root);
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), RS_EVERSION);
	cr_assert_not_null(strstr(err, "rs-train publish"), "%s", err);

	snprintf(path, sizeof(path), "%s/m/manifest.json", root);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{\"format\": \"something-else\"}", f);
	fclose(f);
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), RS_EVERSION);

	snprintf(dir, sizeof(dir), "%s/nope", root);
	cr_assert_eq(rs_model_open(dir, NULL, &m, err, sizeof(err)), RS_ENOTFOUND);
	cr_assert_eq(rs_model_open(root, NULL, &m, err, sizeof(err)), RS_ENOTFOUND);
	cr_assert_not_null(strstr(err, "manifest.json"), "%s", err);
}

Test(model, corrupt_data_is_refused)
{
	char dir[128], path[160], err[256] = "";
	rs_model *m = NULL;
	FILE *f;

	write_version("v1", 1);
	snprintf(path, sizeof(path), "%s/v1/data.mdb", root);
	cr_assert_not_null(f = fopen(path, "r+"));
	for (int i = 0; i < 8192; i++)
		fputc(0x5a, f);
	fclose(f);
	snprintf(dir, sizeof(dir), "%s/v1", root);
	int rv = rs_model_open(dir, NULL, &m, err, sizeof(err));
	cr_assert(rv == RS_ECORRUPT || rv == RS_EIO, "rv=%d %s", rv, err);
	cr_assert_null(m);
}

/* A data.mdb cut short (a copy or a disk that ran out) keeps its meta pages, which name pages
 * beyond the end of the file: reading them through the memory map would be SIGBUS, so the open
 * refuses the folder instead (tests/fault's model-trunc fault crashed three services). */
Test(model, truncated_data_is_refused)
{
	char dir[128], path[160], err[256] = "";
	rs_model *m = NULL;
	struct stat st;

	write_version("v1", 1);
	snprintf(path, sizeof(path), "%s/v1/data.mdb", root);
	snprintf(dir, sizeof(dir), "%s/v1", root);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_gt(st.st_size, 3 * 4096, "the fixture's data.mdb is %lld bytes",
	             (long long) st.st_size);
	const off_t cuts[] = {st.st_size - 4096, st.st_size / 2, 3 * 4096};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		cr_assert_eq(truncate(path, cuts[i]), 0);
		int rv = rs_model_open(dir, NULL, &m, err, sizeof(err));
		cr_assert_eq(rv, RS_ECORRUPT, "cut at %lld: rv=%d %s", (long long) cuts[i], rv,
		             err);
		cr_assert_null(m);
		cr_assert_not_null(strstr(err, "truncated"), "%s", err);
	}
}

/* A meta count of items that the items db does not hold is refused before anything is sized
 * by it (tests/fuzz model_file: 4 billion items asked for a 32 GiB calloc). */
Test(model, item_count_is_checked_before_it_sizes_anything)
{
	char dir[128], err[256] = "";
	rs_model *m = NULL;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;

	write_version("v1", 1);
	snprintf(dir, sizeof(dir), "%s/v1", root);
	fx_mdb(mdb_env_create(&env), "create");
	fx_mdb(mdb_env_set_maxdbs(env, RS_MODEL_MAX_DBS), "maxdbs");
	fx_mdb(mdb_env_open(env, dir, 0, 0644), "open");
	fx_mdb(mdb_txn_begin(env, NULL, 0, &txn), "begin");
	fx_mdb(mdb_dbi_open(txn, RS_MDB_META, 0, &meta), "meta");
	unsigned int huge = 0xFFFFFFF0u;
	fx_put(txn, meta, RS_MDB_META_ITEMS, strlen(RS_MDB_META_ITEMS), &huge, sizeof(huge));
	fx_mdb(mdb_txn_commit(txn), "commit");
	mdb_env_close(env);
	int rv = rs_model_open(dir, NULL, &m, err, sizeof(err));
	cr_assert_eq(rv, RS_ECORRUPT, "rv=%d %s", rv, err);
	cr_assert(strstr(err, "4 item ids for 4294967280 items") != NULL, "%s", err);
	cr_assert_null(m);
}

static void
aux_free(void *p)
{
	(*(int *) p)++;
}

Test(model, slot_swap_keeps_old_until_release)
{
	char d1[128], d2[128], err[256] = "";
	rs_model *a, *b, *held;
	rs_model_slot *slot;
	int freed = 0;

	write_version("v1", 1);
	write_version("v2", 1);
	snprintf(d1, sizeof(d1), "%s/v1", root);
	snprintf(d2, sizeof(d2), "%s/v2", root);
	cr_assert_eq(rs_model_open(d1, NULL, &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs_model_open(d2, NULL, &b, err, sizeof(err)), 0, "%s", err);
	rs_model_set_aux(a, &freed, aux_free);
	cr_assert_eq(rs_model_slot_create(&slot), 0);
	cr_assert_null(rs_model_slot_get(slot));
	rs_model_slot_set(slot, a);
	held = rs_model_slot_get(slot); /* an in-flight request */
	rs_model_slot_set(slot, b);     /* a new version */
	cr_assert_eq(freed, 0);
	cr_assert_str_eq(rs_model_version(held), "v1");
	cr_assert_eq(rs_model_neighbours(held, 0, (rs_model_nb[4]){0}, 4), 2); /* env still open */
	rs_model_unref(held);
	cr_assert_eq(freed, 1); /* the last reader closed it */
	rs_model *cur = rs_model_slot_get(slot);
	cr_assert_str_eq(rs_model_version(cur), "v2");
	rs_model_unref(cur);
	rs_model_slot_destroy(slot);
}

/* ---- per-request versions: rs_model_watch_get and its LRU cache (needs RS_TEST_PG_DSN) ---- */

static fx_pg cfx;
static char croot[64];
static atomic_int prepared, closed;

static void
count_close(void *p)
{
	(void) p;
	atomic_fetch_add(&closed, 1);
}

/* The watch's prepare callback: attaches an aux whose destroy counts closed versions. */
static int
count_prepare(void *ud, rs_model *m)
{
	(void) ud;
	atomic_fetch_add(&prepared, 1);
	rs_model_set_aux(m, NULL, count_close);
	rs_model_set_aux_bytes(m, 1000);
	return 0;
}

static void
cache_setup(void)
{
	char dir[128];
	snprintf(croot, sizeof(croot), "/tmp/rs-model-cache-XXXXXX");
	fx_tmpdir(croot);
	snprintf(root, sizeof(root), "%s", croot); /* write_version writes under root */
	write_version("A", 1);
	write_version("B", 1);
	write_version("C", 1);
	write_version("D", 1);
	write_version("L2", 2);
	fx_pg_setup(&cfx, "model_cache");
	/* A is active; B by a relative path, C by an absolute one, D by the empty path */
	snprintf(dir, sizeof(dir), "%s/C", croot);
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "insert into model_versions(version, path) values ('A', 'A'), ('B', 'B'), "
	         "('C', '%s'), ('D', ''), ('L2', 'L2'); select rs_model_activate('A')",
	         dir);
	fx_sql(&cfx, sql);
	atomic_store(&prepared, 0);
	atomic_store(&closed, 0);
}

static void
cache_teardown(void)
{
	fx_pg_teardown(&cfx);
	fx_rmtree(croot);
}

static void
cache_open(int size, rs_model_slot **slot, rs_model_watch **w)
{
	rs_model_watch_config wc = {.pg_dsn = cfx.dsn,
	                            .model_dir = croot,
	                            .poll_ms = 0,
	                            .svc = "test",
	                            .prepare = count_prepare,
	                            .cache_size = size};
	cr_assert_eq(rs_model_slot_create(slot), 0);
	cr_assert_eq(rs_model_watch_start(w, &wc, *slot), 0);
	cr_assert_eq(rs_model_watch_check(*w), 0);
}

TestSuite(model_cache, .init = cache_setup, .fini = cache_teardown, .timeout = 30);

Test(model_cache, named_versions_open_once_and_the_lru_one_is_evicted)
{
	rs_model_slot *slot;
	rs_model_watch *w;
	rs_model *m, *a, *held;
	char err[256] = "", names[128], dir[128];

	cache_open(2, &slot, &w);
	cr_assert_eq(atomic_load(&prepared), 1, "the active version is prepared once");

	/* the active version by name: the slot's own, nothing opened or cached */
	cr_assert_eq(rs_model_watch_get(w, "A", &a, err, sizeof(err)), 0, "%s", err);
	m = rs_model_slot_get(slot);
	cr_assert_eq(a, m);
	rs_model_unref(m);
	rs_model_unref(a);
	cr_assert_eq(rs_model_watch_cached(w, NULL, 0), 0);

	/* B and C open on first use, prepared like the active one, then come from the cache */
	cr_assert_eq(rs_model_watch_get(w, "B", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(rs_model_version(m), "B");
	cr_assert_eq(rs_model_n_items(m), 4);
	cr_assert_geq(rs_model_bytes(m), 1000 + 4 * 24 + 4 * 3 * 4);
	held = m; /* a request that is still running with B */
	cr_assert_eq(rs_model_watch_get(w, "C", &m, err, sizeof(err)), 0, "%s", err);
	snprintf(dir, sizeof(dir), "%s/C", croot);
	cr_assert_str_eq(rs_model_dir(m), dir, "an absolute path is used as it is");
	rs_model_unref(m);
	cr_assert_eq(rs_model_watch_get(w, "B", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(m, held, "B came from the cache");
	rs_model_unref(m);
	cr_assert_eq(atomic_load(&prepared), 3);
	cr_assert_eq(rs_model_watch_cached(w, names, sizeof(names)), 2);
	cr_assert_str_eq(names, "B,C");

	/* a third version evicts the least recently used one (C), which closes at once: no
	 * request holds it */
	cr_assert_eq(rs_model_watch_get(w, "D", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(rs_model_version(m), "D");
	snprintf(dir, sizeof(dir), "%s/D", croot);
	cr_assert_str_eq(rs_model_dir(m), dir, "an empty path is model_dir/version");
	rs_model_unref(m);
	cr_assert_eq(rs_model_watch_cached(w, names, sizeof(names)), 2);
	cr_assert_str_eq(names, "D,B");
	cr_assert_eq(atomic_load(&closed), 1, "the evicted version was closed");

	/* B evicted while a request holds it: it stays usable until that request lets go */
	cr_assert_eq(rs_model_watch_get(w, "C", &m, err, sizeof(err)), 0, "%s", err);
	rs_model_unref(m);
	cr_assert_str_eq((rs_model_watch_cached(w, names, sizeof(names)), names), "C,D");
	cr_assert_eq(atomic_load(&closed), 1);
	cr_assert_eq(rs_model_neighbours(held, 0, (rs_model_nb[4]){0}, 4), 2);
	rs_model_unref(held);
	cr_assert_eq(atomic_load(&closed), 2);

	/* the active version still serves, untouched */
	m = rs_model_slot_get(slot);
	cr_assert_str_eq(rs_model_version(m), "A");
	rs_model_unref(m);
	rs_model_watch_stop(w); /* releases C and D */
	cr_assert_eq(atomic_load(&closed), 4);
	rs_model_slot_destroy(slot);
	cr_assert_eq(atomic_load(&closed), 5, "every version opened was closed");
}

Test(model_cache, unknown_broken_and_uncached_versions)
{
	rs_model_slot *slot;
	rs_model_watch *w;
	rs_model *m = NULL;
	char err[256] = "";

	cache_open(0, &slot, &w);
	cr_assert_eq(rs_model_watch_get(w, "nope", &m, err, sizeof(err)), RS_ENOTFOUND);
	cr_assert_null(m);
	cr_assert_not_null(strstr(err, "not published"), "%s", err);
	cr_assert_eq(rs_model_watch_get(w, "", &m, err, sizeof(err)), RS_EINVAL);
	cr_assert_eq(rs_model_watch_get(w, "L2", &m, err, sizeof(err)), RS_EVERSION);
	cr_assert_not_null(strstr(err, "layout version 2"), "%s", err);
	/* a parameter, never SQL text */
	cr_assert_eq(rs_model_watch_get(w, "x' or ''='", &m, err, sizeof(err)), RS_ENOTFOUND);

	/* cache size 0: each request opens and closes its version */
	cr_assert_eq(rs_model_watch_get(w, "B", &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs_model_watch_cached(w, NULL, 0), 0);
	int before = atomic_load(&closed);
	rs_model_unref(m);
	cr_assert_eq(atomic_load(&closed), before + 1);
	rs_model_watch_stop(w);
	rs_model_slot_destroy(slot);
}

Test(model_cache, database_down_is_unavailable_at_once)
{
	rs_model_slot *slot;
	rs_model_watch *w;
	rs_model *m;
	char err[256] = "";
	rs_model_watch_config wc = {.pg_dsn = "host=127.0.0.1 port=1 dbname=none",
	                            .model_dir = croot,
	                            .svc = "test",
	                            .cache_size = 2};

	cr_assert_eq(rs_model_slot_create(&slot), 0);
	cr_assert_eq(rs_model_watch_start(&w, &wc, slot), 0);
	double t0 = rs_mono_ms();
	cr_assert_eq(rs_model_watch_get(w, "B", &m, err, sizeof(err)), RS_EUNAVAIL);
	cr_assert_eq(rs_model_watch_get(w, "B", &m, err, sizeof(err)), RS_EUNAVAIL);
	cr_assert_lt(rs_mono_ms() - t0, 3000.0);
	rs_model_watch_stop(w);
	rs_model_slot_destroy(slot);
}

/* Activating a version that requests have named moves the open, prepared copy into the slot
 * (it leaves the cache); the version it replaces is not cached by that. */
Test(model_cache, activating_a_cached_version_reuses_it)
{
	rs_model_slot *slot;
	rs_model_watch *w;
	rs_model *b, *cur;
	char err[256] = "", names[64];

	cache_open(2, &slot, &w);
	cr_assert_eq(rs_model_watch_get(w, "B", &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(atomic_load(&prepared), 2);
	fx_sql(&cfx, "select rs_model_activate('B')");
	cr_assert_eq(rs_model_watch_check(w), 0);
	cur = rs_model_slot_get(slot);
	cr_assert_eq(cur, b, "the cached copy serves as the active version");
	cr_assert_eq(atomic_load(&prepared), 2, "opened and prepared again");
	cr_assert_eq(rs_model_watch_cached(w, names, sizeof(names)), 0);
	rs_model_unref(cur);
	rs_model_unref(b);
	cr_assert_eq(atomic_load(&closed), 1, "A closed once B took over");
	/* B by name is now the slot's; A by name is opened again into the cache */
	cr_assert_eq(rs_model_watch_get(w, "B", &b, err, sizeof(err)), 0, "%s", err);
	rs_model_unref(b);
	cr_assert_eq(rs_model_watch_get(w, "A", &b, err, sizeof(err)), 0, "%s", err);
	rs_model_unref(b);
	cr_assert_eq(rs_model_watch_cached(w, names, sizeof(names)), 1);
	cr_assert_str_eq(names, "A");
	rs_model_watch_stop(w);
	rs_model_slot_destroy(slot);
	cr_assert_eq(atomic_load(&closed), 3);
}
