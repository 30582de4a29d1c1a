#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ing_test.h"
#include "rpc_listen.h"
#include "rs_migrate.h"
#include "rs_arena.h"
#include "rs_err.h"
#include "rs_log.h"
#include "rs_rpc.h"
#include "rs_time.h"
#include "spool.h"

static ing_fx fx;

static void
fx_sql(const char *sql)
{
	PGresult *r = PQexec(fx.pg, sql);
	ExecStatusType st = PQresultStatus(r);
	cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
	          PQresultErrorMessage(r));
	PQclear(r);
}

static long
fx_count(const char *sql)
{
	PGresult *r = PQexec(fx.pg, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
	long n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

/* Rows of events missing from event_history (db/migrations/0010, the table rs-feature reads a
 * history from) plus rows of event_history missing from events: 0 when the triggers mirrored
 * every write. */
#define HISTORY_COLS "user_id, ts, event_id, item_id, type, value"
static const char history_diff_sql[] =
        "select count(*) from ((select " HISTORY_COLS " from events except all select " HISTORY_COLS
        " from event_history) union all (select " HISTORY_COLS " from event_history except all "
        "select " HISTORY_COLS " from events)) d";

/* Opens writer + server + client; dsn may differ from the test database (a dead port). */
static void
fx_start_opts(const char *dsn, int spool)
{
	ing_writer_opts wo = {.dsn = dsn,
	                      .search_path = fx.schema,
	                      .spool_dir = spool ? fx.spool_dir : NULL,
	                      .pub_url = fx.pub_url,
	                      .reconnect_ms = 50};
	cr_assert_eq(ing_writer_open(&fx.writer, &wo), 0);
	fx.ctx.writer = fx.writer;
	fx.ctx.max_batch = 100;
	fx.ctx.started_ms = rs_now_ms();
	cr_assert_eq(rs_rpc_server_open(&fx.srv, T_RPC_LISTEN, 2, ing_routes, &fx.ctx), 0);
	snprintf(fx.rpc_url, sizeof(fx.rpc_url), "%s", rs_rpc_server_url(fx.srv));
	cr_assert_eq(rs_rpc_client_open(&fx.cli, fx.rpc_url), 0);
	for (int i = 0; i < 200 && rs_rpc_client_connected(fx.cli) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(fx.cli), 0);
}

static void
fx_start(const char *dsn)
{
	fx_start_opts(dsn, 1);
}

static void
fx_stop(void)
{
	rs_rpc_client_close(fx.cli);
	rs_rpc_server_close(fx.srv);
	ing_writer_close(fx.writer);
	fx.cli = NULL;
	fx.srv = NULL;
	fx.writer = NULL;
}

static void
setup(void)
{
	static int seq;
	char sql[256];
	rs_log_init("ingest-test", RS_LOG_WARN);
	fx.dsn = getenv("RS_TEST_PG_DSN");
	if (fx.dsn == NULL || fx.dsn[0] == '\0')
		cr_assert_fail(
		        "RS_TEST_PG_DSN is not set: the ingest tests need a PostgreSQL database "
		        "(e.g. RS_TEST_PG_DSN=\"$(scripts/pg.sh start)\")");
	seq++;
	snprintf(fx.schema, sizeof(fx.schema), "ing_t%d_%d", (int) getpid(), seq);
	snprintf(fx.pub_url, sizeof(fx.pub_url), "inproc://ing-pub-%s", fx.schema);
	snprintf(fx.spool_dir, sizeof(fx.spool_dir), "/tmp/rs-ingest-test-%s", fx.schema);
	const char *keys[] = {"dbname", "options", NULL};
	char opts[128];
	snprintf(opts, sizeof(opts), "-c search_path=%s -c client_min_messages=warning", fx.schema);
	const char *vals[] = {fx.dsn, opts, NULL};
	fx.pg = PQconnectdbParams(keys, vals, 1);
	cr_assert_eq(PQstatus(fx.pg), CONNECTION_OK, "connect: %s", PQerrorMessage(fx.pg));
	snprintf(sql, sizeof(sql), "drop schema if exists %s cascade; create schema %s", fx.schema,
	         fx.schema);
	fx_sql(sql);
	int applied = 0;
	cr_assert_eq(rs_migrate_apply(fx.pg, RS_SOURCE_DIR "/db/migrations", &applied), 0);
	cr_assert_geq(applied, 1);
	fx_sql("insert into items (item_id, title) select g, 'item ' || g from "
	       "generate_series(1, 100) g");
}

static void
teardown(void)
{
	char sql[400];
	fx_stop();
	snprintf(sql, sizeof(sql), "drop schema if exists %s cascade", fx.schema);
	if (fx.pg != NULL) {
		PQclear(PQexec(fx.pg, sql));
		PQfinish(fx.pg);
	}
	snprintf(sql, sizeof(sql), "rm -rf '%s'", fx.spool_dir);
	if (system(sql) != 0)
		fprintf(stderr, "could not remove %s\n", fx.spool_dir);
}

typedef struct post_result {
	Rs__Status status;
	char err[256];
	Rs__EventBatchResponse *resp;
} post_result;

static Rs__Event *
mk_event(rs_arena *a, const char *id, int64_t user, int64_t item, int type)
{
	Rs__Event *e = rs_arena_alloc(a, sizeof(*e));
	rs__event__init(e);
	e->event_id = id != NULL ? rs_arena_strdup(a, id) : "";
	e->user_id = user;
	e->item_id = item;
	e->type = (Rs__EventType) type;
	return e;
}

static void
post(rs_arena *a, Rs__Event **evs, size_t n, post_result *out)
{
	Rs__EventBatch b = RS__EVENT_BATCH__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	h.request_id = "t";
	h.deadline_unix_ms = rs_now_ms() + 5000;
	b.header = &h;
	b.events = evs;
	b.n_events = n;
	int rv = rs_rpc_request(fx.cli, RS__METHOD__METHOD_EVENT_BATCH, &b.base,
	                        &rs__event_batch_response__descriptor, 5000, a,
	                        (void **) &out->resp, &out->status, out->err, sizeof(out->err));
	cr_assert_eq(rv, 0, "rpc: %s", rs_strerror(rv));
}

TestSuite(ingest, .init = setup, .fini = teardown, .timeout = 30);

Test(ingest, accepted_then_retry_counts_duplicates_not_doubles)
{
	rs_arena *a;
	post_result r;
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	Rs__Event *evs[3] = {mk_event(a, "e-1", 7, 1, 1), mk_event(a, "e-2", 7, 2, 2),
	                     mk_event(a, "e-3", 8, 3, 4)};
	evs[2]->price = 19.99;
	evs[2]->rec_id = "rec-1";
	evs[2]->variant = "B";
	post(a, evs, 3, &r);
	cr_assert_eq(r.status, RS__STATUS__STATUS_OK, "%s", r.err);
	cr_assert_eq(r.resp->accepted, 3);
	cr_assert_eq(r.resp->duplicates, 0);
	cr_assert_eq(r.resp->n_rejected, 0);
	post(a, evs, 3, &r); /* the client retries the same batch */
	cr_assert_eq(r.status, RS__STATUS__STATUS_OK, "%s", r.err);
	cr_assert_eq(r.resp->accepted, 0);
	cr_assert_eq(r.resp->duplicates, 3);
	cr_assert_eq(fx_count("select count(*) from events"), 3);
	cr_assert_eq(fx_count("select count(*) from event_ids"), 3);
	/* the first batch went in by COPY, the retry through the staging insert */
	cr_assert_eq(fx_count("select count(*) from event_history where user_id = 7"), 2);
	cr_assert_eq(fx_count("select count(*) from event_history where event_id = 'e-3' and "
	                      "user_id = 8 and type = 4"),
	             1);
	cr_assert_eq(fx_count(history_diff_sql), 0);
	cr_assert_eq(fx_count("select count(*) from events where event_id = 'e-3' and price = "
	                      "19.99 and rec_id = 'rec-1' and variant = 'B' and type = 4"),
	             1);
	/* unknown users are created as customers */
	cr_assert_eq(fx_count("select count(*) from users where user_id in (7, 8) and role = "
	                      "'customer'"),
	             2);
	rs_arena_destroy(a);
}

Test(ingest, repeats_inside_a_batch_and_assigned_ids)
{
	rs_arena *a;
	post_result r;
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	Rs__Event *evs[4] = {mk_event(a, "same", 1, 1, 1), mk_event(a, "same", 1, 1, 1),
	                     mk_event(a, NULL, 1, 2, 1), mk_event(a, NULL, 1, 2, 1)};
	post(a, evs, 4, &r);
	cr_assert_eq(r.status, RS__STATUS__STATUS_OK, "%s", r.err);
	cr_assert_eq(r.resp->accepted, 3, "ids assigned by ingest are distinct");
	cr_assert_eq(r.resp->duplicates, 1);
	cr_assert_eq(fx_count("select count(*) from events"), 3);
	cr_assert_eq(fx_count("select count(*) from events where length(event_id) = 32"), 2);
	/* a repeated id inside the batch sends it through the staging insert */
	cr_assert_eq(fx_count("select count(*) from event_history where user_id = 1"), 3);
	cr_assert_eq(fx_count(history_diff_sql), 0);
	rs_arena_destroy(a);
}

Test(ingest, per_event_rejections_name_index_and_reason)
{
	rs_arena *a;
	post_result r;
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	Rs__Event *evs[9] = {
	        mk_event(a, "ok-1", 1, 1, 1),    mk_event(a, "bad-type", 1, 1, 9),
	        mk_event(a, "future", 1, 1, 1),  mk_event(a, "no-user", 0, 1, 1),
	        mk_event(a, "no-item", 1, 0, 1), mk_event(a, "unknown-item", 1, 424242, 1),
	        mk_event(a, "rating", 1, 1, 5),  mk_event(a, "bad id", 1, 1, 1),
	        mk_event(a, "old", 1, 1, 1),
	};
	evs[2]->ts_ms = rs_now_ms() + 3600 * 1000;
	evs[8]->ts_ms = 1000;
	post(a, evs, 9, &r);
	cr_assert_eq(r.status, RS__STATUS__STATUS_OK, "%s", r.err);
	cr_assert_eq(r.resp->accepted, 1);
	cr_assert_eq(r.resp->n_rejected, 8);
	static const struct {
		uint32_t index;
		const char *needle;
	} want[] = {{1, "unknown event type"}, {2, "future"}, {3, "user_id"},  {4, "item_id"},
	            {5, "unknown item"},       {6, "rating"}, {7, "event_id"}, {8, "2000"}};
	for (size_t i = 0; i < 8; i++) {
		cr_assert_eq(r.resp->rejected[i]->index, want[i].index);
		cr_assert_not_null(strstr(r.resp->rejected[i]->reason, want[i].needle),
		                   "index %u: %s", want[i].index, r.resp->rejected[i]->reason);
	}
	cr_assert_eq(fx_count("select count(*) from events"), 1);
	rs_arena_destroy(a);
}

Test(ingest, oversized_batch_is_invalid_and_names_the_limit)
{
	rs_arena *a;
	post_result r;
	Rs__Event *evs[101];
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	for (int i = 0; i < 101; i++)
		evs[i] = mk_event(a, NULL, 1, 1, 1);
	post(a, evs, 101, &r);
	cr_assert_eq(r.status, RS__STATUS__STATUS_INVALID);
	cr_assert_not_null(strstr(r.err, "limit is 100"), "%s", r.err);
	cr_assert_eq(fx_count("select count(*) from events"), 0);
	rs_arena_destroy(a);
}

Test(ingest, malformed_body_is_invalid)
{
	rs_arena *a;
	Rs__MetricsResponse junk = RS__METRICS_RESPONSE__INIT;
	void *resp;
	Rs__Status st;
	char err[256];
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	/* field 2 (EventBatch.events) holds a truncated nested message */
	junk.text = "\x0a\x7f\x01";
	cr_assert_eq(rs_rpc_request(fx.cli, RS__METHOD__METHOD_EVENT_BATCH, &junk.base,
	                            &rs__event_batch_response__descriptor, 5000, a, &resp, &st, err,
	                            sizeof(err)),
	             0);
	cr_assert_eq(st, RS__STATUS__STATUS_INVALID, "status %d: %s", st, err);
	rs_arena_destroy(a);
}

Test(ingest, health_reports_ready_with_postgres_up)
{
	rs_arena *a;
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__HealthResponse *resp;
	Rs__Status st;
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	cr_assert_eq(rs_rpc_request(fx.cli, RS__METHOD__METHOD_HEALTH, &req.base,
	                            &rs__health_response__descriptor, 2000, a, (void **) &resp, &st,
	                            NULL, 0),
	             0);
	cr_assert_eq(st, RS__STATUS__STATUS_OK);
	cr_assert(resp->ready);
	cr_assert_not_null(strstr(resp->detail, "postgres=up"), "%s", resp->detail);
	rs_arena_destroy(a);
}

static nng_socket
sub_open(void)
{
	nng_socket s;
	cr_assert_eq(nng_sub0_open(&s), 0);
	cr_assert_eq(nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	cr_assert_eq(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000), 0);
	cr_assert_eq(nng_dial(s, fx.pub_url, NULL, 0), 0);
	usleep(50 * 1000); /* let the subscription reach the publisher */
	return s;
}

/* One stream message: Envelope{schema_version 1, METHOD_EVENT_STREAM, the rs.EventBatch of one
 * committed group} like every message between services; the batch, or NULL on timeout. */
static Rs__EventBatch *
sub_recv(nng_socket s, int timeout_ms)
{
	void *buf;
	size_t len;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms);
	if (nng_recv(s, &buf, &len, NNG_FLAG_ALLOC) != 0)
		return NULL;
	Rs__Envelope *env = rs__envelope__unpack(NULL, len, buf);
	nng_free(buf, len);
	cr_assert_not_null(env, "a stream message that is not an Envelope");
	cr_assert_eq(env->schema_version, RS_SCHEMA_VERSION);
	cr_assert_eq(env->method, RS__METHOD__METHOD_EVENT_STREAM);
	Rs__EventBatch *b = rs__event_batch__unpack(NULL, env->body.len, env->body.data);
	rs__envelope__free_unpacked(env, NULL);
	cr_assert_not_null(b);
	return b;
}

Test(ingest, subscriber_receives_only_newly_stored_events)
{
	rs_arena *a;
	post_result r;
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	nng_socket s = sub_open();
	Rs__Event *evs[3] = {mk_event(a, "p-1", 3, 4, 1), mk_event(a, "p-2", 3, 5, 3),
	                     mk_event(a, "p-1", 3, 4, 1)};
	evs[0]->ts_ms = 1700000000123;
	post(a, evs, 3, &r);
	cr_assert_eq(r.resp->accepted, 2);
	/* one message for the group, the duplicate left out */
	Rs__EventBatch *b = sub_recv(s, 2000);
	cr_assert_not_null(b);
	cr_assert_eq(b->n_events, 2);
	const Rs__Event *e1 = b->events[0], *e2 = b->events[1];
	cr_assert_str_eq(e1->event_id, "p-1");
	cr_assert_eq(e1->ts_ms, 1700000000123);
	cr_assert_eq(e1->item_id, 4);
	cr_assert_str_eq(e2->event_id, "p-2");
	cr_assert_eq(e2->type, RS__EVENT_TYPE__EVENT_ADD_TO_CART);
	cr_assert_gt(e2->ts_ms, 0, "ts assigned by ingest is published");
	rs__event_batch__free_unpacked(b, NULL);
	post(a, evs, 3, &r); /* all duplicates: nothing published */
	cr_assert_eq(r.resp->duplicates, 3);
	cr_assert_null(sub_recv(s, 300));
	nng_close(s);
	rs_arena_destroy(a);
}

Test(ingest, postgres_down_spools_and_restart_replays_exactly_once)
{
	rs_arena *a;
	post_result r;
	rs_arena_create(&a, 0);
	/* PostgreSQL "down": nothing listens on port 1. */
	fx_start("host=127.0.0.1 port=1 user=postgres dbname=recsys connect_timeout=1");
	Rs__Event *evs[3] = {mk_event(a, "s-1", 11, 1, 1), mk_event(a, "s-2", 11, 2, 1),
	                     mk_event(a, "s-3", 12, 999, 4)};
	post(a, evs, 2, &r);
	cr_assert_eq(r.status, RS__STATUS__STATUS_OK, "%s", r.err);
	cr_assert_eq(r.resp->accepted, 2, "acknowledged from the spool");
	post(a, evs + 1, 2, &r); /* s-2 again (found at replay) and s-3 for an unknown item */
	cr_assert_eq(r.resp->accepted, 2);
	ing_writer_status st;
	ing_writer_status_get(fx.writer, &st);
	cr_assert_eq(st.pg_up, 0);
	cr_assert_eq(st.spool_pending, 2);
	fx_stop(); /* like a crash: the spool stays on disk */
	cr_assert_eq(fx_count("select count(*) from events"), 0);

	fx_start(fx.dsn); /* PostgreSQL is back */
	cr_assert_eq(ing_writer_wait_idle(fx.writer, 5000), 0, "spool not drained");
	cr_assert_eq(fx_count("select count(*) from events"), 3);
	cr_assert_eq(fx_count("select count(*) from events where event_id = 's-2'"), 1);
	cr_assert_eq(fx_count("select count(*) from items where item_id = 999 and "
	                      "attributes->>'placeholder' = 'true'"),
	             1);
	post(a, evs, 3, &r);
	cr_assert_eq(r.resp->duplicates, 3);
	cr_assert_eq(fx_count("select count(*) from events"), 3);
	rs_arena_destroy(a);
}

Test(ingest, values_prices_and_timestamps_are_stored_exactly)
{
	rs_arena *a;
	post_result r;
	static const double prices[] = {0.01, 1, 12.5, 99.99, 10000, 123456.78, 9999999999.99};
	static const char *const want[] = {"0.01",     "1.00",      "12.50",        "99.99",
	                                   "10000.00", "123456.78", "9999999999.99"};
	Rs__Event *evs[7];
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	for (int i = 0; i < 7; i++) {
		char id[16];
		snprintf(id, sizeof(id), "px-%d", i);
		evs[i] = mk_event(a, id, 1, 1 + i, 4);
		evs[i]->price = prices[i];
		evs[i]->ts_ms = 1700000000000 + i * 1001;
		evs[i]->has_value = 1;
		evs[i]->value = 0.1 * i;
	}
	evs[6]->type = RS__EVENT_TYPE__EVENT_RATING;
	evs[6]->value = 4.5;
	post(a, evs, 7, &r);
	cr_assert_eq(r.resp->accepted, 7);
	for (int i = 0; i < 7; i++) {
		char q[200];
		snprintf(
		        q, sizeof(q),
		        "select count(*) from events where event_id = 'px-%d' and price::text = "
		        "'%s' "
		        "and ts = timestamptz 'epoch' + interval '%d ms' + interval '1700000000 s'",
		        i, want[i], i * 1001);
		cr_assert_eq(fx_count(q), 1, "%s", q);
	}
	cr_assert_eq(fx_count("select count(*) from events where event_id = 'px-3' and value = "
	                      "0.30000000000000004"),
	             1);
	cr_assert_eq(fx_count("select count(*) from events where type = 5 and value = 4.5"), 1);
	cr_assert_eq(fx_count("select count(*) from events where price is not null and rec_id is "
	                      "null and variant is null"),
	             7);
	rs_arena_destroy(a);
}

static Rs__HealthResponse *
health(rs_arena *a)
{
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__HealthResponse *resp;
	Rs__Status st;
	cr_assert_eq(rs_rpc_request(fx.cli, RS__METHOD__METHOD_HEALTH, &req.base,
	                            &rs__health_response__descriptor, 2000, a, (void **) &resp, &st,
	                            NULL, 0),
	             0);
	cr_assert_eq(st, RS__STATUS__STATUS_OK);
	return resp;
}

Test(ingest, postgres_down_with_spool_is_ready_without_spool_is_unavailable)
{
	rs_arena *a;
	post_result r;
	const char *down = "host=127.0.0.1 port=1 user=postgres dbname=recsys connect_timeout=1";
	rs_arena_create(&a, 0);
	fx_start_opts(down, 1);
	Rs__HealthResponse *h = health(a);
	cr_assert(h->ready, "spool writable: ready");
	cr_assert_not_null(strstr(h->detail, "postgres=down spool=writable"), "%s", h->detail);
	fx_stop();

	fx_start_opts(down, 0);
	h = health(a);
	cr_assert(!h->ready, "no database and no spool: not ready");
	Rs__Event *evs[1] = {mk_event(a, "u-1", 1, 1, 1)};
	post(a, evs, 1, &r);
	cr_assert_eq(r.status, RS__STATUS__STATUS_UNAVAILABLE, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "unavailable"), "%s", r.err);
	rs_arena_destroy(a);
}

