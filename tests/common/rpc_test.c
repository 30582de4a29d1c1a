#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "common.pb-c.h"
#include "rs_err.h"
#include "rs_rpc.h"
#include "rs_time.h"

/* A toy service: HEALTH answers with detail = request id; USER_FEATURES sleeps 300 ms
 * (the "slow" method) and then answers a HealthResponse too. */
static atomic_int slow_done;
static atomic_int slow_running, slow_max; /* handlers in t_slow now, and the most at once */

static void
t_health(void *ud, rs_rpc_call *call)
{
	Rs__HealthRequest *req;
	Rs__HealthResponse resp = RS__HEALTH_RESPONSE__INIT;
	Rs__ResponseHeader h;
	(void) ud;
	if (rs_rpc_unpack(call, &rs__health_request__descriptor, (void **) &req) != 0)
		return;
	rs_rpc_header_init(call, &h, "t", "v1");
	resp.header = &h;
	resp.ready = 1;
	resp.detail = req->header != NULL ? req->header->request_id : "";
	rs_rpc_reply(call, &resp.base);
}

static void
t_slow(void *ud, rs_rpc_call *call)
{
	int now = atomic_fetch_add(&slow_running, 1) + 1;
	for (int m = atomic_load(&slow_max);
	     now > m && !atomic_compare_exchange_weak(&slow_max, &m, now);)
		;
	usleep(300 * 1000);
	t_health(ud, call);
	atomic_fetch_sub(&slow_running, 1);
	atomic_fetch_add(&slow_done, 1);
}

static const rs_rpc_route t_routes[] = {
        {RS__METHOD__METHOD_HEALTH, "health", t_health},
        {RS__METHOD__METHOD_USER_FEATURES, "slow", t_slow},
        {0, NULL, NULL},
};

static int
call_health(rs_rpc_client *c, Rs__Method m, const char *rid, int timeout_ms, char *detail_out)
{
	rs_arena *a;
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__HealthResponse *resp = NULL;
	Rs__Status st;
	char err[128];
	rs_arena_create(&a, 0);
	h.request_id = (char *) rid;
	h.deadline_unix_ms = rs_now_ms() + timeout_ms;
	req.header = &h;
	int rv = rs_rpc_request(c, m, &req.base, &rs__health_response__descriptor, timeout_ms, a,
	                        (void **) &resp, &st, err, sizeof(err));
	if (rv == 0 && st != RS__STATUS__STATUS_OK)
		rv = -1000 - (int) st;
	if (rv == 0 && detail_out != NULL)
		strcpy(detail_out, resp->detail);
	rs_arena_destroy(a);
	return rv;
}

static void
wait_connected(rs_rpc_client *c)
{
	for (int i = 0; i < 200 && rs_rpc_client_connected(c) == 0; i++)
		usleep(5000);
	cr_assert_gt(rs_rpc_client_connected(c), 0, "client never connected");
}

Test(rpc, request_reply_carries_the_request_id)
{
	rs_rpc_server *s;
	rs_rpc_client *c;
	char detail[64] = "";
	cr_assert_eq(rs_rpc_server_open(&s, "inproc://rpc-a", 2, t_routes, NULL), 0);
	cr_assert_eq(rs_rpc_client_open(&c, "inproc://rpc-a"), 0);
	wait_connected(c);
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "req-1", 1000, detail), 0);
	cr_assert_str_eq(detail, "req-1");
	rs_rpc_client_close(c);
	rs_rpc_server_close(s);
}

Test(rpc, unknown_method_is_unsupported_and_metrics_are_builtin)
{
	rs_rpc_server *s;
	rs_rpc_client *c;
	rs_arena *a;
	Rs__MetricsRequest mreq = RS__METRICS_REQUEST__INIT;
	Rs__MetricsResponse *mresp;
	Rs__Status st;
	cr_assert_eq(rs_rpc_server_open(&s, "inproc://rpc-b", 1, t_routes, NULL), 0);
	cr_assert_eq(rs_rpc_client_open(&c, "inproc://rpc-b"), 0);
	wait_connected(c);
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_RANK, "x", 1000, NULL),
	             -1000 - RS__STATUS__STATUS_UNSUPPORTED);
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "x", 1000, NULL), 0);
	rs_arena_create(&a, 0);
	cr_assert_eq(rs_rpc_request(c, RS__METHOD__METHOD_METRICS, &mreq.base,
	                            &rs__metrics_response__descriptor, 1000, a, (void **) &mresp,
	                            &st, NULL, 0),
	             0);
	cr_assert_eq(st, RS__STATUS__STATUS_OK);
	cr_assert_not_null(
	        strstr(mresp->text, "rs_rpc_requests_total{method=\"health\",status=\"ok\"}"));
	rs_arena_destroy(a);
	rs_rpc_client_close(c);
	rs_rpc_server_close(s);
}

