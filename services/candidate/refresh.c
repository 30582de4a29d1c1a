/* The snapshot refresh: PostgreSQL -> rows -> cand_snap_build -> atomic swap; and the catalog's
 * changes (NOTIFY catalog, or found by the periodic check) applied to the current snapshot. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "candidate.h"
#include "ranker_in.h"
#include "rs_err.h"
#include "rs_hash.h"
#include "rs_log.h"
#include "rs_pg.h"
#include "rs_time.h"
#include "snapfile.h"

/* Each catalog row with PostgreSQL's hash of it; the snapshot keeps the hashes and their sum,
 * so a row re-read unchanged costs nothing and the periodic check can compare sums. */
#define ITEM_HASH \
	"hashtext(concat_ws('|', item_id, title, category, price, in_stock, brand, available))"
#define ITEMS_SELECT                                                                       \
	"select item_id, title, category, coalesce(price, 0)::float8, price is not null, " \
	"in_stock, brand, not available, " ITEM_HASH " from items"
static const char items_sql[] = ITEMS_SELECT;
/* The rows changed since the last read ($1: PostgreSQL's now() just before it). A row's
 * updated_at is its writer's transaction start (0005_catalog.sql), so a writer that started
 * before the last read but committed after it is seen through the margin; one that took longer
 * than the margin is found by the periodic check's sums. */
static const char items_changed_sql[] =
        ITEMS_SELECT " where updated_at > $1::timestamptz - interval '2 seconds'";
static const char now_sql[] = "select now()::text";
static const char active_model_sql[] = "select version from model_versions where active";

/* What changed since the last build, cheaply (one scan, no rows shipped): the number and the
 * newest ingestion of the events in the window, and a hash over the catalog. */
static const char check_window_sql[] =
        "select count(*), coalesce(max(ingested_at)::text, ''), coalesce(max(ts)::text, '') "
        "from events where ts > now() - make_interval(days => $1::int)";
static const char check_all_sql[] =
        "select count(*), coalesce(max(ingested_at)::text, ''), coalesce(max(ts)::text, '') "
        "from events";
static const char check_items_sql[] = "select count(*), coalesce(sum(" ITEM_HASH "), 0) from items";

/* Cheaper still, for the background loop: PostgreSQL's cumulative write counters of the event
 * partitions (no table is read; a backend publishes them within 1-10 s of its commit). The
 * window scan above runs only when they moved or the last one is a minute old (events age out
 * of the window); on 1.7M events it costs ~0.6 s, every refresh period. */
static const char check_events_stats_sql[] =
        "select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text, count(*)::text "
        "from pg_stat_user_tables "
        "where relid in (select inhrelid from pg_inherits where inhparent = 'events'::regclass)";
#define EVENTS_EXACT_MAX_AGE_MS 60000.0

/* The events of the window (or of all time when the window is empty); ordered and limited
 * only when there are more than max_events of them. $1 is always the window in days (the
 * all-time forms ignore it) so every form takes the same parameters. */
static const char events_window_sql[] =
        "select user_id, item_id, type, (extract(epoch from ts) * 1000)::bigint, "
        "coalesce(value, 0) from events where ts > now() - make_interval(days => $1::int)";
static const char events_window_newest_sql[] =
        "select user_id, item_id, type, (extract(epoch from ts) * 1000)::bigint, "
        "coalesce(value, 0) from events where ts > now() - make_interval(days => $1::int) "
        "order by ts desc limit $2::int";
static const char events_all_sql[] =
        "select user_id, item_id, type, (extract(epoch from ts) * 1000)::bigint, "
        "coalesce(value, 0) from events where $1::int > 0";
static const char events_all_newest_sql[] =
        "select user_id, item_id, type, (extract(epoch from ts) * 1000)::bigint, "
        "coalesce(value, 0) from events where $1::int > 0 order by ts desc limit $2::int";

static int
refresh_connect(cand_state *st)
{
	char sql[64];
	int rv;

	if (st->cs_pg != NULL && PQstatus(st->cs_pg) == CONNECTION_OK)
		return 0;
	if (st->cs_pg != NULL) {
		PQfinish(st->cs_pg);
		st->cs_pg = NULL;
	}
	st->cs_listening = 0;
	if ((rv = rs_pg_connect(st->cs_dsn, &st->cs_pg)) != 0)
		return rv;
	st->cs_events_valid = 0; /* a new server may have new counters */
	snprintf(sql, sizeof(sql), "set statement_timeout = %d", st->cs_cfg.pg_timeout_ms);
	if ((rv = rs_pg_exec(st->cs_pg, sql, 0, NULL, PGRES_COMMAND_OK, "candidate.set_timeout")) !=
	    0) {
		PQfinish(st->cs_pg);
		st->cs_pg = NULL;
		return rv;
	}
	/* Best effort: without it catalog changes arrive with the periodic check instead. */
	st->cs_listening = rs_pg_exec(st->cs_pg, "listen catalog", 0, NULL, PGRES_COMMAND_OK,
	                              "candidate.listen") == 0;
	return 0;
}

