/* feat_cache on its own: order, bounds, de-duplication, epochs, the in-flight ring, LRU. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "cache.h"
#include "rs_err.h"

#define LOAD_ALL UINT32_MAX /* a load without a limit: every event there is */

static feat_event
ev(int64_t item, int64_t ts, const char *id)
{
	return (feat_event){
	        .item_id = item, .ts_ms = ts, .type = 1, .id_hash = feat_event_id_hash(id)};
}

Test(cache, stream_events_keep_time_order_and_the_bound)
{
	feat_cache *c;
	feat_event out[8];
	uint32_t n;
	uint64_t total;
	int known;
	feat_event loaded[3] = {ev(3, 300, "c"), ev(2, 200, "b"), ev(1, 100, "a")};

	cr_assert_eq(feat_cache_create(&c, 10, 4), 0);
	cr_assert_eq(feat_cache_put(c, 7, 1, loaded, 3, 3, 1, LOAD_ALL, NULL), 0);
	feat_event late = ev(9, 250, "late"), newest = ev(8, 400, "new"), oldest = ev(5, 50, "old");
	cr_assert_eq(feat_cache_apply(c, 7, &late), 1);
	cr_assert_eq(feat_cache_apply(c, 7, &newest), 1); /* now 5 events for room 4 */
	cr_assert_eq(feat_cache_apply(c, 7, &late), 0, "a repeated id is ignored");
	cr_assert_eq(feat_cache_apply(c, 7, &oldest), 1, "older than the window: counted only");
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 8, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(total, 6);
	int64_t want[4] = {8, 3, 9, 2};
	for (int i = 0; i < 4; i++)
		cr_assert_eq(out[i].item_id, want[i], "position %d", i);
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 2, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 2, "max_n bounds the copy");
	feat_cache_destroy(c);
}

Test(cache, another_epoch_misses)
{
	feat_cache *c;
	feat_event out[2];
	uint32_t n;
	uint64_t total;
	int known;
	cr_assert_eq(feat_cache_create(&c, 10, 4), 0);
	cr_assert_eq(feat_cache_put(c, 7, 1, NULL, 0, 0, 0, LOAD_ALL, NULL), 0);
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 2, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(feat_cache_get(c, 7, 2, 0, 2, out, &n, &total, &known, NULL), RS_ENOTFOUND);
	cr_assert_eq(feat_cache_get(c, 8, 1, 0, 2, out, &n, &total, &known, NULL), RS_ENOTFOUND);
	feat_cache_destroy(c);
}

Test(cache, events_that_arrived_during_a_load_are_merged_once)
{
	feat_cache *c;
	feat_event out[8];
	uint32_t n;
	uint64_t total;
	int known;
	cr_assert_eq(feat_cache_create(&c, 10, 8), 0);
	/* Two stream events for an uncached user: one the load saw, one it missed. */
	feat_event seen = ev(1, 100, "seen"), missed = ev(2, 200, "missed");
	cr_assert_eq(feat_cache_apply(c, 7, &seen), 0);
	cr_assert_eq(feat_cache_apply(c, 7, &missed), 0);
	feat_event loaded[1] = {ev(1, 100, "seen")};
	cr_assert_eq(feat_cache_put(c, 7, 1, loaded, 1, 1, 1, LOAD_ALL, NULL), 0);
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 8, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(total, 2);
	cr_assert_eq(out[0].item_id, 2);
	feat_cache_destroy(c);
}