Test(rpc, no_server_fails_fast_with_unavailable)
{
	rs_rpc_client *c;
	cr_assert_eq(rs_rpc_client_open(&c, "tcp://127.0.0.1:1"), 0);
	double t0 = rs_mono_ms();
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "x", 2000, NULL), RS_EUNAVAIL);
	cr_assert_lt(rs_mono_ms() - t0, 1000.0);
	rs_rpc_client_close(c);
}

Test(rpc, slow_handler_times_out_at_the_deadline)
{
	rs_rpc_server *s;
	rs_rpc_client *c;
	cr_assert_eq(rs_rpc_server_open(&s, "inproc://rpc-c", 1, t_routes, NULL), 0);
	cr_assert_eq(rs_rpc_client_open(&c, "inproc://rpc-c"), 0);
	wait_connected(c);
	double t0 = rs_mono_ms();
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_USER_FEATURES, "x", 50, NULL), RS_ETIMEDOUT);
	cr_assert_lt(rs_mono_ms() - t0, 250.0);
	rs_rpc_client_close(c);
	rs_rpc_server_close(s);
}

typedef struct {
	rs_rpc_client *c;
	int rv;
	char rid[16];
} t_caller;

static void *
t_call_slow(void *arg)
{
	t_caller *t = arg;
	t->rv = call_health(t->c, RS__METHOD__METHOD_USER_FEATURES, t->rid, 3000, NULL);
	return NULL;
}

Test(rpc, workers_serve_concurrently_and_close_finishes_in_flight_requests)
{
	rs_rpc_server *s;
	rs_rpc_client *c;
	pthread_t th[4];
	t_caller callers[4];
	atomic_store(&slow_done, 0);
	cr_assert_eq(rs_rpc_server_open(&s, "inproc://rpc-d", 4, t_routes, NULL), 0);
	cr_assert_eq(rs_rpc_client_open(&c, "inproc://rpc-d"), 0);
	wait_connected(c);
	double t0 = rs_mono_ms();
	for (int i = 0; i < 4; i++) {
		callers[i].c = c;
		snprintf(callers[i].rid, sizeof(callers[i].rid), "r%d", i);
		pthread_create(&th[i], NULL, t_call_slow, &callers[i]);
	}
	usleep(100 * 1000); /* all four are now inside the 300 ms handler */
	rs_rpc_server_close(s);
	cr_assert_eq(atomic_load(&slow_done), 4, "close returned before in-flight work ended");
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(callers[i].rv, 0, "caller %d got %d", i, callers[i].rv);
	}
	/* Four 300 ms requests on four workers take about 300 ms, not 1200. */
	cr_assert_lt(rs_mono_ms() - t0, 1000.0);
	rs_rpc_client_close(c);
}

Test(rpc, expired_deadline_is_refused_without_running_the_handler)
{
	rs_rpc_server *s;
	rs_rpc_client *c;
	rs_arena *a;
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	Rs__HealthResponse *resp;
	Rs__Status st;
	atomic_store(&slow_done, 0);
	cr_assert_eq(rs_rpc_server_open(&s, "inproc://rpc-e", 1, t_routes, NULL), 0);
	cr_assert_eq(rs_rpc_client_open(&c, "inproc://rpc-e"), 0);
	wait_connected(c);
	rs_arena_create(&a, 0);
	h.request_id = "late";
	h.deadline_unix_ms = rs_now_ms() - 10;
	req.header = &h;
	cr_assert_eq(rs_rpc_request(c, RS__METHOD__METHOD_USER_FEATURES, &req.base,
	                            &rs__health_response__descriptor, 1000, a, (void **) &resp, &st,
	                            NULL, 0),
	             0);
	cr_assert_eq(st, RS__STATUS__STATUS_DEADLINE);
	cr_assert_eq(atomic_load(&slow_done), 0);
	rs_arena_destroy(a);
	rs_rpc_client_close(c);
	rs_rpc_server_close(s);
}