static int
refresh_query(cand_state *st, const char *sql, int np, const char *const *params, const char *what,
              PGresult **out)
{
	PGresult *res = PQexecParams(st->cs_pg, sql, np, NULL, params, NULL, NULL, 0);
	int rv = rs_pg_check(st->cs_pg, res, PGRES_TUPLES_OK, what);
	if (rv != 0) {
		PQclear(res);
		return rv;
	}
	*out = res;
	return 0;
}

static void
cand_swap(cand_state *st, cand_snap *snap)
{
	pthread_mutex_lock(&st->cs_snap_mu);
	cand_snap *old = st->cs_snap;
	st->cs_snap = snap;
	pthread_mutex_unlock(&st->cs_snap_mu);
	cand_snap_unref(old); /* freed once the last request using it lets go */
}

cand_snap *
cand_current(cand_state *st)
{
	pthread_mutex_lock(&st->cs_snap_mu);
	cand_snap *s = cand_snap_ref(st->cs_snap);
	pthread_mutex_unlock(&st->cs_snap_mu);
	return s;
}

static uint64_t
fnv_str(uint64_t h, const char *str)
{
	return rs_fnv1a64(h, str, strlen(str) + 1);
}

/* The write counters' fingerprint (check_events_stats_sql). */
static int
refresh_events_stats(cand_state *st, uint64_t *fp)
{
	PGresult *r = NULL;
	int rv = refresh_query(st, check_events_stats_sql, 0, NULL, "candidate.check_stats", &r);
	if (rv != 0)
		return rv;
	*fp = fnv_str(fnv_str(RS_FNV1A64_INIT, PQgetvalue(r, 0, 0)), PQgetvalue(r, 0, 1));
	PQclear(r);
	return 0;
}

/* The events' part of the fingerprint, from the window scan; or, when `cheap` and the write
 * counters have not moved since the last scan (less than a minute ago), from that scan. */
static int
refresh_check_events(cand_state *st, const char *days, int cheap)
{
	PGresult *r = NULL;
	const char *wp[1] = {days};
	uint64_t stats = 0;
	int stats_ok = refresh_events_stats(st, &stats) == 0;
	int rv;

	if (cheap && stats_ok && st->cs_events_valid && stats == st->cs_events_stats &&
	    rs_mono_ms() - st->cs_events_checked_ms < EVENTS_EXACT_MAX_AGE_MS)
		return 0;
	st->cs_events_valid = 0;
	if ((rv = refresh_query(st, check_window_sql, 1, wp, "candidate.check", &r)) != 0)
		return rv;
	long count = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	int window_empty = count == 0;
	if (window_empty) {
		PQclear(r);
		if ((rv = refresh_query(st, check_all_sql, 0, NULL, "candidate.check_all", &r)) !=
		    0)
			return rv;
		count = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	}
	uint64_t fp = RS_FNV1A64_INIT;
	for (int c = 0; c < 3; c++)
		fp = fnv_str(fp, PQgetvalue(r, 0, c));
	PQclear(r);
	st->cs_events_fp = fp;
	st->cs_events_count = count;
	st->cs_events_window_empty = window_empty;
	/* counters read before the scan: a write in between moves them for the next check */
	st->cs_events_stats = stats;
	st->cs_events_valid = stats_ok;
	st->cs_events_checked_ms = rs_mono_ms();
	return 0;
}

/* The events' fingerprint (refresh_check_events) and whether the window is empty.
 * *window_empty when the window has no events (the build then uses all of them), *count the
 * events it would read. The catalog is checked apart (catalog_sync_locked). */
static int
refresh_check(cand_state *st, const char *days, int cheap, uint64_t *fp, int *window_empty,
              long *count)
{
	int rv;

	if ((rv = refresh_check_events(st, days, cheap)) != 0)
		return rv;
	*fp = st->cs_events_fp;
	*count = st->cs_events_count;
	*window_empty = st->cs_events_window_empty;
	*fp = rs_fnv1a64(*fp, window_empty, sizeof(*window_empty));
	return 0;
}

/* The rows of an items_sql result, borrowing its strings (valid until PQclear). Returns 0 and
 * *out (malloc'd), or RS_ENOMEM. */
static int
items_parse(PGresult *r, cand_item_row **out)
{
	size_t n = (size_t) PQntuples(r);
	cand_item_row *items = malloc((n ? n : 1) * sizeof(*items));
	if (items == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int row = (int) i;
		items[i] = (cand_item_row){
		        .id = strtoll(PQgetvalue(r, row, 0), NULL, 10),
		        .title = PQgetvalue(r, row, 1),
		        .category = PQgetvalue(r, row, 2),
		        .price = strtod(PQgetvalue(r, row, 3), NULL),
		        .has_price = PQgetvalue(r, row, 4)[0] == 't',
		        .in_stock = PQgetvalue(r, row, 5)[0] == 't',
		        .brand = PQgetvalue(r, row, 6),
		        .withdrawn = PQgetvalue(r, row, 7)[0] == 't',
		        .row_hash = (int32_t) strtol(PQgetvalue(r, row, 8), NULL, 10),
		};
	}
	*out = items;
	return 0;
}

