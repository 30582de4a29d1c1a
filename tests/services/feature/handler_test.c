/* rs-feature handlers over the production transport (tcp, rs_rpc_sp) against a real PostgreSQL
 * schema (pg_fixture.h). */
#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.pb-c.h"
#include "event.pb-c.h"
#include "feature.h"
#include "feature.pb-c.h"
#include "pg_fixture.h"
#include "rpc_raw.h"
#include "rs_err.h"
#include "rpc_listen.h"
#include "rs_rpc.h"
#include "rs_time.h"

static fx_pg fx;
static feat_state *st;
static rs_rpc_server *srv;
static rs_rpc_client *cli;
static rs_arena *arena;
static char url[64];

/* 3 items; user 1 viewed 10, clicked 11, bought 10 (newest), user 2 one view, user 3 exists
 * in users but has no events. */
static const char seed_sql[] =
        "insert into items(item_id, title, category, price) values\n"
        "  (10, 'Knife', 'Home/Kitchen', 20), (11, 'Pan', 'Home/Kitchen', 30),\n"
        "  (12, 'Novel', 'Books', 9);\n"
        "insert into users(user_id, external_id) values (1, 'u1'), (2, 'u2'), (3, 'u3');\n"
        "insert into events(event_id, user_id, item_id, type, ts) values\n"
        "  ('e1', 1, 10, 1, now() - interval '3 hours'),\n"
        "  ('e2', 1, 11, 2, now() - interval '2 hours'),\n"
        "  ('e3', 1, 10, 4, now() - interval '1 hour'),\n"
        "  ('e4', 2, 12, 1, now() - interval '1 day');\n";

static void
start(const char *pub_url, const char *dsn, int max_events)
{
	feat_config cfg = {
	        .pg_dsn = dsn,
	        .url = url,
	        .pub_url = pub_url,
	        .workers = 2,
	        .log_level = RS_LOG_WARN,
	        .max_events = max_events,
	        .history_cap = 100,
	        .cache_users = 1000,
	        .cache_ttl_ms = 60000,
	        .pg_timeout_ms = 1000,
	};
	snprintf(url, sizeof(url), "%s", T_RPC_LISTEN);
	rs_log_init("feature-test", RS_LOG_WARN);
	cr_assert_eq(feat_open(&st, &cfg), 0);
	cr_assert_eq(rs_rpc_server_open(&srv, url, 2, feat_routes, st), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(srv));
	cr_assert_eq(rs_rpc_client_open(&cli, url), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(cli) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(cli), 0);
	cr_assert_eq(rs_arena_create(&arena, 0), 0);
}

static void
setup(void)
{
	fx_pg_setup(&fx, "feat_t");
	fx_sql(&fx, seed_sql);
}

static void
teardown(void)
{
	rs_rpc_client_close(cli);
	rs_rpc_server_close(srv);
	feat_close(st);
	rs_arena_destroy(arena);
	fx_pg_teardown(&fx);
}

/* One USER_FEATURES call with a deadline deadline_ms from now; returns the status (or
 * -1000 + RS_E* on transport failure). */
static int
get_features_within(int64_t user, uint32_t max_events, int deadline_ms,
                    Rs__UserFeaturesResponse **out)
{
	Rs__UserFeaturesRequest req = RS__USER_FEATURES_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__Status status;
	char err[256];
	h.request_id = "t";
	h.deadline_unix_ms = rs_now_ms() + deadline_ms;
	req.header = &h;
	req.user_id = user;
	req.max_events = max_events;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_USER_FEATURES, &req.base,
	                        &rs__user_features_response__descriptor, 2000, arena, (void **) out,
	                        &status, err, sizeof(err));
	return rv != 0 ? -1000 + rv : (int) status;
}

static int
get_features(int64_t user, uint32_t max_events, Rs__UserFeaturesResponse **out)
{
	return get_features_within(user, max_events, 2000, out);
}

static int
has_item(const Rs__UserFeaturesResponse *r, int64_t item, Rs__EventType type)
{
	for (size_t i = 0; i < r->n_recent; i++)
		if (r->recent[i]->item_id == item && r->recent[i]->type == type)
			return 1;
	return 0;
}

TestSuite(feature, .init = setup, .fini = teardown, .timeout = 20);

/* The load reads event_history (db/migrations/0010), which triggers on events keep equal to it:
 * an update and a delete through events show in the next load, and so does a truncate. */
