#include <criterion/criterion.h>
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
	usleep(300 * 1000);
	t_health(ud, call);
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
