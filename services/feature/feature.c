#include "feature.h"

#include <stdlib.h>
#include <time.h>

#include "rs_err.h"
#include "rs_log.h"
#include "rs_time.h"

#define FEAT_POLL_MS 50 /* the background thread's stream wait; also its stop latency */

/* Applies stream events as they come and keeps the connection pool healthy. */
static void *
feat_background(void *arg)
{
	feat_state *st = arg;

	while (!atomic_load(&st->fs_stop)) {
		if (st->fs_sub != NULL)
			feat_sub_poll(st->fs_sub, FEAT_POLL_MS);
		else
			rs_sleep_ms(FEAT_POLL_MS);
		/* returns at once unless a reconnect or a ping is due (or a request asked) */
		feat_store_maintain(st->fs_store);
	}
	return NULL;
}

int
feat_open(feat_state **out, const feat_config *cfg)
{
	feat_state *st;
	int rv;

	if (cfg->max_events < 1 || cfg->history_cap < 1 || cfg->max_events > cfg->history_cap)
		return RS_EINVAL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return RS_ENOMEM;
	st->fs_cfg = *cfg;
	st->fs_started_ms = rs_mono_ms();
	atomic_init(&st->fs_stop, 0);
	st->fs_hits = rs_metrics_counter("rs_feature_cache_total", "History lookups by result",
	                                 "result=\"hit\"");
	st->fs_misses = rs_metrics_counter("rs_feature_cache_total", "History lookups by result",
	                                   "result=\"miss\"");
	st->fs_pg_fail = rs_metrics_counter("rs_feature_pg_failures_total",
	                                    "History loads that PostgreSQL could not answer", NULL);
	st->fs_fold_ms = rs_metrics_histogram(
	        "rs_feature_fold_ms", "Online embedding (fold-in) time in milliseconds", NULL);
	st->fs_emb_hits = rs_metrics_counter(
	        "rs_feature_embedding_memo_total",
	        "Embeddings served from the one memoized with the cached history", NULL);
	rs_model_watch_config wc = {
	        .pg_dsn = cfg->pg_dsn,
	        .model_dir = cfg->model_dir != NULL ? cfg->model_dir : "",
	        .poll_ms = cfg->model_poll_ms,
	        .svc = "feature",
	        .prepare = feat_fold_prepare,
	        .cache_size = cfg->model_cache,
	};
	if ((rv = rs_model_slot_create(&st->fs_slot)) != 0 ||
	    (rv = rs_model_watch_start(&st->fs_watch, &wc, st->fs_slot)) != 0)
		goto fail;
	if ((rv = feat_cache_create(&st->fs_cache, (size_t) cfg->cache_users,
	                            (uint32_t) cfg->history_cap)) != 0)
		goto fail;
	/* One connection per worker, plus one for the background thread's ping. */
	if ((rv = feat_store_open(&st->fs_store, cfg->pg_dsn, cfg->workers + 1,
	                          cfg->pg_timeout_ms)) != 0)
		goto fail;
	if (cfg->pub_url != NULL && cfg->pub_url[0] != '\0' &&
	    (rv = feat_sub_open(&st->fs_sub, cfg->pub_url, st->fs_cache)) != 0)
		goto fail;
	if (pthread_create(&st->fs_thread, NULL, feat_background, st) != 0) {
		rv = RS_ENOMEM;
		goto fail;
	}
	st->fs_thread_started = 1;
	*out = st;
	return 0;
fail:
	feat_close(st);
	return rv;
}

void
feat_close(feat_state *st)
{
	if (st == NULL)
		return;
	atomic_store(&st->fs_stop, 1);
	if (st->fs_thread_started)
		pthread_join(st->fs_thread, NULL);
	rs_model_watch_stop(st->fs_watch);
	rs_model_slot_destroy(st->fs_slot);
	feat_sub_close(st->fs_sub);
	feat_store_close(st->fs_store);
	feat_cache_destroy(st->fs_cache);
	free(st);
}

int
feat_model_check(feat_state *st)
{
	return rs_model_watch_check(st->fs_watch);
}