/* 1 when any row differs from what s holds (a new id, or another hash). */
static int
catalog_differs(const cand_snap *s, const cand_item_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t idx = cand_snap_find(s, rows[i].id);
		if (idx < 0 || !s->items[idx].in_catalog ||
		    s->items[idx].row_hash != rows[i].row_hash)
			return 1;
	}
	return 0;
}

/* now() of a fresh statement into mark. */
static int
catalog_mark(cand_state *st, char *mark, size_t n)
{
	PGresult *r = NULL;
	int rv = refresh_query(st, now_sql, 0, NULL, "candidate.now", &r);
	if (rv == 0)
		snprintf(mark, n, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rv;
}

/* Reads the changed rows (every row when there is no mark) and, with verify, the catalog's
 * count and hash sum, all in one database snapshot. */
static int
catalog_read(cand_state *st, int verify, char *mark, size_t markn, PGresult **rows,
             long long *count, long long *sum)
{
	PGresult *h = NULL;
	const char *p[1] = {st->cs_cat_mark};
	int rv;

	if (verify && (rv = rs_pg_exec(st->cs_pg, "begin isolation level repeatable read read only",
	                               0, NULL, PGRES_COMMAND_OK, "candidate.begin")) != 0)
		return rv;
	if ((rv = catalog_mark(st, mark, markn)) != 0 ||
	    (rv = refresh_query(st, st->cs_cat_mark[0] ? items_changed_sql : items_sql,
	                        st->cs_cat_mark[0] ? 1 : 0, p, "candidate.items_changed", rows)) !=
	            0 ||
	    (verify && (rv = refresh_query(st, check_items_sql, 0, NULL, "candidate.check_items",
	                                   &h)) != 0)) {
		if (verify && PQstatus(st->cs_pg) == CONNECTION_OK)
			rs_pg_exec(st->cs_pg, "rollback", 0, NULL, PGRES_COMMAND_OK, "rollback");
		return rv;
	}
	if (verify) {
		*count = strtoll(PQgetvalue(h, 0, 0), NULL, 10);
		*sum = strtoll(PQgetvalue(h, 0, 1), NULL, 10);
		PQclear(h);
		if ((rv = rs_pg_exec(st->cs_pg, "commit", 0, NULL, PGRES_COMMAND_OK,
		                     "candidate.commit")) != 0) {
			PQclear(*rows);
			*rows = NULL;
			return rv;
		}
	}
	return 0;
}

/* Applies rows (of r) to *snap: the result replaces *snap (the old reference dropped) when
 * anything changed. *changed tells. */
static int
catalog_apply(PGresult *r, int full, cand_snap **snap, int *changed)
{
	cand_item_row *rows = NULL;
	cand_snap *next = NULL;
	size_t n = (size_t) PQntuples(r);
	int rv;

	*changed = 0;
	if (!full && !catalog_differs(*snap, NULL, 0) && n == 0)
		return 0;
	if ((rv = items_parse(r, &rows)) != 0)
		return rv;
	if (full || catalog_differs(*snap, rows, n)) {
		if ((rv = cand_snap_apply_catalog(*snap, rows, n, full, &next)) == 0) {
			cand_snap_unref(*snap);
			*snap = next;
			*changed = 1;
		}
	}
	free(rows);
	return rv;
}

static int
catalog_sync_locked(cand_state *st, int verify)
{
	PGresult *r = NULL;
	cand_snap *cur;
	char mark[sizeof(st->cs_cat_mark)];
	long long count = 0, sum = 0;
	int rv, changed = 0, full, again = 0;
	double t0 = rs_mono_ms();

	if ((rv = refresh_connect(st)) != 0)
		return rv;
	if ((cur = cand_current(st)) == NULL)
		return 0; /* the first build reads the catalog */
	full = st->cs_cat_mark[0] == '\0';
	if ((rv = catalog_read(st, verify, mark, sizeof(mark), &r, &count, &sum)) != 0 ||
	    (rv = catalog_apply(r, full, &cur, &changed)) != 0)
		goto out;
	if (verify && ((long long) cur->cat_count != count || cur->cat_sum != sum)) {
		/* A change the time-based read missed (a writer slower than the margin, rows
		 * deleted): read everything. */
		PQclear(r);
		r = NULL;
		st->cs_cat_mark[0] = '\0';
		full = again = 1;
		int c2 = 0;
		if ((rv = catalog_read(st, 0, mark, sizeof(mark), &r, NULL, NULL)) != 0 ||
		    (rv = catalog_apply(r, 1, &cur, &c2)) != 0)
			goto out;
		changed = 1;
	}
	snprintf(st->cs_cat_mark, sizeof(st->cs_cat_mark), "%s", mark);
	if (changed) {
		double ms = rs_mono_ms() - t0;
		rs_metric_add(full ? st->cs_cat_full : st->cs_cat_delta, 1);
		rs_metric_observe(st->cs_cat_ms, ms);
		rs_metric_set(st->cs_items, (double) cur->n_items);
		if (full)
			rs_log_info("candidate.catalog_applied",
			            "rows=%d full=1 missed=%d items=%zu withdrawn=%zu ms=%.1f",
			            PQntuples(r), again, cur->n_items, cur->n_withdrawn, ms);
		else
			rs_log_debug("candidate.catalog_applied",
			             "rows=%d full=0 items=%zu withdrawn=%zu ms=%.1f", PQntuples(r),
			             cur->n_items, cur->n_withdrawn, ms);
		cand_swap(st, cand_snap_ref(cur));
	}
out:
	PQclear(r);
	cand_snap_unref(cur);
	return rv;
}

static int
refresh_locked(cand_state *st, int force)
{
	PGresult *ri = NULL, *re = NULL;
	cand_item_row *items = NULL;
	cand_event_row *events = NULL;
	cand_snap *snap = NULL, *cur = NULL;
	char days[16], lim[16], mark[sizeof(st->cs_cat_mark)];
	double t0 = rs_mono_ms();
	uint64_t fp;
	int window_empty, rv;
	long count;

	if ((rv = refresh_connect(st)) != 0)
		return rv;
	snprintf(days, sizeof(days), "%d", st->cs_cfg.window_days);
	snprintf(lim, sizeof(lim), "%d", st->cs_cfg.max_events);
	/* a forced refresh (a caller that just wrote) always scans; the background loop scans
	 * the events only after PostgreSQL counted writes to them */
	if ((rv = refresh_check(st, days, !force, &fp, &window_empty, &count)) != 0)
		return rv;
	cur = cand_current(st);
	/* Unchanged events keep the snapshot (and its version), and so does a changed input
	 * until the last build is 4 build-durations old, so rebuilding under a steady event
	 * stream takes at most a fifth of a core; the catalog is brought up to date either way. */
	int keep = cur != NULL &&
	           (cur->fingerprint == fp ||
	            (!force && rs_mono_ms() - st->cs_built_at_ms < 4 * st->cs_build_ms));
	cand_snap_unref(cur);
	if (keep)
		return catalog_sync_locked(st, 1);

	const char *wp[2] = {days, lim};
	const char *sql = window_empty ? (count > st->cs_cfg.max_events ? events_all_newest_sql
	                                                                : events_all_sql)
	                               : (count > st->cs_cfg.max_events ? events_window_newest_sql
	                                                                : events_window_sql);
	int np = count > st->cs_cfg.max_events ? 2 : 1;
	if ((rv = catalog_mark(st, mark, sizeof(mark))) != 0 ||
	    (rv = refresh_query(st, items_sql, 0, NULL, "candidate.items", &ri)) != 0 ||
	    (rv = refresh_query(st, sql, np, wp, "candidate.events", &re)) != 0)
		goto out;
	size_t ni = (size_t) PQntuples(ri), ne = (size_t) PQntuples(re);
	double t_query = rs_mono_ms() - t0;
	if (atomic_load(&st->cs_stop)) {
		rv = 0; /* shutting down: a build would only delay the exit */
		goto out;
	}
	if ((rv = items_parse(ri, &items)) != 0)
		goto out;
	rv = RS_ENOMEM;
	if ((events = malloc((ne ? ne : 1) * sizeof(*events))) == NULL)
		goto out;
	for (size_t i = 0; i < ne; i++) {
		int r = (int) i;
		cand_event_row *e = &events[i];
		e->user_id = strtoll(PQgetvalue(re, r, 0), NULL, 10);
		e->item_id = strtoll(PQgetvalue(re, r, 1), NULL, 10);
		e->type = (int32_t) strtol(PQgetvalue(re, r, 2), NULL, 10);
		e->ts_ms = strtoll(PQgetvalue(re, r, 3), NULL, 10);
		e->value = strtod(PQgetvalue(re, r, 4), NULL);
	}
	double t_parse = rs_mono_ms() - t0;
	cand_build_params bp = {
	        .half_life_ms = st->cs_cfg.half_life_h * 3600.0 * 1000.0,
	        .covisit_n = (uint32_t) st->cs_cfg.covisit_n,
	        .covisit_span = 10,
	        .user_items = 50,
	        .category_top = 500,
	};
	if ((rv = cand_snap_build(items, ni, events, ne, &bp, fp, &snap)) != 0)
		goto out;
	st->cs_built_at_ms = rs_mono_ms();
	st->cs_build_ms = st->cs_built_at_ms - t0;
	rs_metric_set(st->cs_items, (double) snap->n_items);
	rs_metric_set(st->cs_events, (double) snap->n_events);
	rs_log_info("candidate.refreshed",
	            "version=%s items=%zu events=%zu popular=%zu neighbours=%zu ms=%.1f "
	            "query_ms=%.1f parse_ms=%.1f",
	            snap->version, snap->n_items, snap->n_events, snap->n_popular, snap->n_nbs,
	            st->cs_build_ms, t_query, t_parse - t_query);
	cand_swap(st, snap);
	snprintf(st->cs_cat_mark, sizeof(st->cs_cat_mark), "%s", mark);
	atomic_store(&st->cs_save_pending, 1);
	rv = 0;
out:
	PQclear(ri);
	PQclear(re);
	free(items);
	free(events);
	return rv;
}

static int
refresh_run(cand_state *st, int force)
{
	double t0 = rs_mono_ms();
	pthread_mutex_lock(&st->cs_refresh_mu);
	int rv = refresh_locked(st, force);
	pthread_mutex_unlock(&st->cs_refresh_mu);
	atomic_store(&st->cs_pg_ok, rv == 0 || rv == RS_ENOMEM);
	rs_metric_add(rv == 0 ? st->cs_refresh_ok : st->cs_refresh_fail, 1);
	rs_metric_observe(st->cs_refresh_ms, rs_mono_ms() - t0);
	/* outside cs_refresh_mu: writing the file never delays a catalog change */
	if (atomic_exchange(&st->cs_save_pending, 0))
		cand_state_save(st);
	return rv;
}

int
cand_refresh(cand_state *st)
{
	return refresh_run(st, 1);
}

int
cand_catalog_sync(cand_state *st, int verify)
{
	pthread_mutex_lock(&st->cs_refresh_mu);
	int rv = catalog_sync_locked(st, verify);
	pthread_mutex_unlock(&st->cs_refresh_mu);
	if (rv != 0 && rv != RS_ENOMEM)
		atomic_store(&st->cs_pg_ok, 0);
	return rv;
}

/* Takes the notifications libpq has read on cs_pg (during any query); 1 if there was one. */
static int
refresh_drain_locked(cand_state *st)
{
	PGnotify *n;
	int got = 0;
	while ((n = PQnotifies(st->cs_pg)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

/* Waits up to ms for a NOTIFY on channel catalog; 1 when one came (all pending are taken). */
static int
refresh_wait_notify(cand_state *st, int ms)
{
	int got = 0, fd = -1;
	pthread_mutex_lock(&st->cs_refresh_mu);
	if (st->cs_pg != NULL && st->cs_listening) {
		got = refresh_drain_locked(st);
		fd = PQsocket(st->cs_pg);
	}
	pthread_mutex_unlock(&st->cs_refresh_mu);
	if (got)
		return 1;
	if (fd < 0) {
		rs_sleep_ms(ms);
		return 0;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	pthread_mutex_lock(&st->cs_refresh_mu);
	/* the connection may have been replaced meanwhile: only read the one we waited on */
	if (st->cs_pg != NULL && PQsocket(st->cs_pg) == fd && PQconsumeInput(st->cs_pg))
		got = refresh_drain_locked(st);
	pthread_mutex_unlock(&st->cs_refresh_mu);
	if (!got)
		rs_sleep_ms(1); /* no busy loop */
	return got;
}

static void *
cand_background(void *arg)
{
	cand_state *st = arg;
	int failures = 0;
	/* Served from the file: the catch-up from PostgreSQL (a window scan, then a rebuild if
	 * events came meanwhile) waits one period, so the restarted service's first answers do
	 * not compete with it for the cores; catalog changes apply meanwhile. */
	int wait_first = st->cs_loaded;

	while (!atomic_load(&st->cs_stop)) {
		int rv = wait_first ? 0 : refresh_run(st, 0);
		wait_first = 0;
		if (rv != 0 && failures++ % 30 == 0)
			rs_log_warn("candidate.refresh_failed", "err=\"%s\" failures=%d",
			            rs_strerror(rv), failures);
		if (rv == 0)
			failures = 0;
		/* Until the next check: catalog changes as they are notified. Short waits so a
		 * stop is noticed at once. */
		double until = rs_mono_ms() + st->cs_cfg.refresh_ms;
		while (!atomic_load(&st->cs_stop) && rs_mono_ms() < until) {
			if (refresh_wait_notify(st, 20) && !atomic_load(&st->cs_stop))
				cand_catalog_sync(st, 0);
			if (atomic_exchange(&st->cs_save_pending, 0)) /* a model swap */
				cand_state_save(st);
		}
	}
	return NULL;
}

/* ---- the snapshot file (snapfile.h) ---- */

static cand_snapfile_key
state_key(const cand_state *st)
{
	return (cand_snapfile_key){
	        .covisit_n = (uint32_t) st->cs_cfg.covisit_n,
	        .category_top = 500, /* refresh_locked's build parameters */
	        .window_days = (uint32_t) st->cs_cfg.window_days,
	        .max_events = (uint32_t) st->cs_cfg.max_events,
	        .half_life_h = st->cs_cfg.half_life_h,
	};
}

/* What the file holds, as one number: the snapshot's identity and the model version. */
static uint64_t
state_hash(const cand_snap *s, const char *model_version)
{
	uint64_t h = fnv_str(RS_FNV1A64_INIT, s->version);
	h = rs_fnv1a64(h, &s->fingerprint, sizeof(s->fingerprint));
	h = rs_fnv1a64(h, &s->built_unix_ms, sizeof(s->built_unix_ms));
	return fnv_str(h, model_version);
}

/* The model swap callback of the watch: the file names the model version, so save again. */
static void
state_model_swapped(void *ud, rs_model *m)
{
	cand_state *st = ud;
	(void) m;
	atomic_store(&st->cs_save_pending, 1);
}

int
cand_state_save(cand_state *st)
{
	char mv[128] = "", err[512];
	int rv = 0;

	if (st->cs_state_path == NULL)
		return 0;
	cand_snap *s = cand_current(st);
	if (s == NULL)
		return 0;
	rs_model *m = rs_model_slot_get(st->cs_slot);
	if (m != NULL)
		snprintf(mv, sizeof(mv), "%s", rs_model_version(m));
	rs_model_unref(m);
	uint64_t h = state_hash(s, mv);
	pthread_mutex_lock(&st->cs_save_mu);
	if (h != st->cs_saved) {
		double t0 = rs_mono_ms();
		cand_snapfile_key key = state_key(st);
		rv = cand_snapfile_write(st->cs_state_path, s, &key, mv, err, sizeof(err));
		double ms = rs_mono_ms() - t0;
		if (rv == 0) {
			st->cs_saved = h;
			rs_metric_add(st->cs_state_saved, 1);
			rs_metric_observe(st->cs_state_save_ms, ms);
			rs_log_info("candidate.state_saved",
			            "version=%s model=%s items=%zu ms=%.1f", s->version,
			            mv[0] ? mv : "-", s->n_items, ms);
		} else {
			rs_metric_add(st->cs_state_save_fail, 1);
			rs_log_warn("candidate.state_save_failed", "err=\"%s\"", err);
		}
	}
	pthread_mutex_unlock(&st->cs_save_mu);
	cand_snap_unref(s);
	return rv;
}

/* The active model version's name into mv ("" = none). Under cs_refresh_mu. */
static int
state_active_model(cand_state *st, char *mv, size_t n)
{
	PGresult *r = NULL;
	int rv = refresh_query(st, active_model_sql, 0, NULL, "candidate.active_model", &r);
	if (rv != 0)
		return rv;
	snprintf(mv, n, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

/* 1 when PostgreSQL's catalog has count rows summing to sum (check_items_sql) and the mark
 * for the next incremental read is taken before that check; 0 when it differs; an RS_E*.
 * Under cs_refresh_mu. */
static int
state_catalog_same(cand_state *st, int64_t count, int64_t sum)
{
	PGresult *r = NULL;
	char mark[sizeof(st->cs_cat_mark)];
	int rv;

	if ((rv = catalog_mark(st, mark, sizeof(mark))) != 0 ||
	    (rv = refresh_query(st, check_items_sql, 0, NULL, "candidate.check_items", &r)) != 0)
		return rv;
	int same = strtoll(PQgetvalue(r, 0, 0), NULL, 10) == count &&
	           strtoll(PQgetvalue(r, 0, 1), NULL, 10) == sum;
	PQclear(r);
	if (same) /* a change committed after the mark is read by the next sync */
		snprintf(st->cs_cat_mark, sizeof(st->cs_cat_mark), "%s", mark);
	return same;
}

/* Loads the snapshot file (cand_open: before the refresh thread and the listener). */
static void
state_load(cand_state *st)
{
	cand_snap *s = NULL;
	char mv[128] = "", active[128] = "", err[512];
	double t0 = rs_mono_ms();
	cand_snapfile_key key = state_key(st);
	int rv, checked = 0;

	rv = cand_snapfile_read(st->cs_state_path, &key, &s, mv, sizeof(mv), err, sizeof(err));
	if (rv == RS_ENOTFOUND) {
		rs_log_info("candidate.state_missing", "path=%s", st->cs_state_path);
		return;
	}
	if (rv != 0) {
		rs_log_warn("candidate.state_refused", "err=%s reason=\"%s\"", rs_err_name(rv),
		            err);
		return;
	}
	/* The active version open before the first answer (as a service that builds first has
	 * it by then): the watch's first check, blocking; a failure leaves the slot as it is. */
	cand_model_check(st);
	pthread_mutex_lock(&st->cs_refresh_mu);
	/* PostgreSQL down: serve the file (what a running service would serve during the outage);
	 * the refresh thread catches up when it is back */
	if (refresh_connect(st) == 0 && state_active_model(st, active, sizeof(active)) == 0) {
		checked = 1;
		if (strcmp(active, mv) != 0) {
			pthread_mutex_unlock(&st->cs_refresh_mu);
			rs_log_warn("candidate.state_refused",
			            "err=RS_EVERSION reason=\"%s: written with model version '%s', "
			            "the active one is '%s'\"",
			            st->cs_state_path, mv, active);
			cand_snap_unref(s);
			return;
		}
	}
	uint64_t h = state_hash(s, mv);
	size_t n_items = s->n_items, n_events = s->n_events;
	char version[sizeof(s->version)];
	snprintf(version, sizeof(version), "%s", s->version);
	int64_t file_count = (int64_t) s->cat_count, file_sum = s->cat_sum;
	cand_swap(st, s); /* the reference moves to the state */
	/* The catalog as PostgreSQL has it now: when its totals are the file's, only the mark
	 * for the next incremental read; else a whole read applied (there is no mark yet). */
	if (checked && state_catalog_same(st, file_count, file_sum) != 1)
		catalog_sync_locked(st, 1);
	st->cs_loaded = 1;
	pthread_mutex_unlock(&st->cs_refresh_mu);
	st->cs_saved = h;
	rs_metric_set(st->cs_items, (double) n_items);
	rs_metric_set(st->cs_events, (double) n_events);
	rs_log_info("candidate.state_loaded",
	            "path=%s version=%s model=%s items=%zu events=%zu checked=%d ms=%.1f",
	            st->cs_state_path, version, mv[0] ? mv : "-", n_items, n_events, checked,
	            rs_mono_ms() - t0);
}

int
cand_open(cand_state **out, const cand_config *cfg)
{
	cand_state *st;

	if (cfg->pg_dsn == NULL || cfg->refresh_ms < 1 || cfg->default_k < 1 ||
	    cfg->default_k > CAND_MAX_K || cfg->covisit_n < 0 ||
	    cfg->covisit_n > CAND_COVISIT_MAX || cfg->half_life_h <= 0 || cfg->max_events < 0 ||
	    cfg->window_days < 1)
		return RS_EINVAL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return RS_ENOMEM;
	st->cs_cfg = *cfg;
	/* A connect attempt must not hang on an unreachable host (keyword DSNs only). */
	size_t n = strlen(cfg->pg_dsn) + 32;
	if ((st->cs_dsn = malloc(n)) == NULL) {
		free(st);
		return RS_ENOMEM;
	}
	if (strstr(cfg->pg_dsn, "connect_timeout") == NULL && strstr(cfg->pg_dsn, "://") == NULL)
		snprintf(st->cs_dsn, n, "%s connect_timeout=2", cfg->pg_dsn);
	else
		snprintf(st->cs_dsn, n, "%s", cfg->pg_dsn);
	st->cs_started_ms = rs_mono_ms();
	pthread_mutex_init(&st->cs_snap_mu, NULL);
	pthread_mutex_init(&st->cs_join_mu, NULL);
	pthread_mutex_init(&st->cs_refresh_mu, NULL);
	pthread_mutex_init(&st->cs_save_mu, NULL);
	atomic_init(&st->cs_save_pending, 0);
	atomic_init(&st->cs_stop, 0);
	atomic_init(&st->cs_pg_ok, 0);
	st->cs_refresh_ok = rs_metrics_counter("rs_candidate_refresh_total",
	                                       "Snapshot refreshes by result", "result=\"ok\"");
	st->cs_refresh_fail = rs_metrics_counter(
	        "rs_candidate_refresh_total", "Snapshot refreshes by result", "result=\"error\"");
	st->cs_refresh_ms = rs_metrics_histogram("rs_candidate_refresh_ms",
	                                         "Snapshot refresh time in milliseconds", NULL);
	st->cs_items = rs_metrics_gauge("rs_candidate_items", "Items in the snapshot", NULL);
	st->cs_events = rs_metrics_gauge("rs_candidate_events", "Events in the snapshot", NULL);
	st->cs_cat_delta =
	        rs_metrics_counter("rs_candidate_catalog_applied_total",
	                           "Catalog changes applied to the snapshot", "kind=\"changed\"");
	st->cs_cat_full =
	        rs_metrics_counter("rs_candidate_catalog_applied_total",
	                           "Catalog changes applied to the snapshot", "kind=\"full\"");
	st->cs_cat_ms =
	        rs_metrics_histogram("rs_candidate_catalog_apply_ms",
	                             "Catalog change read + apply time in milliseconds", NULL);
	st->cs_state_saved = rs_metrics_counter("rs_candidate_state_saves_total",
	                                        "Snapshot file writes by result", "result=\"ok\"");
	st->cs_state_save_fail =
	        rs_metrics_counter("rs_candidate_state_saves_total",
	                           "Snapshot file writes by result", "result=\"error\"");
	st->cs_state_save_ms = rs_metrics_histogram(
	        "rs_candidate_state_save_ms", "Snapshot file write time in milliseconds", NULL);
	if (cfg->state_dir != NULL && cfg->state_dir[0] != '\0') {
		size_t pn = strlen(cfg->state_dir) + sizeof(CAND_SNAPFILE_NAME) + 2;
		if ((st->cs_state_path = malloc(pn)) == NULL) {
			cand_close(st);
			return RS_ENOMEM;
		}
		snprintf(st->cs_state_path, pn, "%s/%s", cfg->state_dir, CAND_SNAPFILE_NAME);
		if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST)
			rs_log_warn("candidate.state_dir_failed", "dir=%s err=\"%s\"",
			            cfg->state_dir, strerror(errno));
	}
	rs_model_watch_config wc = {
	        .pg_dsn = cfg->pg_dsn,
	        .model_dir = cfg->model_dir != NULL ? cfg->model_dir : "",
	        .poll_ms = cfg->model_poll_ms,
	        .svc = "candidate",
	        .prepare = cand_vaux_prepare, /* ranker sources, als index (modelsrc.h) */
	        .cache_size = cfg->model_cache,
	        .swapped = state_model_swapped,
	        .ud = st,
	};
	if (rs_model_slot_create(&st->cs_slot) != 0 ||
	    rs_model_watch_start(&st->cs_watch, &wc, st->cs_slot) != 0) {
		cand_close(st);
		return RS_ENOMEM;
	}
	if (st->cs_state_path != NULL)
		state_load(st);
	if (pthread_create(&st->cs_thread, NULL, cand_background, st) != 0) {
		cand_close(st);
		return RS_ENOMEM;
	}
	st->cs_thread_started = 1;
	*out = st;
	return 0;
}

void
cand_close(cand_state *st)
{
	if (st == NULL)
		return;
	atomic_store(&st->cs_stop, 1);
	if (st->cs_thread_started)
		pthread_join(st->cs_thread, NULL);
	rs_model_watch_stop(st->cs_watch);
	for (int i = 0; i < CAND_JOINS; i++)
		cand_join_unref(st->cs_joins[i]);
	rs_model_slot_destroy(st->cs_slot);
	cand_snap_unref(st->cs_snap);
	if (st->cs_pg != NULL)
		PQfinish(st->cs_pg);
	pthread_mutex_destroy(&st->cs_snap_mu);
	pthread_mutex_destroy(&st->cs_refresh_mu);
	pthread_mutex_destroy(&st->cs_join_mu);
	pthread_mutex_destroy(&st->cs_save_mu);
	free(st->cs_state_path);
	free(st->cs_dsn);
	free(st);
}

int
cand_model_check(cand_state *st)
{
	return rs_model_watch_check(st->cs_watch);
}

rs_model *
cand_current_model(cand_state *st)
{
	return rs_model_slot_get(st->cs_slot);
}

cand_join *
cand_join_get(cand_state *st, cand_snap *snap, rs_model *model)
{
	cand_join *j, *drop[CAND_JOINS];
	int nd = 0, slot = -1;

	if (snap == NULL || model == NULL)
		return NULL;
	pthread_mutex_lock(&st->cs_join_mu);
	for (int i = 0; i < CAND_JOINS; i++) {
		j = st->cs_joins[i];
		if (j != NULL && j->snap == snap && j->model == model) {
			st->cs_join_used[i] = ++st->cs_join_tick;
			cand_join_ref(j);
			pthread_mutex_unlock(&st->cs_join_mu);
			return j;
		}
	}
	pthread_mutex_unlock(&st->cs_join_mu);
	/* Built outside the lock (~1 ms per 20k items); two racing requests may both build. */
	if (cand_join_build(snap, model, &j) != 0)
		return NULL;
	pthread_mutex_lock(&st->cs_join_mu);
	for (int i = 0; i < CAND_JOINS; i++) {
		cand_join *o = st->cs_joins[i];
		/* joins of an older snapshot are never asked for again; one of this very pair was
		 * built by a racing request */
		if (o != NULL && (o->snap != snap || o->model == model)) {
			drop[nd++] = o;
			st->cs_joins[i] = NULL;
		}
	}
	for (int i = 0; i < CAND_JOINS && slot < 0; i++)
		if (st->cs_joins[i] == NULL)
			slot = i;
	if (slot < 0) { /* full: the least recently used version's goes */
		slot = 0;
		for (int i = 1; i < CAND_JOINS; i++)
			if (st->cs_join_used[i] < st->cs_join_used[slot])
				slot = i;
		drop[nd++] = st->cs_joins[slot];
	}
	st->cs_joins[slot] = cand_join_ref(j);
	st->cs_join_used[slot] = ++st->cs_join_tick;
	pthread_mutex_unlock(&st->cs_join_mu);
	for (int i = 0; i < nd; i++)
		cand_join_unref(drop[i]); /* the join holds refs: its snapshot/model stay unique */
	return j;
}