Test(cache, least_recently_used_user_is_evicted)
{
	feat_cache *c;
	feat_event out[1];
	uint32_t n;
	uint64_t total;
	int known;
	cr_assert_eq(feat_cache_create(&c, 2, 1), 0);
	cr_assert_eq(feat_cache_put(c, 1, 1, NULL, 0, 0, 0, LOAD_ALL, NULL), 0);
	cr_assert_eq(feat_cache_put(c, 2, 1, NULL, 0, 0, 0, LOAD_ALL, NULL), 0);
	cr_assert_eq(feat_cache_get(c, 1, 1, 0, 1, out, &n, &total, &known, NULL),
	             0); /* 1 is fresh */
	cr_assert_eq(feat_cache_put(c, 3, 1, NULL, 0, 0, 0, LOAD_ALL, NULL), 0);
	cr_assert_eq(feat_cache_users(c), 2);
	cr_assert_eq(feat_cache_get(c, 2, 1, 0, 1, out, &n, &total, &known, NULL), RS_ENOTFOUND);
	cr_assert_eq(feat_cache_get(c, 1, 1, 0, 1, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(feat_cache_get(c, 3, 1, 0, 1, out, &n, &total, &known, NULL), 0);
	feat_cache_destroy(c);
}

Test(cache, a_history_grows_from_empty_to_the_bound)
{
	feat_cache *c;
	static feat_event out[64];
	uint32_t n;
	uint64_t total;
	int known;
	char id[16];
	cr_assert_eq(feat_cache_create(&c, 10, 50), 0);
	cr_assert_eq(feat_cache_put(c, 7, 1, NULL, 0, 0, 0, LOAD_ALL, NULL), 0);
	for (int i = 0; i < 80; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		feat_event e = ev(i, (i * 37) % 80, id); /* out of time order on purpose */
		cr_assert_eq(feat_cache_apply(c, 7, &e), 1);
	}
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 64, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 50);
	cr_assert_eq(total, 80);
	cr_assert(known);
	for (uint32_t i = 1; i < n; i++)
		cr_assert_geq(out[i - 1].ts_ms, out[i].ts_ms);
	cr_assert_eq(out[0].ts_ms, 79);
	feat_cache_destroy(c);
}

/* The embedding memoized with a history: only for the same state of it (generation), the same
 * version, number of events and width; a change of the history drops it, and a put for a
 * generation that is gone is ignored. */
Test(cache, embedding_memo_follows_the_history)
{
	feat_cache *c;
	feat_event out[4], loaded[2] = {ev(2, 200, "b"), ev(1, 100, "a")};
	uint32_t n;
	uint64_t total, gen, gen2;
	int known, rv = -1;
	float emb[3] = {1, 2, 3}, got[3] = {0};

	cr_assert_eq(feat_cache_create(&c, 10, 4), 0);
	cr_assert_eq(feat_cache_put(c, 7, 1, loaded, 2, 2, 1, LOAD_ALL, &gen2), 0);
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 4, out, &n, &total, &known, &gen), 0);
	cr_assert_neq(gen, 0);
	cr_assert_eq(gen2, gen, "the loaded history is the one stored");
	cr_assert_eq(feat_cache_emb_get(c, 7, gen, "v1", n, 3, got, &rv), RS_ENOTFOUND);
	cr_assert_eq(feat_cache_emb_put(c, 7, gen, "v1", n, 3, emb, 2), 0);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen, "v1", n, 3, got, &rv), 0);
	cr_assert_eq(rv, 2);
	cr_assert_arr_eq(got, emb, sizeof(emb));
	cr_assert_eq(feat_cache_emb_get(c, 7, gen, "v2", n, 3, got, &rv), RS_ENOTFOUND);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen, "v1", n - 1, 3, got, &rv), RS_ENOTFOUND);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen, "v1", n, 4, got, &rv), RS_ENOTFOUND);
	cr_assert_eq(feat_cache_emb_get(c, 8, gen, "v1", n, 3, got, &rv), RS_ENOTFOUND);
	/* no embedding (the version knew none of the items) is memoized as such */
	cr_assert_eq(feat_cache_emb_put(c, 7, gen, "v2", n, 3, NULL, 0), 0);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen, "v2", n, 3, got, &rv), 0);
	cr_assert_eq(rv, 0);
	/* a stream event changes the history: a new generation, the memo is gone */
	feat_event e = ev(3, 300, "c");
	cr_assert_eq(feat_cache_apply(c, 7, &e), 1);
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 4, out, &n, &total, &known, &gen2), 0);
	cr_assert_neq(gen2, gen);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen2, "v2", n, 3, got, &rv), RS_ENOTFOUND);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen, "v2", n, 3, got, &rv), RS_ENOTFOUND);
	/* an embedding folded from the old history arrives late: not kept */
	cr_assert_eq(feat_cache_emb_put(c, 7, gen, "v1", n, 3, emb, 2), 0);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen2, "v1", n, 3, got, &rv), RS_ENOTFOUND);
	/* a repeated event id changes nothing: the memo of this generation stays */
	cr_assert_eq(feat_cache_emb_put(c, 7, gen2, "v1", n, 3, emb, 2), 0);
	cr_assert_eq(feat_cache_apply(c, 7, &e), 0);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen2, "v1", n, 3, got, &rv), 0);
	/* a reload is a new generation too; one that merges an event of the stream that came
	 * meanwhile is not the history loaded: no generation for it */
	cr_assert_eq(feat_cache_put(c, 7, 1, loaded, 2, 2, 1, LOAD_ALL, &gen2), 0);
	cr_assert_eq(gen2, 0, "the stream's event 3 was merged into the load");
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 4, out, &n, &total, &known, &gen), 0);
	cr_assert_neq(gen, gen2);
	cr_assert_eq(feat_cache_emb_get(c, 7, gen, "v1", n, 3, got, &rv), RS_ENOTFOUND);
	feat_cache_destroy(c);
}

