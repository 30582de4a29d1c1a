/* The persisted snapshot (snapfile.h): a round trip keeps every field; a truncated, altered,
 * other-format or other-settings file is refused with a reason and nothing is returned; and
 * rs-candidate's state (candidate.h) loads the file at open (serving before any refresh, also
 * with PostgreSQL unreachable) and refuses a bad one, falling back to the build. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "candidate.h"
#include "pg_fixture.h"
#include "rs_err.h"
#include "rs_hash.h"
#include "snapfile.h"

static char dir[64];
static char path[128];

static const cand_build_params params = {
        .half_life_ms = 72 * 3600.0 * 1000.0,
        .covisit_n = 5,
        .covisit_span = 10,
        .user_items = 50,
        .category_top = 500,
};
static const cand_snapfile_key key = {.covisit_n = 5,
                                      .category_top = 500,
                                      .window_days = 90,
                                      .max_events = 1000,
                                      .half_life_h = 72};

static const cand_item_row items[] = {
        {10, "Knife", "Home/Kitchen", 50, 1, 1, "Acme", 0, 111},
        {20, "Board", "Home/Kitchen", 20, 1, 0, NULL, 0, 222},
        {30, "Novel", "Books", 0, 0, 1, "Pub", 1, 333},
        {40, "Pan", "Home", 35, 1, 1, "", 0, 444},
};
/* users 1..3 view 10 and 20; user 3 buys 40 and dislikes 30; event-only item 50 */
static const cand_event_row events[] = {
        {1, 10, 1000, 0, 1}, {1, 20, 2000, 0, 1}, {2, 10, 1000, 0, 2},
        {2, 20, 2000, 0, 2}, {3, 10, 1000, 0, 1}, {3, 20, 2000, 0, 1},
        {3, 40, 3000, 0, 4}, {3, 30, 3500, 0, 6}, {4, 50, 4000, 0, 3},
};

static void
dir_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/rs-snapfile-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, CAND_SNAPFILE_NAME);
}

static void
dir_teardown(void)
{
	char p[192];
	unlink(path);
	snprintf(p, sizeof(p), "%s.tmp", path);
	unlink(p);
	rmdir(dir);
}

static cand_snap *
built(void)
{
	cand_snap *s = NULL;
	cr_assert_eq(cand_snap_build(items, 4, events, 9, &params, 0xfeed, &s), 0);
	return s;
}

static void
write_built(void)
{
	char err[256] = "";
	cand_snap *s = built();
	cr_assert_eq(cand_snapfile_write(path, s, &key, "v1", err, sizeof(err)), 0, "%s", err);
	cand_snap_unref(s);
}

static long
file_size(void)
{
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	return (long) sb.st_size;
}

/* Reads path expecting the error want; nothing may come back. Returns the message. */
static const char *
refused(int want)
{
	static char err[512];
	cand_snap *s = NULL;
	char mv[64] = "";
	int rv = cand_snapfile_read(path, &key, &s, mv, sizeof(mv), err, sizeof(err));
	cr_assert_eq(rv, want, "read returned %s (%s), expected %s", rs_err_name(rv), err,
	             rs_err_name(want));
	cr_assert_null(s);
	return err;
}

TestSuite(snapfile, .init = dir_setup, .fini = dir_teardown, .timeout = 20);

