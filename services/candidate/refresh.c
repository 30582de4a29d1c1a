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
        "select item_id, title, category, coalesce(price, 0)::float8, price is not null, in_stock "
        "from items";

/* The newest events inside the window; partition pruning keeps old months out. */
static const char events_window_sql[] =
        "select user_id, item_id, type, (extract(epoch from ts) * 1000)::bigint, "
        "coalesce(value, 0) from events "
        "where ts > now() - make_interval(days => $1::int) order by ts desc limit $2::int";

/* Fallback for a history that ended before the window (an imported, older data set). */
static const char events_all_sql[] =
        "select user_id, item_id, type, (extract(epoch from ts) * 1000)::bigint, "
        "coalesce(value, 0) from events order by ts desc limit $1::int";

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

static int
refresh_locked(cand_state *st)
{
	PGresult *ri = NULL, *re = NULL;
	cand_item_row *items = NULL;
	cand_event_row *events = NULL;
	cand_snap *snap = NULL, *cur = NULL;
	char days[16], lim[16];
	double t0 = rs_mono_ms();
	uint64_t fp = 1469598103934665603ULL;
	int rv;

	if ((rv = refresh_connect(st)) != 0)
		return rv;
	snprintf(days, sizeof(days), "%d", st->cs_cfg.window_days);
	snprintf(lim, sizeof(lim), "%d", st->cs_cfg.max_events);
	const char *wp[2] = {days, lim}, *ap[1] = {lim};
	if ((rv = refresh_query(st, items_sql, 0, NULL, "candidate.items", &ri)) != 0 ||
	    (rv = refresh_query(st, events_window_sql, 2, wp, "candidate.events", &re)) != 0)
		goto out;
	if (PQntuples(re) == 0) {
		PQclear(re);
		re = NULL;
		if ((rv = refresh_query(st, events_all_sql, 1, ap, "candidate.events_all", &re)) !=
		    0)
			goto out;
	}
	size_t ni = (size_t) PQntuples(ri), ne = (size_t) PQntuples(re);
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
		fp = fnv(fp, &items[i].id, sizeof(items[i].id));
		fp = fnv(fp, &items[i].price, sizeof(items[i].price));
		fp = fnv(fp, &items[i].in_stock, sizeof(items[i].in_stock));
		fp = fnv(fp, items[i].title, strlen(items[i].title));
		fp = fnv(fp, items[i].category, strlen(items[i].category));
	}
	for (size_t i = 0; i < ne; i++) {
		int r = (int) i;
		cand_event_row *e = &events[i];
		e->user_id = strtoll(PQgetvalue(re, r, 0), NULL, 10);
		e->item_id = strtoll(PQgetvalue(re, r, 1), NULL, 10);
		e->type = (int32_t) strtol(PQgetvalue(re, r, 2), NULL, 10);
		e->ts_ms = strtoll(PQgetvalue(re, r, 3), NULL, 10);
		e->value = strtod(PQgetvalue(re, r, 4), NULL);
		fp = fnv(fp, e, sizeof(*e) - 4); /* the struct's tail padding is not data */
	}
	fp = fnv(fp, &ni, sizeof(ni));
	fp = fnv(fp, &ne, sizeof(ne));
	cur = cand_current(st);
	if (cur != NULL && cur->fingerprint == fp) {
		rv = 0; /* nothing changed: keep the snapshot (and its version) */
		goto out;
	}
	cand_build_params bp = {
	        .half_life_ms = st->cs_cfg.half_life_h * 3600.0 * 1000.0,
	        .covisit_n = (uint32_t) st->cs_cfg.covisit_n,
	        .covisit_span = 10,
	        .user_items = 50,
	        .category_top = 500,
	};
	if ((rv = cand_snap_build(items, ni, events, ne, &bp, fp, &snap)) != 0)
		goto out;
	rs_metric_set(st->cs_items, (double) snap->n_items);
	rs_metric_set(st->cs_events, (double) snap->n_events);
	rs_log_info("candidate.refreshed",
	            "version=%s items=%zu events=%zu popular=%zu neighbours=%zu ms=%.1f",
	            snap->version, snap->n_items, snap->n_events, snap->n_popular, snap->n_nbs,
	            rs_mono_ms() - t0);
	cand_swap(st, snap);
	rv = 0;
out:
	cand_snap_unref(cur);
	PQclear(ri);
	PQclear(re);
	free(items);
	free(events);
	return rv;
}

int
cand_refresh(cand_state *st)
{
	double t0 = rs_mono_ms();
	pthread_mutex_lock(&st->cs_refresh_mu);
	int rv = refresh_locked(st);
	pthread_mutex_unlock(&st->cs_refresh_mu);
	atomic_store(&st->cs_pg_ok, rv == 0 || rv == RS_ENOMEM);
	rs_metric_add(rv == 0 ? st->cs_refresh_ok : st->cs_refresh_fail, 1);
	rs_metric_observe(st->cs_refresh_ms, rs_mono_ms() - t0);
	return rv;
}

static void *
cand_background(void *arg)
{
	cand_state *st = arg;
	int failures = 0;

	while (!atomic_load(&st->cs_stop)) {
		int rv = cand_refresh(st);
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
	cand_snap_unref(st->cs_snap);
	if (st->cs_pg != NULL)
		PQfinish(st->cs_pg);
	pthread_mutex_destroy(&st->cs_snap_mu);
	pthread_mutex_destroy(&st->cs_refresh_mu);
	free(st->cs_dsn);
	free(st);
}