/* A load of the newest `limit` events (the recommendation path's 50 of a longer history) serves
 * requests for up to that many; a longer one misses (and loads again). The stream keeps the
 * window's newest events: an event newer than its oldest goes in and the oldest goes out, an
 * older one only counts. A load that got fewer than it asked for has everything: any request
 * hits. */
Test(cache, a_limited_load_serves_up_to_its_limit)
{
	feat_cache *c;
	feat_event out[8];
	uint32_t n;
	uint64_t total;
	int known;
	feat_event loaded[3] = {ev(30, 300, "c"), ev(20, 200, "b"), ev(10, 100, "a")};

	cr_assert_eq(feat_cache_create(&c, 10, 8), 0);
	/* the newest 3 of 10 stored events */
	cr_assert_eq(feat_cache_put(c, 7, 1, loaded, 3, 10, 1, 3, NULL), 0);
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 3, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(total, 10);
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 2, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 4, out, &n, &total, &known, NULL), RS_ENOTFOUND,
	             "4 events asked of an entry that holds the newest 3 of 10");
	feat_event newer = ev(25, 250, "d"), older = ev(5, 50, "e");
	cr_assert_eq(feat_cache_apply(c, 7, &newer), 1);
	cr_assert_eq(feat_cache_apply(c, 7, &older), 1, "older than the window: counted only");
	cr_assert_eq(feat_cache_get(c, 7, 1, 0, 3, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 3, "the window stays 3 events");
	cr_assert_eq(total, 12);
	int64_t want[3] = {30, 25, 20};
	for (int i = 0; i < 3; i++)
		cr_assert_eq(out[i].item_id, want[i], "position %d", i);
	/* a load of up to 5 that found 3: all of them, so 8 (the cache's bound) is served */
	cr_assert_eq(feat_cache_put(c, 9, 1, loaded, 3, 3, 1, 5, NULL), 0);
	cr_assert_eq(feat_cache_get(c, 9, 1, 0, 8, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(feat_cache_apply(c, 9, &older), 1);
	cr_assert_eq(feat_cache_get(c, 9, 1, 0, 8, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 4, "the whole history grows with the stream");
	cr_assert_eq(out[3].item_id, 5);
	/* a load of exactly as many as there are is all of them too */
	cr_assert_eq(feat_cache_put(c, 11, 1, loaded, 3, 3, 1, 3, NULL), 0);
	cr_assert_eq(feat_cache_get(c, 11, 1, 0, 8, out, &n, &total, &known, NULL), 0);
	cr_assert_eq(n, 3);
	feat_cache_destroy(c);
}