Test(feature, the_history_follows_updates_deletes_and_truncates_of_events)
{
	Rs__UserFeaturesResponse *r;
	fx_sql(&fx, "delete from events where event_id = 'e2'");
	fx_sql(&fx, "update events set item_id = 12, type = 3 where event_id = 'e3'");
	start("", fx.dsn, 50);
	cr_assert_eq(get_features(1, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->total_events, 2);
	cr_assert_eq(r->n_recent, 2);
	cr_assert_eq(r->recent[0]->item_id, 12);
	cr_assert_eq(r->recent[0]->type, RS__EVENT_TYPE__EVENT_ADD_TO_CART);
	cr_assert_eq(r->recent[1]->item_id, 10);
	cr_assert_eq(r->recent[1]->type, RS__EVENT_TYPE__EVENT_VIEW);
	fx_sql(&fx, "truncate events");
	cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK); /* not cached yet */
	cr_assert(r->known_user);
	cr_assert_eq(r->total_events, 0);
	cr_assert_eq(r->n_recent, 0);
}

Test(feature, history_is_newest_first_with_totals)
{
	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 50);
	cr_assert_eq(get_features(1, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->user_id, 1);
	cr_assert(r->known_user);
	cr_assert_eq(r->total_events, 3);
	cr_assert_eq(r->n_recent, 3);
	cr_assert_eq(r->recent[0]->item_id, 10);
	cr_assert_eq(r->recent[0]->type, RS__EVENT_TYPE__EVENT_PURCHASE);
	cr_assert_eq(r->recent[1]->item_id, 11);
	cr_assert_eq(r->recent[1]->type, RS__EVENT_TYPE__EVENT_CLICK);
	cr_assert_eq(r->recent[2]->type, RS__EVENT_TYPE__EVENT_VIEW);
	for (size_t i = 1; i < r->n_recent; i++)
		cr_assert_geq(r->recent[i - 1]->ts_ms, r->recent[i]->ts_ms);
	int64_t age = rs_now_ms() - r->recent[0]->ts_ms;
	cr_assert(age > 3500000 && age < 3700000, "newest event is %lld ms old", (long long) age);

	/* max_events bounds the list, not the total. */
	cr_assert_eq(get_features(1, 2, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 2);
	cr_assert_eq(r->total_events, 3);
	cr_assert_eq(r->recent[0]->item_id, 10);
}

Test(feature, unknown_and_eventless_users)
{
	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 50);
	cr_assert_eq(get_features(3, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert(r->known_user, "user 3 has a users row");
	cr_assert_eq(r->n_recent, 0);
	cr_assert_eq(get_features(999, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_not(r->known_user);
	cr_assert_eq(r->total_events, 0);
}

/* The event id of user 4's event i (the SQL below makes the same): unique, and not in the
 * order of i, so ties in ts show the event_id order. */
static int
long_history_id(int i)
{
	return 1000 + (i * 37) % 130;
}

static int
long_history_cmp(const void *a, const void *b)
{
	int x = *(const int *) a, y = *(const int *) b;
	if (x / 3 != y / 3) /* the day: a smaller i/3 is newer */
		return x / 3 < y / 3 ? -1 : 1;
	/* the same ts: the larger event id first */
	return long_history_id(y) - long_history_id(x);
}

Test(feature, a_long_history_over_several_partitions_is_the_newest_by_ts_then_event_id)
{
	/* 130 events, three on each day (the same ts) from today back 43 days: several monthly
	 * partitions; item 100 + i. The load reads history_cap (100) of them. */
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts)\n"
	            "select 'e' || (1000 + (i * 37) % 130), 4, 100 + i, 1 + i % 4,\n"
	            "       date_trunc('second', now()) - (i / 3) * interval '24 hours'\n"
	            "from generate_series(0, 129) i");
	int order[130];
	for (int i = 0; i < 130; i++)
		order[i] = i;
	qsort(order, 130, sizeof(order[0]), long_history_cmp);

	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 50);
	cr_assert_eq(get_features(4, 100, &r), RS__STATUS__STATUS_OK);
	cr_assert(r->known_user, "user 4 has events (and no users row)");
	cr_assert_eq(r->total_events, 130);
	cr_assert_eq(r->n_recent, 100);
	for (size_t j = 0; j < r->n_recent; j++) {
		cr_assert_eq(r->recent[j]->item_id, 100 + order[j], "event %zu: item %lld, want %d",
		             j, (long long) r->recent[j]->item_id, 100 + order[j]);
		cr_assert_eq((int) r->recent[j]->type, 1 + order[j] % 4);
	}
	int64_t day0 = r->recent[0]->ts_ms;
	cr_assert_eq(r->recent[99]->ts_ms, day0 - 33 * 86400000LL, "event 99 is 33 days older");
}

/* The count of a history just below, at and above the load's limit (here history_cap, 100: the
 * requests ask for more) is every stored event, not the rows returned: each against count(*)
 * in SQL. */
Test(feature, totals_at_the_load_limit_are_the_stored_counts)
{
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts)\n"
	            "select 'c' || u || '-' || i, u, 100 + i, 1, now() - i * interval '1 minute'\n"
	            "from (values (6, 99), (7, 100), (8, 101), (9, 250)) n(u, k),\n"
	            "     generate_series(1, k) i");
	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 50);
	static const int64_t users[4] = {6, 7, 8, 9};
	for (int i = 0; i < 4; i++) {
		char sql[96];
		snprintf(sql, sizeof(sql), "select count(*) from events where user_id = %lld",
		         (long long) users[i]);
		PGresult *res = PQexec(fx.conn, sql);
		cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
		long want = atol(PQgetvalue(res, 0, 0));
		PQclear(res);
		cr_assert_eq(get_features(users[i], 1000, &r), RS__STATUS__STATUS_OK);
		cr_assert_eq(r->total_events, (uint32_t) want, "user %lld: total %u, want %ld",
		             (long long) users[i], r->total_events, want);
		cr_assert_eq(r->n_recent, want < 100 ? (size_t) want : 100);
		cr_assert(r->known_user);
		cr_assert_eq(r->recent[0]->item_id, 101, "the newest event first");
	}
}