/* The same service over plain sockets (tcp:// and ipc://, rs_rpc_sp.c). */

static void
t_url(char *buf, size_t n, const char *kind, int i)
{
	if (strcmp(kind, "tcp") == 0)
		snprintf(buf, n, "tcp://127.0.0.1:%d", 27930 + (int) (getpid() % 500) * 8 + i);
	else
		snprintf(buf, n, "ipc:///tmp/rs-rpc-test-%d-%d.sock", (int) getpid(), i);
}

static void
t_round_trip(const char *kind)
{
	rs_rpc_server *s;
	rs_rpc_client *c;
	rs_arena *a;
	char url[128], detail[64] = "";
	Rs__MetricsRequest mreq = RS__METRICS_REQUEST__INIT;
	Rs__MetricsResponse *mresp;
	Rs__Status st;
	t_url(url, sizeof(url), kind, 0);
	cr_assert_eq(rs_rpc_server_open(&s, url, 2, t_routes, NULL), 0);
	cr_assert_eq(rs_rpc_client_open(&c, url), 0);
	wait_connected(c);
	for (int i = 0; i < 50; i++) { /* the pooled connection is reused */
		char rid[16];
		snprintf(rid, sizeof(rid), "req-%d", i);
		cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, rid, 1000, detail), 0);
		cr_assert_str_eq(detail, rid);
	}
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_RANK, "x", 1000, NULL),
	             -1000 - RS__STATUS__STATUS_UNSUPPORTED);
	rs_arena_create(&a, 0);
	cr_assert_eq(rs_rpc_request(c, RS__METHOD__METHOD_METRICS, &mreq.base,
	                            &rs__metrics_response__descriptor, 1000, a, (void **) &mresp,
	                            &st, NULL, 0),
	             0);
	cr_assert_eq(st, RS__STATUS__STATUS_OK);
	cr_assert_not_null(strstr(mresp->text, "rs_rpc_requests_total"));
	rs_arena_destroy(a);
	/* The slow method times out at the client's deadline; the next call still works. */
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_USER_FEATURES, "x", 50, NULL), RS_ETIMEDOUT);
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "after", 1000, detail), 0);
	cr_assert_str_eq(detail, "after");
	rs_rpc_client_close(c);
	rs_rpc_server_close(s);
}

Test(rpc_sock, tcp_round_trip_errors_and_timeouts)
{
	t_round_trip("tcp");
}

Test(rpc_sock, ipc_round_trip_errors_and_timeouts)
{
	t_round_trip("ipc");
}

Test(rpc_sock, close_finishes_in_flight_requests_and_workers_bound_concurrency)
{
	rs_rpc_server *s;
	rs_rpc_client *c;
	pthread_t th[4];
	t_caller callers[4];
	char url[128];
	atomic_store(&slow_done, 0);
	atomic_store(&slow_max, 0);
	t_url(url, sizeof(url), "tcp", 1);
	cr_assert_eq(rs_rpc_server_open(&s, url, 2, t_routes, NULL), 0);
	cr_assert_eq(rs_rpc_client_open(&c, url), 0);
	wait_connected(c);
	for (int i = 0; i < 4; i++) {
		callers[i].c = c;
		snprintf(callers[i].rid, sizeof(callers[i].rid), "r%d", i);
		pthread_create(&th[i], NULL, t_call_slow, &callers[i]);
	}
	/* Two workers: two calls run in the handler, two wait for a slot. */
	for (int i = 0; i < 400 && atomic_load(&slow_done) < 1; i++)
		usleep(5000);
	rs_rpc_server_close(s);
	cr_assert_eq(atomic_load(&slow_done), 4, "close returned before in-flight work ended");
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(callers[i].rv, 0, "caller %d got %d", i, callers[i].rv);
	}
	cr_assert_eq(atomic_load(&slow_max), 2, "%d handlers ran at once", atomic_load(&slow_max));
	/* The server is gone: the client notices and fails fast. */
	for (int i = 0; i < 200 && rs_rpc_client_connected(c) > 0; i++)
		usleep(5000);
	cr_assert_eq(rs_rpc_client_connected(c), 0);
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "x", 1000, NULL), RS_EUNAVAIL);
	/* A new server on the same address: the client reconnects on its own. */
	cr_assert_eq(rs_rpc_server_open(&s, url, 2, t_routes, NULL), 0);
	wait_connected(c);
	int rv = call_health(c, RS__METHOD__METHOD_HEALTH, "again", 1000, NULL);
	cr_assert_eq(rv, 0, "rv %d", rv);
	rs_rpc_client_close(c);
	rs_rpc_server_close(s);
}