Test(snapfile, round_trip_keeps_every_field)
{
	char err[256] = "", mv[64] = "";
	cand_snap *a = built(), *b = NULL;

	cr_assert_eq(cand_snapfile_write(path, a, &key, "v1", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cand_snapfile_read(path, &key, &b, mv, sizeof(mv), err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_str_eq(mv, "v1");
	cr_assert_str_eq(b->version, a->version);
	cr_assert_eq(b->fingerprint, 0xfeed);
	cr_assert_eq(b->n_events, 9);
	cr_assert_eq(b->built_unix_ms, a->built_unix_ms);
	cr_assert_eq(b->n_items, 5);
	cr_assert_eq(b->cat_count, 4);
	cr_assert_eq(b->cat_sum, 111 + 222 + 333 + 444);
	cr_assert_eq(b->n_withdrawn, 1);
	cr_assert(cand_snap_withdrawn(b, (uint32_t) cand_snap_find(b, 30)));
	for (size_t i = 0; i < a->n_items; i++) {
		const cand_item *x = &a->items[i], *y = &b->items[i];
		cr_assert_eq(y->id, x->id);
		cr_assert_eq(b->ids[i], x->id);
		cr_assert_str_eq(y->title, x->title);
		cr_assert_str_eq(y->brand, x->brand);
		cr_assert_str_eq(y->category, x->category);
		cr_assert_eq(y->price, x->price);
		cr_assert_eq(y->has_price, x->has_price);
		cr_assert_eq(y->in_stock, x->in_stock);
		cr_assert_eq(y->withdrawn, x->withdrawn);
		cr_assert_eq(y->in_catalog, x->in_catalog);
		cr_assert_eq(y->row_hash, x->row_hash);
		cr_assert_eq(y->pop, x->pop);
		cr_assert_eq(y->cat, x->cat);
		cr_assert_eq(y->nb_off, x->nb_off);
		cr_assert_eq(y->nb_len, x->nb_len);
	}
	cr_assert_str_eq(b->items[cand_snap_find(b, 10)].brand, "Acme");
	cr_assert_str_eq(b->items[cand_snap_find(b, 20)].brand, "");
	cr_assert_eq(b->n_nbs, a->n_nbs);
	cr_assert_gt(b->n_nbs, 0);
	cr_assert_eq(memcmp(b->nbs, a->nbs, a->n_nbs * sizeof(*a->nbs)), 0);
	cr_assert_eq(b->n_popular, a->n_popular);
	cr_assert_eq(memcmp(b->popular, a->popular, a->n_popular * sizeof(*a->popular)), 0);
	cr_assert_eq(memcmp(b->popular_pop, a->popular_pop, a->n_popular * sizeof(float)), 0);
	cr_assert_eq(b->n_cats, a->n_cats);
	for (size_t c = 0; c < a->n_cats; c++) {
		cr_assert_str_eq(b->cats[c], a->cats[c]);
		cr_assert_eq(b->cat_off[c], a->cat_off[c]);
		cr_assert_eq(b->cat_len[c], a->cat_len[c]);
		for (uint32_t j = 0; j < a->cat_len[c]; j++) {
			cr_assert_eq(b->cat_items[a->cat_off[c] + j],
			             a->cat_items[a->cat_off[c] + j]);
			cr_assert_eq(b->cat_pop[a->cat_off[c] + j], a->cat_pop[a->cat_off[c] + j]);
		}
	}
	/* user 3 bought 40 and marked 30 not_interested: both excluded after the round trip */
	size_t n = 0;
	const uint8_t *why = NULL;
	const int64_t *ex = cand_snap_excluded(b, 3, &n, &why);
	cr_assert_eq(n, 2);
	cr_assert_eq(ex[0], 30);
	cr_assert_eq(why[0], CAND_EXCL_NOT_INTERESTED);
	cr_assert_eq(ex[1], 40);
	cr_assert_eq(why[1], CAND_EXCL_PURCHASED);
	cand_snap_excluded(b, 1, &n, NULL);
	cr_assert_eq(n, 0);
	/* a loaded snapshot takes a catalog change like a built one */
	cand_item_row change = {20, "Board XL", "Home/Kitchen", 25, 1, 1, "Acme", 0, 999};
	cand_snap *c = NULL;
	cr_assert_eq(cand_snap_apply_catalog(b, &change, 1, 0, &c), 0);
	cr_assert_str_eq(c->items[cand_snap_find(c, 20)].title, "Board XL");
	cr_assert_eq(c->cat_sum, 111 + 999 + 333 + 444);
	cand_snap_unref(c);
	cand_snap_unref(a);
	cand_snap_unref(b);
}

Test(snapfile, missing_file_is_not_found)
{
	refused(RS_ENOTFOUND);
}

Test(snapfile, truncated_file_is_refused)
{
	write_built();
	long n = file_size();
	cr_assert_eq(truncate(path, n / 2), 0);
	cr_assert(strstr(refused(RS_ECORRUPT), "truncated") != NULL);
	cr_assert_eq(truncate(path, 100), 0); /* shorter than the header */
	cr_assert(strstr(refused(RS_ECORRUPT), "truncated") != NULL);
	cr_assert_eq(truncate(path, 0), 0);
	refused(RS_ECORRUPT);
}

/* Patches 4 bytes at off and, when fix_header, the header's checksum (a file written by
 * another format's writer, not a damaged one). The header checksum is the last 8 bytes of the
 * 344-byte header, over the 336 before it. */
static void
patch(long off, uint32_t v, int fix_header)
{
	unsigned char h[344];
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, h, sizeof(h), 0), (ssize_t) sizeof(h));
	memcpy(h + off, &v, sizeof(v));
	if (fix_header) {
		uint64_t fnv = rs_fnv1a64(RS_FNV1A64_INIT, h, 336);
		memcpy(h + 336, &fnv, sizeof(fnv));
	}
	cr_assert_eq(pwrite(fd, h, sizeof(h), 0), (ssize_t) sizeof(h));
	close(fd);
}

Test(snapfile, wrong_format_version_is_refused)
{
	write_built();
	patch(8, CAND_SNAPFILE_FORMAT + 1, 1); /* format follows the 8-byte magic */
	cr_assert(strstr(refused(RS_EVERSION), "another format version") != NULL);
}

Test(snapfile, damaged_header_or_payload_is_refused)
{
	write_built();
	patch(8, CAND_SNAPFILE_FORMAT + 1, 0); /* the header checksum no longer matches */
	cr_assert(strstr(refused(RS_ECORRUPT), "header checksum") != NULL);
	write_built();
	long n = file_size();
	int fd = open(path, O_RDWR);
	unsigned char c;
	cr_assert_eq(pread(fd, &c, 1, n - 3), 1);
	c ^= 0x40;
	cr_assert_eq(pwrite(fd, &c, 1, n - 3), 1);
	close(fd);
	cr_assert(strstr(refused(RS_ECORRUPT), "payload checksum") != NULL);
	write_built();
	patch(0, 0x12345678, 1); /* magic */
	cr_assert(strstr(refused(RS_ECORRUPT), "magic") != NULL);
}

Test(snapfile, other_settings_are_refused)
{
	char err[256];
	cand_snap *s = NULL;
	write_built();
	cand_snapfile_key other = key;
	other.covisit_n = 6;
	cr_assert_eq(cand_snapfile_read(path, &other, &s, NULL, 0, err, sizeof(err)), RS_EVERSION);
	cr_assert_null(s);
	cr_assert(strstr(err, "other settings") != NULL, "%s", err);
	other = key;
	other.half_life_h = 24;
	cr_assert_eq(cand_snapfile_read(path, &other, &s, NULL, 0, err, sizeof(err)), RS_EVERSION);
	cr_assert_null(s);
}

Test(snapfile, rewrite_replaces_the_file_whole)
{
	char err[256] = "", mv[64] = "";
	cand_snap *s = NULL;
	write_built();
	cand_snap *e = NULL;
	cr_assert_eq(cand_snap_build(items, 2, events, 2, &params, 0xbeef, &e), 0);
	cr_assert_eq(cand_snapfile_write(path, e, &key, "", err, sizeof(err)), 0, "%s", err);
	cand_snap_unref(e);
	char tmp[192];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_neq(access(tmp, F_OK), 0, "the temporary file is renamed, not left");
	cr_assert_eq(cand_snapfile_read(path, &key, &s, mv, sizeof(mv), err, sizeof(err)), 0);
	cr_assert_eq(s->fingerprint, 0xbeef);
	cr_assert_eq(s->n_items, 2);
	cr_assert_str_eq(mv, "");
	cand_snap_unref(s);
}

/* ---- rs-candidate's state with a state folder, against PostgreSQL ---- */

static fx_pg fx;

static void
svc_setup(void)
{
	dir_setup();
	fx_pg_setup(&fx, "cand_sf");
	fx_sql(&fx, "insert into items(item_id, title, category, price, in_stock) values"
	            " (1, 'Knife', 'Home', 50, true), (2, 'Board', 'Home', 20, true),"
	            " (3, 'Pan', 'Home', 35, true);"
	            "insert into events(event_id, user_id, item_id, type, ts)"
	            " select 'v' || u || '-' || i, u, i, 1, now() - interval '1 hour'"
	            " from generate_series(1, 5) u, generate_series(1, 2) i;");
}

static void
svc_teardown(void)
{
	fx_pg_teardown(&fx);
	dir_teardown();
}

static cand_state *
svc_open(const char *dsn)
{
	cand_config cfg = {
	        .pg_dsn = dsn,
	        .url = "",
	        .workers = 1,
	        .log_level = RS_LOG_WARN,
	        .refresh_ms = 3600000, /* only the first, background, refresh */
	        .default_k = 200,
	        .window_days = 90,
	        .max_events = 100000,
	        .half_life_h = 72,
	        .covisit_n = 50,
	        .pg_timeout_ms = 5000,
	        .model_poll_ms = 0,
	        .state_dir = dir,
	};
	cand_state *st = NULL;
	rs_log_init("candidate-test", RS_LOG_ERROR);
	cr_assert_eq(cand_open(&st, &cfg), 0);
	return st;
}

/* Waits (bounded) until the state has a snapshot; returns it (a reference) or NULL. */
static cand_snap *
wait_snapshot(cand_state *st)
{
	for (int i = 0; i < 1000; i++) {
		cand_snap *s = cand_current(st);
		if (s != NULL)
			return s;
		usleep(10000);
	}
	return NULL;
}

TestSuite(candidate_state, .init = svc_setup, .fini = svc_teardown, .timeout = 60);

Test(candidate_state, a_build_is_saved_and_served_at_the_next_open_without_postgres)
{
	cand_state *st = svc_open(fx.dsn);
	cand_snap *s = wait_snapshot(st);
	cr_assert_not_null(s, "the first build");
	cr_assert_eq(cand_state_save(st), 0);
	char version[48];
	snprintf(version, sizeof(version), "%s", s->version);
	cr_assert_eq(s->n_events, 10);
	cand_snap_unref(s);
	cand_close(st);
	cr_assert_eq(access(path, R_OK), 0, "the file is written after the build");

	/* PostgreSQL unreachable: the file alone serves, right after the open */
	st = svc_open("host=127.0.0.1 port=1 user=postgres dbname=recsys");
	s = cand_current(st);
	cr_assert_not_null(s, "served from the file before any refresh");
	cr_assert_str_eq(s->version, version);
	cr_assert_eq(s->n_events, 10);
	cr_assert_eq(s->items[cand_snap_find(s, 1)].pop, 5.0f, "5 views of item 1");
	cand_snap_unref(s);
	cand_close(st);

	/* PostgreSQL up, a catalog change while the service was down: applied before serving,
	 * the events (unchanged) keep the loaded snapshot */
	fx_sql(&fx, "update items set title = 'Chef Knife' where item_id = 1");
	st = svc_open(fx.dsn);
	s = cand_current(st);
	cr_assert_not_null(s);
	cr_assert_str_eq(s->items[cand_snap_find(s, 1)].title, "Chef Knife");
	cr_assert_str_eq(s->version, version, "the loaded snapshot, not a rebuild");
	cand_snap_unref(s);
	cand_close(st);
}

Test(candidate_state, a_truncated_or_stale_file_is_refused_and_the_service_builds)
{
	cand_state *st = svc_open(fx.dsn);
	cand_snap *s = wait_snapshot(st);
	cr_assert_not_null(s);
	cand_snap_unref(s);
	cr_assert_eq(cand_state_save(st), 0);
	cand_close(st);

	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(truncate(path, sb.st_size - 1), 0);
	st = svc_open(fx.dsn);
	s = cand_current(st);
	cr_assert_null(s, "a truncated file is not served");
	cand_snap_unref(s);
	s = wait_snapshot(st);
	cr_assert_not_null(s, "the full build serves instead");
	cr_assert_eq(s->n_events, 10);
	cand_snap_unref(s);
	cr_assert_eq(cand_state_save(st), 0);
	cand_close(st);

	/* written while another model version was active: stale */
	fx_sql(&fx,
	       "insert into model_versions(version, path, active) values ('vX', '/nowhere', true)");
	st = svc_open(fx.dsn);
	s = cand_current(st);
	cr_assert_null(s, "a file of another model version is not served");
	cand_snap_unref(s);
	s = wait_snapshot(st);
	cr_assert_not_null(s, "the full build serves instead");
	cand_snap_unref(s);
	cand_close(st);
}