Test(feature, events_of_one_millisecond_come_in_event_id_order)
{
	/* Three events within one millisecond (ts rounds to the same ms), the newest microsecond
	 * with the smallest id, and one event a millisecond later: the history is ordered by ts in
	 * ms, then by event id (descending), whatever the microseconds say. */
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) values\n"
	            "  ('m-a', 5, 201, 1, timestamptz '2026-11-02 10:00:00.000400+00'),\n"
	            "  ('m-c', 5, 203, 1, timestamptz '2026-11-02 10:00:00.000100+00'),\n"
	            "  ('m-b', 5, 202, 1, timestamptz '2026-11-02 10:00:00.000200+00'),\n"
	            "  ('m-0', 5, 200, 1, timestamptz '2026-11-02 10:00:00.001+00')");
	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 50);
	cr_assert_eq(get_features(5, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 4);
	cr_assert_eq(r->total_events, 4);
	static const int64_t want_item[4] = {200, 203, 202, 201};
	int64_t ms = 1793613600000LL; /* 2026-11-02 10:00:00 UTC */
	static const int64_t want_ms[4] = {1, 0, 0, 0};
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(r->recent[i]->item_id, want_item[i], "event %d: item %lld, want %lld",
		             i, (long long) r->recent[i]->item_id, (long long) want_item[i]);
		cr_assert_eq(r->recent[i]->ts_ms, ms + want_ms[i], "event %d: ts %lld", i,
		             (long long) r->recent[i]->ts_ms);
	}
}

Test(feature, default_max_events_comes_from_config)
{
	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 2);
	cr_assert_eq(get_features(1, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 2);
}

Test(feature, without_stream_a_new_event_in_postgres_shows_at_once)
{
	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 50);
	cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 1);
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "values ('e5', 2, 11, 3, now())");
	cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 2);
	cr_assert_eq(r->total_events, 2);
	cr_assert_eq(r->recent[0]->item_id, 11);
	cr_assert_eq(r->recent[0]->type, RS__EVENT_TYPE__EVENT_ADD_TO_CART);
}

/* One stream message as ingest sends it: Envelope{schema_version, METHOD_EVENT_STREAM,
 * EventBatch}, here of n events for user (bare: the EventBatch without its envelope). */
typedef struct t_ev {
	const char *id;
	int64_t item;
	Rs__EventType type;
	int64_t ts_ms;
} t_ev;