/* The wire format is NNG's: a plain NNG req socket calls an rs_rpc server over tcp and ipc,
 * and an rs_rpc client calls a plain NNG rep socket. */
static void
t_nng_req_calls(const char *url)
{
	nng_socket q;
	Rs__Envelope env = RS__ENVELOPE__INIT;
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	uint8_t body[128], buf[256];
	void *reply;
	size_t rlen;
	h.request_id = "nng";
	req.header = &h;
	env.schema_version = RS_SCHEMA_VERSION;
	env.method = RS__METHOD__METHOD_HEALTH;
	env.body.len = rs__health_request__pack(&req, body);
	env.body.data = body;
	size_t n = rs__envelope__pack(&env, buf);
	cr_assert_eq(nng_req0_open(&q), 0);
	cr_assert_eq(nng_dial(q, url, NULL, 0), 0);
	nng_socket_set_ms(q, NNG_OPT_RECVTIMEO, 2000);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(nng_send(q, buf, n, 0), 0);
		cr_assert_eq(nng_recv(q, &reply, &rlen, NNG_FLAG_ALLOC), 0);
		Rs__Envelope *r = rs__envelope__unpack(NULL, rlen, reply);
		cr_assert_not_null(r);
		cr_assert_eq(r->status, RS__STATUS__STATUS_OK);
		Rs__HealthResponse *hr =
		        rs__health_response__unpack(NULL, r->body.len, r->body.data);
		cr_assert_not_null(hr);
		cr_assert_str_eq(hr->detail, "nng");
		rs__health_response__free_unpacked(hr, NULL);
		rs__envelope__free_unpacked(r, NULL);
		nng_free(reply, rlen);
	}
	nng_close(q);
}

Test(rpc_sock, nng_req_socket_calls_an_rs_rpc_server)
{
	const char *kinds[2] = {"tcp", "ipc"};
	for (int k = 0; k < 2; k++) {
		rs_rpc_server *s;
		char url[128];
		t_url(url, sizeof(url), kinds[k], 2);
		cr_assert_eq(rs_rpc_server_open(&s, url, 1, t_routes, NULL), 0);
		t_nng_req_calls(url);
		rs_rpc_server_close(s);
	}
}

static void *
t_nng_rep_main(void *arg)
{
	nng_socket *p = arg;
	for (int i = 0; i < 3; i++) {
		nng_msg *m;
		if (nng_recvmsg(*p, &m, 0) != 0)
			return NULL;
		Rs__Envelope *e = rs__envelope__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
		Rs__Envelope r = RS__ENVELOPE__INIT;
		Rs__HealthResponse hr = RS__HEALTH_RESPONSE__INIT;
		uint8_t body[64];
		r.schema_version = RS_SCHEMA_VERSION;
		r.method = e != NULL ? e->method : 0;
		hr.ready = 1;
		hr.detail = "rep";
		r.body.len = rs__health_response__pack(&hr, body);
		r.body.data = body;
		rs__envelope__free_unpacked(e, NULL);
		nng_msg_clear(m);
		nng_msg_realloc(m, rs__envelope__get_packed_size(&r));
		rs__envelope__pack(&r, nng_msg_body(m));
		if (nng_sendmsg(*p, m, 0) != 0)
			nng_msg_free(m);
	}
	return NULL;
}