/* Event.position (the 1-based place in the list the event came from) is stored on the COPY
 * fast path and on the staging path that a repeated id takes; 0 is NULL; negative is refused. */
Test(ingest, positions_are_stored_on_both_write_paths)
{
	rs_arena *a;
	post_result r;
	rs_arena_create(&a, 0);
	fx_start(fx.dsn);
	Rs__Event *evs[3] = {mk_event(a, "pos-1", 1, 1, 2), mk_event(a, "pos-2", 1, 2, 2),
	                     mk_event(a, "pos-3", 1, 3, 2)};
	evs[0]->position = 3;
	evs[0]->rec_id = "rec-a";
	evs[2]->position = -1;
	post(a, evs, 3, &r);
	cr_assert_eq(r.resp->accepted, 2);
	cr_assert_eq(r.resp->n_rejected, 1);
	cr_assert_eq(r.resp->rejected[0]->index, 2);
	cr_assert(strstr(r.resp->rejected[0]->reason, "position") != NULL, "%s",
	          r.resp->rejected[0]->reason);
	/* the staging path: a repeated id in the batch sends it there */
	Rs__Event *again[2] = {evs[0], mk_event(a, "pos-4", 1, 4, 2)};
	again[1]->position = 12;
	post(a, again, 2, &r);
	cr_assert_eq(r.resp->accepted, 1);
	cr_assert_eq(r.resp->duplicates, 1);
	cr_assert_eq(fx_count("select count(*) from events where event_id = 'pos-1' and "
	                      "position = 3 and rec_id = 'rec-a'"),
	             1);
	cr_assert_eq(fx_count("select count(*) from events where event_id = 'pos-2' and "
	                      "position is null"),
	             1);
	cr_assert_eq(fx_count("select count(*) from events where event_id = 'pos-4' and "
	                      "position = 12"),
	             1);
	rs_arena_destroy(a);
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n++] = (uint8_t) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v > 0);
	return n;
}