static void
publish_batch_as(nng_socket pub, int64_t user, const t_ev *evs, size_t n, int bare,
                 Rs__Method method)
{
	Rs__Event e[4], *ep[4];
	Rs__EventBatch b = RS__EVENT_BATCH__INIT;
	Rs__Envelope env = RS__ENVELOPE__INIT;
	uint8_t buf[1024], out[1100];
	cr_assert_leq(n, 4);
	for (size_t i = 0; i < n; i++) {
		rs__event__init(&e[i]);
		e[i].event_id = (char *) evs[i].id;
		e[i].user_id = user;
		e[i].item_id = evs[i].item;
		e[i].type = evs[i].type;
		e[i].ts_ms = evs[i].ts_ms;
		ep[i] = &e[i];
	}
	b.n_events = n;
	b.events = ep;
	size_t len = rs__event_batch__pack(&b, buf);
	env.schema_version = 1;
	env.method = method;
	env.body.data = buf;
	env.body.len = len;
	size_t olen = rs__envelope__pack(&env, out);
	cr_assert_eq(bare ? nng_send(pub, buf, len, 0) : nng_send(pub, out, olen, 0), 0);
}

static void
publish_batch(nng_socket pub, int64_t user, const t_ev *evs, size_t n)
{
	publish_batch_as(pub, user, evs, n, 0, RS__METHOD__METHOD_EVENT_STREAM);
}

static void
publish(nng_socket pub, const char *id, int64_t user, int64_t item, Rs__EventType type,
        int64_t ts_ms)
{
	t_ev e = {id, item, type, ts_ms};
	publish_batch(pub, user, &e, 1);
}

/* The service started with one publisher of the event stream (inproc, named after tag), once
 * its subscriber is connected: *pub publishes to it. */
static void
start_with_publisher(nng_socket *pub, const char *tag, int max_events)
{
	char pub_url[64];
	snprintf(pub_url, sizeof(pub_url), "inproc://feature-pub-%s-%d", tag, (int) getpid());
	cr_assert_eq(nng_pub0_open(pub), 0);
	cr_assert_eq(nng_listen(*pub, pub_url, NULL, 0), 0);
	start(pub_url, fx.dsn, max_events);
	for (int i = 0; i < 400 && feat_sub_connected(st->fs_sub) == 0; i++)
		usleep(5000);
	cr_assert_gt(feat_sub_connected(st->fs_sub), 0, "subscriber never connected");
}

Test(feature, stream_events_reach_the_cached_history_within_milliseconds)
{
	nng_socket pub;
	Rs__UserFeaturesResponse *r;

	start_with_publisher(&pub, "stream", 50);

	cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK); /* loads user 2 */
	cr_assert_eq(r->n_recent, 1);

	/* An event only on the stream (not in PostgreSQL) proves the cache path. */
	double t0 = rs_mono_ms();
	publish(pub, "s1", 2, 11, RS__EVENT_TYPE__EVENT_CLICK, rs_now_ms());
	int seen = 0;
	while (!seen && rs_mono_ms() - t0 < 2000) {
		cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK);
		seen = r->n_recent == 2 && r->recent[0]->item_id == 11;
		if (!seen)
			usleep(1000);
	}
	double dt = rs_mono_ms() - t0;
	fprintf(stderr, "feature: a stream event was visible after %.2f ms\n", dt);
	cr_assert(seen, "stream event not visible");
	cr_assert_lt(dt, 100.0, "stream event took %.1f ms", dt);
	cr_assert_eq(r->total_events, 2);

	/* One message of two events: the same event id again (a re-publish, or one also loaded
	 * from PostgreSQL) is one; an event older than the newest lands in time order, not at
	 * the front. */
	t_ev two[2] = {{"s1", 11, RS__EVENT_TYPE__EVENT_CLICK, rs_now_ms()},
	               {"s2", 10, RS__EVENT_TYPE__EVENT_VIEW, rs_now_ms() - 2 * 86400000LL}};
	publish_batch(pub, 2, two, 2);
	t0 = rs_mono_ms();
	do {
		usleep(2000);
		cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK);
	} while (r->n_recent < 3 && rs_mono_ms() - t0 < 2000);
	cr_assert_eq(r->n_recent, 3);
	cr_assert_eq(r->recent[0]->item_id, 11);
	cr_assert_eq(r->recent[1]->item_id, 12);
	cr_assert_eq(r->recent[2]->item_id, 10);
	cr_assert_eq(r->total_events, 3);

	/* Malformed stream messages are skipped: garbage, an EventBatch without its envelope and
	 * an envelope of another method (each would have added item 13 to the history). */
	cr_assert_eq(nng_send(pub, "\xff\xff\xff", 3, 0), 0);
	t_ev bad = {"s-bad", 13, RS__EVENT_TYPE__EVENT_CLICK, rs_now_ms() + 1};
	publish_batch_as(pub, 2, &bad, 1, 1, RS__METHOD__METHOD_EVENT_STREAM);
	publish_batch_as(pub, 2, &bad, 1, 0, RS__METHOD__METHOD_EVENT_BATCH);
	publish(pub, "s3", 2, 12, RS__EVENT_TYPE__EVENT_NOT_INTERESTED, rs_now_ms() + 1);
	t0 = rs_mono_ms();
	do {
		usleep(2000);
		cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK);
	} while (r->n_recent < 4 && rs_mono_ms() - t0 < 2000);
	cr_assert(has_item(r, 12, RS__EVENT_TYPE__EVENT_NOT_INTERESTED));
	cr_assert(!has_item(r, 13, RS__EVENT_TYPE__EVENT_CLICK), "a message without the stream's "
	                                                         "envelope was applied");
	nng_close(pub);
}