Test(rpc_sock, rs_rpc_client_calls_an_nng_rep_socket)
{
	const char *kinds[2] = {"tcp", "ipc"};
	for (int k = 0; k < 2; k++) {
		nng_socket p;
		rs_rpc_client *c;
		pthread_t th;
		char url[128], detail[64];
		t_url(url, sizeof(url), kinds[k], 3);
		cr_assert_eq(nng_rep0_open(&p), 0);
		cr_assert_eq(nng_listen(p, url, NULL, 0), 0);
		pthread_create(&th, NULL, t_nng_rep_main, &p);
		cr_assert_eq(rs_rpc_client_open(&c, url), 0);
		wait_connected(c);
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "x", 2000, detail),
			             0);
			cr_assert_str_eq(detail, "rep");
		}
		pthread_join(th, NULL);
		rs_rpc_client_close(c);
		nng_close(p);
	}
}

/* rs_rpc_request_packed: a packed body in, the reply body out as bytes; on every transport.
 * A message that is no Envelope is answered with STATUS_INVALID. */
Test(rpc_sock, packed_request_returns_the_reply_bytes)
{
	const char *kinds[3] = {"tcp", "ipc", "inproc"};
	for (int k = 0; k < 3; k++) {
		rs_rpc_server *s;
		rs_rpc_client *c;
		rs_arena *a;
		char url[128], err[64];
		Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
		Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
		uint8_t body[64];
		const uint8_t *rb;
		size_t rl;
		Rs__Status st;
		if (k < 2)
			t_url(url, sizeof(url), kinds[k], 4);
		else
			snprintf(url, sizeof(url), "inproc://rpc-packed");
		cr_assert_eq(rs_rpc_server_open(&s, url, 1, t_routes, NULL), 0);
		cr_assert_eq(rs_rpc_client_open(&c, url), 0);
		wait_connected(c);
		rs_arena_create(&a, 0);
		h.request_id = "packed";
		req.header = &h;
		size_t n = rs__health_request__pack(&req, body);
		cr_assert_eq(rs_rpc_request_packed(c, RS__METHOD__METHOD_HEALTH, body, n, 1000, a,
		                                   &rb, &rl, &st, err, sizeof(err)),
		             0);
		cr_assert_eq(st, RS__STATUS__STATUS_OK);
		Rs__HealthResponse *hr = rs__health_response__unpack(NULL, rl, rb);
		cr_assert_not_null(hr);
		cr_assert_str_eq(hr->detail, "packed");
		rs__health_response__free_unpacked(hr, NULL);
		/* An empty body: the handler sees no header and answers with an empty detail. */
		cr_assert_eq(rs_rpc_request_packed(c, RS__METHOD__METHOD_HEALTH, NULL, 0, 1000, a,
		                                   &rb, &rl, &st, err, sizeof(err)),
		             0);
		cr_assert_eq(st, RS__STATUS__STATUS_OK);
		/* The wrong method: an error status with its text. */
		cr_assert_eq(rs_rpc_request_packed(c, RS__METHOD__METHOD_RANK, body, n, 1000, a,
		                                   &rb, &rl, &st, err, sizeof(err)),
		             0);
		cr_assert_eq(st, RS__STATUS__STATUS_UNSUPPORTED);
		cr_assert_not_null(strstr(err, "not served"), "err: %s", err);
		rs_arena_destroy(a);
		rs_rpc_client_close(c);
		if (k == 0) { /* garbage instead of an Envelope, through a plain NNG req socket */
			nng_socket q;
			void *reply;
			size_t rlen;
			cr_assert_eq(nng_req0_open(&q), 0);
			cr_assert_eq(nng_dial(q, url, NULL, 0), 0);
			nng_socket_set_ms(q, NNG_OPT_RECVTIMEO, 2000);
			cr_assert_eq(nng_send(q, "\x0a\xff\xff", 3, 0), 0);
			cr_assert_eq(nng_recv(q, &reply, &rlen, NNG_FLAG_ALLOC), 0);
			Rs__Envelope *r = rs__envelope__unpack(NULL, rlen, reply);
			cr_assert_not_null(r);
			cr_assert_eq(r->status, RS__STATUS__STATUS_INVALID);
			rs__envelope__free_unpacked(r, NULL);
			nng_free(reply, rlen);
			nng_close(q);
		}
		rs_rpc_server_close(s);
	}
}