/* A spool written before Event.position existed still replays: its records, encoded by hand
 * the way the old schema (fields 1-10) wrote them, are stored with position NULL, next to a
 * record of the new schema. */
Test(ingest, a_spool_from_before_positions_replays)
{
	uint8_t ev[64], rec[80];
	size_t n = 0, m = 0;
	ev[n++] = 0x0a; /* 1 event_id */
	ev[n++] = 5;
	memcpy(ev + n, "old-1", 5);
	n += 5;
	ev[n++] = 0x10; /* 2 user_id */
	n += put_varint(ev + n, 21);
	ev[n++] = 0x18; /* 3 item_id */
	n += put_varint(ev + n, 7);
	ev[n++] = 0x20; /* 4 type: click */
	n += put_varint(ev + n, 2);
	ev[n++] = 0x28; /* 5 ts_ms */
	n += put_varint(ev + n, (uint64_t) rs_now_ms() - 60000);
	ev[n++] = 0x4a; /* 9 rec_id */
	ev[n++] = 5;
	memcpy(ev + n, "rec-o", 5);
	n += 5;
	rec[m++] = 0x12; /* EventBatch.events */
	m += put_varint(rec + m, n);
	memcpy(rec + m, ev, n);
	m += n;

	ing_spool *sp;
	cr_assert_eq(ing_spool_open(&sp, fx.spool_dir, 0), 0);
	cr_assert_eq(ing_spool_append(sp, rec, m), 0);
	/* and one of today's, with a position */
	rs_arena *a;
	rs_arena_create(&a, 0);
	Rs__Event *e = mk_event(a, "new-1", 21, 8, 2);
	e->ts_ms = rs_now_ms() - 30000;
	e->position = 2;
	Rs__EventBatch b = RS__EVENT_BATCH__INIT;
	b.events = &e;
	b.n_events = 1;
	uint8_t buf[128];
	size_t len = rs__event_batch__pack(&b, buf);
	cr_assert_eq(ing_spool_append(sp, buf, len), 0);
	ing_spool_close(sp);

	fx_start(fx.dsn);
	cr_assert_eq(ing_writer_wait_idle(fx.writer, 5000), 0, "spool not drained");
	cr_assert_eq(fx_count("select count(*) from events where event_id = 'old-1' and "
	                      "user_id = 21 and item_id = 7 and type = 2 and rec_id = 'rec-o' and "
	                      "position is null"),
	             1);
	cr_assert_eq(fx_count("select count(*) from events where event_id = 'new-1' and "
	                      "position = 2"),
	             1);
	rs_arena_destroy(a);
}