/* A first sight loads what the request needs, at least the default length (4 here), not the
 * whole history_cap: the cache then serves requests up to that length, and a longer request
 * loads again (from PostgreSQL: the stream-only event below is not in it, which proves where
 * each answer came from). User 4: 20 events, item 100 + i, i minutes old. */
Test(feature, a_first_sight_loads_the_default_length_and_a_longer_request_loads_again)
{
	nng_socket pub;
	Rs__UserFeaturesResponse *r;

	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts)\n"
	            "select 'w' || i, 4, 100 + i, 1, now() - i * interval '1 minute'\n"
	            "from generate_series(0, 19) i");
	start_with_publisher(&pub, "window", 4);

	cr_assert_eq(get_features(4, 2, &r), RS__STATUS__STATUS_OK); /* loads 4 (the default) */
	cr_assert_eq(r->n_recent, 2);
	cr_assert_eq(r->total_events, 20);
	/* an event only on the stream, newer than all: the cached window takes it */
	publish(pub, "w-s", 4, 999, RS__EVENT_TYPE__EVENT_CLICK, rs_now_ms() + 60000);
	double t0 = rs_mono_ms();
	do {
		usleep(2000);
		cr_assert_eq(get_features(4, 0, &r), RS__STATUS__STATUS_OK);
	} while (r->recent[0]->item_id != 999 && rs_mono_ms() - t0 < 2000);
	cr_assert_eq(r->n_recent, 4, "the default length, from the cache");
	static const int64_t cached[4] = {999, 100, 101, 102};
	for (int i = 0; i < 4; i++)
		cr_assert_eq(r->recent[i]->item_id, cached[i], "cached event %d", i);
	cr_assert_eq(r->total_events, 21);
	/* 10 events: more than the entry holds, so PostgreSQL (no stream event there) */
	cr_assert_eq(get_features(4, 10, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 10);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(r->recent[i]->item_id, 100 + i, "loaded event %d", i);
	cr_assert_eq(r->total_events, 20);
	/* that load now serves up to 10 from the cache; the stream's recent events were merged
	 * into it when it landed (as for any load: ingest has stored them by then) */
	publish(pub, "w-s2", 4, 998, RS__EVENT_TYPE__EVENT_CLICK, rs_now_ms() + 120000);
	t0 = rs_mono_ms();
	do {
		usleep(2000);
		cr_assert_eq(get_features(4, 10, &r), RS__STATUS__STATUS_OK);
	} while (r->recent[0]->item_id != 998 && rs_mono_ms() - t0 < 2000);
	cr_assert_eq(r->n_recent, 10);
	cr_assert_eq(r->recent[0]->item_id, 998);
	cr_assert_eq(r->recent[1]->item_id, 999);
	for (int i = 2; i < 10; i++)
		cr_assert_eq(r->recent[i]->item_id, 100 + i - 2, "cached event %d", i);
	cr_assert_eq(r->total_events, 22);
	nng_close(pub);
}

/* Several ingest replicas: each publishes only the events it stored, so a feature replica dials
 * every one (RS_INGEST_PUB_URL is a list) and sees the events of all; while one publisher is
 * away its events could be missed, so the cache is not trusted and PostgreSQL answers. */
