/* The snapshot refresh: PostgreSQL -> rows -> cand_snap_build -> atomic swap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "candidate.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"
#include "rs_time.h"

static const char items_sql[] =
        "select item_id, title, category, coalesce(price, 0)::float8, price is not null, in_stock, "
        "brand from items";

/* What changed since the last build, cheaply (one scan, no rows shipped): the number and the
 * newest ingestion of the events in the window, and a hash over the catalog. */
static const char check_window_sql[] =
        "select count(*), coalesce(max(ingested_at)::text, ''), coalesce(max(ts)::text, '') "
        "from events where ts > now() - make_interval(days => $1::int)";
static const char check_all_sql[] =
        "select count(*), coalesce(max(ingested_at)::text, ''), coalesce(max(ts)::text, '') "
        "from events";
static const char check_items_sql[] =
        "select count(*), coalesce(sum(hashtext(concat_ws('|', item_id, title, category, price, "
        "in_stock, brand)))::text, '') from items";

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

#define FNV_OFFSET 1469598103934665603ULL /* FNV-1a 64-bit offset basis */

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

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
	if ((rv = rs_pg_connect(st->cs_dsn, &st->cs_pg)) != 0)
		return rv;
	st->cs_events_valid = 0; /* a new server may have new counters */
	snprintf(sql, sizeof(sql), "set statement_timeout = %d", st->cs_cfg.pg_timeout_ms);
	if ((rv = rs_pg_exec(st->cs_pg, sql, 0, NULL, PGRES_COMMAND_OK, "candidate.set_timeout")) !=
	    0) {
		PQfinish(st->cs_pg);
		st->cs_pg = NULL;
	}
	return rv;
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
	return fnv(h, str, strlen(str) + 1);
}

/* The write counters' fingerprint (check_events_stats_sql). */
static int
refresh_events_stats(cand_state *st, uint64_t *fp)
{
	PGresult *r = NULL;
	int rv = refresh_query(st, check_events_stats_sql, 0, NULL, "candidate.check_stats", &r);
	if (rv != 0)
		return rv;
	*fp = fnv_str(fnv_str(FNV_OFFSET, PQgetvalue(r, 0, 0)), PQgetvalue(r, 0, 1));
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
	uint64_t fp = FNV_OFFSET;
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

/* The input's fingerprint: the events' part (refresh_check_events) and a hash over the
 * catalog, read every time (new items must show at once; 11-12 ms for 20,000 items).
 * *window_empty when the window has no events (the build then uses all of them), *count the
 * events it would read. */
static int
refresh_check(cand_state *st, const char *days, int cheap, uint64_t *fp, int *window_empty,
              long *count)
{
	PGresult *r = NULL;
	int rv;

	if ((rv = refresh_check_events(st, days, cheap)) != 0)
		return rv;
	*fp = st->cs_events_fp;
	*count = st->cs_events_count;
	*window_empty = st->cs_events_window_empty;
	if ((rv = refresh_query(st, check_items_sql, 0, NULL, "candidate.check_items", &r)) != 0)
		return rv;
	for (int c = 0; c < 2; c++)
		*fp = fnv_str(*fp, PQgetvalue(r, 0, c));
	*fp = fnv(*fp, window_empty, sizeof(*window_empty));
	PQclear(r);
	return 0;
}

static int
refresh_locked(cand_state *st, int force)
{
	PGresult *ri = NULL, *re = NULL;
	cand_item_row *items = NULL;
	cand_event_row *events = NULL;
	cand_snap *snap = NULL, *cur = NULL;
	char days[16], lim[16];
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
	if (cur != NULL && cur->fingerprint == fp) {
		cand_snap_unref(cur); /* nothing changed: keep the snapshot (and its version) */
		return 0;
	}
	/* A changed input waits until the last build is 4 build-durations old, so rebuilding
	 * under a steady event stream takes at most a fifth of a core. */
	if (!force && cur != NULL && rs_mono_ms() - st->cs_built_at_ms < 4 * st->cs_build_ms) {
		cand_snap_unref(cur);
		return 0;
	}
	cand_snap_unref(cur);

	const char *wp[2] = {days, lim};
	const char *sql = window_empty ? (count > st->cs_cfg.max_events ? events_all_newest_sql
	                                                                : events_all_sql)
	                               : (count > st->cs_cfg.max_events ? events_window_newest_sql
	                                                                : events_window_sql);
	int np = count > st->cs_cfg.max_events ? 2 : 1;
	if ((rv = refresh_query(st, items_sql, 0, NULL, "candidate.items", &ri)) != 0 ||
	    (rv = refresh_query(st, sql, np, wp, "candidate.events", &re)) != 0)
		goto out;
	size_t ni = (size_t) PQntuples(ri), ne = (size_t) PQntuples(re);
	double t_query = rs_mono_ms() - t0;
	if (atomic_load(&st->cs_stop)) {
		rv = 0; /* shutting down: a build would only delay the exit */
		goto out;
	}
	rv = RS_ENOMEM;
	if ((items = malloc((ni ? ni : 1) * sizeof(*items))) == NULL ||
	    (events = malloc((ne ? ne : 1) * sizeof(*events))) == NULL)
		goto out;
	for (size_t i = 0; i < ni; i++) {
		int r = (int) i;
		items[i].id = strtoll(PQgetvalue(ri, r, 0), NULL, 10);
		items[i].title = PQgetvalue(ri, r, 1);
		items[i].category = PQgetvalue(ri, r, 2);
		items[i].price = strtod(PQgetvalue(ri, r, 3), NULL);
		items[i].has_price = PQgetvalue(ri, r, 4)[0] == 't';
		items[i].in_stock = PQgetvalue(ri, r, 5)[0] == 't';
		items[i].brand = PQgetvalue(ri, r, 6);
	}
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
	return rv;
}

int
cand_refresh(cand_state *st)
{
	return refresh_run(st, 1);
}

static void *
cand_background(void *arg)
{
	cand_state *st = arg;
	int failures = 0;

	while (!atomic_load(&st->cs_stop)) {
		int rv = refresh_run(st, 0);
		if (rv != 0 && failures++ % 30 == 0)
			rs_log_warn("candidate.refresh_failed", "err=\"%s\" failures=%d",
			            rs_strerror(rv), failures);
		if (rv == 0)
			failures = 0;
		/* Sleep in short steps so a stop is noticed at once. */
		double until = rs_mono_ms() + st->cs_cfg.refresh_ms;
		while (!atomic_load(&st->cs_stop) && rs_mono_ms() < until)
			nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
	}
	return NULL;
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
	rs_model_watch_config wc = {
	        .pg_dsn = cfg->pg_dsn,
	        .model_dir = cfg->model_dir != NULL ? cfg->model_dir : "",
	        .poll_ms = cfg->model_poll_ms,
	        .svc = "candidate",
	        .cache_size = cfg->model_cache,
	};
	if (rs_model_slot_create(&st->cs_slot) != 0 ||
	    rs_model_watch_start(&st->cs_watch, &wc, st->cs_slot) != 0) {
		cand_close(st);
		return RS_ENOMEM;
	}
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