Test(feature, every_publisher_of_a_list_reaches_the_cache_and_a_missing_one_bypasses_it)
{
	nng_socket pub[2];
	char pub_url[2][64], list[160];
	Rs__UserFeaturesResponse *r;

	for (int i = 0; i < 2; i++) {
		snprintf(pub_url[i], sizeof(pub_url[i]), "inproc://feature-pub%d-%d", i,
		         (int) getpid());
		cr_assert_eq(nng_pub0_open(&pub[i]), 0);
		cr_assert_eq(nng_listen(pub[i], pub_url[i], NULL, 0), 0);
	}
	snprintf(list, sizeof(list), "%s, %s", pub_url[0], pub_url[1]);
	start(list, fx.dsn, 50);
	cr_assert_eq(feat_sub_publishers(st->fs_sub), 2);
	for (int i = 0; i < 400 && feat_sub_connected(st->fs_sub) < 2; i++)
		usleep(5000);
	cr_assert_eq(feat_sub_connected(st->fs_sub), 2, "both publishers must be connected");
	cr_assert(feat_sub_complete(st->fs_sub));

	cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK); /* loads user 2: e4 */
	cr_assert_eq(r->n_recent, 1);
	/* One event on each stream only (not in PostgreSQL): both reach the cached history. */
	publish(pub[0], "p0", 2, 10, RS__EVENT_TYPE__EVENT_CLICK, rs_now_ms() - 1000);
	publish(pub[1], "p1", 2, 11, RS__EVENT_TYPE__EVENT_PURCHASE, rs_now_ms());
	double t0 = rs_mono_ms();
	do {
		usleep(2000);
		cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK);
	} while (r->n_recent < 3 && rs_mono_ms() - t0 < 2000);
	cr_assert_eq(r->n_recent, 3, "events of both publishers must arrive");
	cr_assert(has_item(r, 10, RS__EVENT_TYPE__EVENT_CLICK));
	cr_assert(has_item(r, 11, RS__EVENT_TYPE__EVENT_PURCHASE));

	/* Publisher 1 goes away: the cache is no longer complete, so the history comes from
	 * PostgreSQL (which has only e4 and the new row; the stream-only events are not there). */
	nng_close(pub[1]);
	for (int i = 0; i < 400 && feat_sub_complete(st->fs_sub); i++)
		usleep(5000);
	cr_assert(!feat_sub_complete(st->fs_sub));
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "values ('e6', 2, 12, 2, now())");
	cr_assert_eq(get_features(2, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 2, "a partial stream must not answer from the cache");
	cr_assert_eq(r->recent[0]->item_id, 12);
	cr_assert_eq(r->recent[1]->item_id, 12);
	nng_close(pub[0]);
}

Test(feature, stream_event_for_a_user_loaded_later_is_not_doubled)
{
	nng_socket pub;
	Rs__UserFeaturesResponse *r;

	start_with_publisher(&pub, "later", 50);
	/* Ingest's order: committed to PostgreSQL, then published; user 1 is not cached yet. */
	fx_sql(&fx, "insert into events(event_id, user_id, item_id, type, ts) "
	            "values ('e9', 1, 12, 1, now())");
	publish(pub, "e9", 1, 12, RS__EVENT_TYPE__EVENT_VIEW, rs_now_ms());
	usleep(50 * 1000);
	cr_assert_eq(get_features(1, 0, &r), RS__STATUS__STATUS_OK);
	cr_assert_eq(r->n_recent, 4);
	cr_assert_eq(r->total_events, 4);
	cr_assert_eq(r->recent[0]->item_id, 12);
	nng_close(pub);
}

Test(feature, bad_requests_are_invalid)
{
	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 50);
	cr_assert_eq(rpc_raw_call(url, RS__METHOD__METHOD_USER_FEATURES,
	                          (const uint8_t *) "\x12\xff\x01", 3),
	             RS__STATUS__STATUS_INVALID);
	cr_assert_eq(get_features(0, 0, &r), RS__STATUS__STATUS_INVALID);
	cr_assert_eq(get_features(-5, 0, &r), RS__STATUS__STATUS_INVALID);
	cr_assert_eq(get_features(1, FEAT_MAX_EVENTS_LIMIT + 1, &r), RS__STATUS__STATUS_INVALID);
	/* ...and the service still answers. */
	cr_assert_eq(get_features(1, 0, &r), RS__STATUS__STATUS_OK);
}

static int
health(int *ready)
{
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__HealthResponse *resp;
	Rs__Status status;
	int rv = rs_rpc_request(cli, RS__METHOD__METHOD_HEALTH, &req.base,
	                        &rs__health_response__descriptor, 1000, arena, (void **) &resp,
	                        &status, NULL, 0);
	if (rv == 0)
		*ready = resp->ready;
	return rv != 0 ? rv : (int) status;
}

Test(feature, health_follows_postgres)
{
	int ready = -1;
	start("", fx.dsn, 50);
	cr_assert_eq(health(&ready), 0);
	cr_assert_eq(ready, 1);
}

Test(feature, database_down_answers_unavailable_quickly)
{
	Rs__UserFeaturesResponse *r;
	int ready = -1;
	/* Nothing listens on port 1: the service starts anyway and says so. */
	start("", "host=127.0.0.1 port=1 user=postgres dbname=none connect_timeout=1", 50);
	cr_assert_eq(health(&ready), 0);
	cr_assert_eq(ready, 0);
	double t0 = rs_mono_ms();
	cr_assert_eq(get_features(1, 0, &r), RS__STATUS__STATUS_UNAVAILABLE);
	cr_assert_lt(rs_mono_ms() - t0, 200.0);
}

Test(feature, a_stalled_database_costs_a_request_its_deadline_and_recovers)
{
	Rs__UserFeaturesResponse *r;
	start("", fx.dsn, 50);
	fx_sql(&fx, "begin");
	fx_sql(&fx, "lock table event_history in access exclusive mode");
	double t0 = rs_mono_ms();
	cr_assert_eq(get_features_within(1, 0, 150, &r), RS__STATUS__STATUS_DEADLINE);
	double dt = rs_mono_ms() - t0;
	cr_assert(dt >= 140.0 && dt < 400.0, "answered after %.1f ms", dt);
	fx_sql(&fx, "commit");
	/* The abandoned query is cancelled in the background; the pool serves again. */
	int ok = 0;
	for (int i = 0; i < 60 && !ok; i++) {
		ok = get_features(1, 0, &r) == RS__STATUS__STATUS_OK;
		if (!ok)
			usleep(50 * 1000);
	}
	cr_assert(ok, "the pool did not recover");
	cr_assert_eq(r->n_recent, 3);
	/* Every connection is usable again: as many parallel loads as slots succeed. */
	for (int i = 0; i < 40; i++) {
		int ready = 0;
		for (int j = 0; j < 3; j++)
			ready += get_features(2, 0, &r) == RS__STATUS__STATUS_OK;
		if (ready == 3 && feat_store_ready(st->fs_store))
			break;
		usleep(50 * 1000);
	}
	cr_assert(feat_store_ready(st->fs_store));
}

Test(feature, reconnects_after_the_database_drops_its_connections)
{
	Rs__UserFeaturesResponse *r;
	char dsn[1200], sql[200];
	snprintf(dsn, sizeof(dsn), "%s application_name=feat_t_%d", fx.dsn, (int) getpid());
	start("", dsn, 50);
	cr_assert_eq(get_features(1, 0, &r), RS__STATUS__STATUS_OK);
	/* with a timeout, pg_terminate_backend waits until the backend is gone (without one it
	 * only signals it, and a statement sent at once may still be answered) */
	snprintf(sql, sizeof(sql),
	         "select pg_terminate_backend(pid, 10000) from pg_stat_activity "
	         "where application_name = 'feat_t_%d'",
	         (int) getpid());
	fx_sql(&fx, sql);
	/* A request may meet a dead connection once (UNAVAILABLE, never a hang); the
	 * background thread notices and reconnects. */
	int ok = 0;
	for (int i = 0; i < 100 && !ok; i++) {
		int status = get_features_within(1, 0, 500, &r);
		cr_assert(status == RS__STATUS__STATUS_OK ||
		                  status == RS__STATUS__STATUS_UNAVAILABLE,
		          "status %d", status);
		ok = status == RS__STATUS__STATUS_OK;
		if (!ok)
			usleep(50 * 1000);
	}
	cr_assert(ok, "no reconnect within 5 s");
	cr_assert_eq(r->n_recent, 3);
}
