#include <criterion/criterion.h>
#include <malloc.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
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

/* ---- the connection cap of the plain-socket transport ---- */

/* threads of this process now */
static int
thread_count(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* A raw TCP connection to url's port that sends the SP REQ handshake (0 'S' 'P' 0, REQ0 0x30). */
static int
raw_connect(const char *url)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *colon = strrchr(url, ':');
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	sa.sin_port = htons((uint16_t) atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0, "connect %s", url);
	static const uint8_t hs[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
	cr_assert_eq(write(fd, hs, sizeof(hs)), (ssize_t) sizeof(hs));
	return fd;
}

/* 1 when the server's handshake (REP0) arrived on fd within ms: the server serves it */
static int
raw_served(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t hs[8];
	if (poll(&p, 1, ms) != 1)
		return 0;
	cr_assert_eq(read(fd, hs, sizeof(hs)), (ssize_t) sizeof(hs));
	cr_assert(hs[1] == 'S' && hs[2] == 'P' && hs[5] == 0x31, "not a REP0 handshake");
	return 1;
}

/* More connections than the cap: the server serves max_conns of them (one thread each) and
 * the rest wait in the listen backlog, in order, until a connection closes; no thread is started
 * for them. A call that needs a new connection then waits up to its deadline (back-pressure),
 * while a client's open connection keeps working. */
Test(rpc_sock, connections_beyond_the_cap_wait_and_start_no_thread)
{
	enum { CAP = 3, FLOOD = 12 };
	rs_rpc_server *s;
	rs_rpc_client *c;
	rs_rpc_server_cfg cfg = {.workers = 2, .max_conns = CAP};
	int fd[FLOOD], served[FLOOD] = {0};
	char url[128];

	cr_assert_eq(rs_rpc_server_start(&s, "tcp://127.0.0.1:0", &cfg, t_routes, NULL), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(s));
	cr_assert(strcmp(url, "tcp://127.0.0.1:0") != 0 &&
	                  strncmp(url, "tcp://127.0.0.1:", 16) == 0,
	          "%s", url);
	int threads0 = thread_count();
	for (int i = 0; i < FLOOD; i++)
		fd[i] = raw_connect(url);
	int nserved = 0;
	for (int i = 0; i < FLOOD; i++)
		nserved += served[i] = raw_served(fd[i], i < CAP ? 1000 : 100);
	cr_assert_eq(nserved, CAP, "%d of %d connections served with a cap of %d", nserved, FLOOD,
	             CAP);
	for (int i = 0; i < CAP; i++)
		cr_assert(served[i], "connection %d (of the first %d) not served", i, CAP);
	cr_assert_eq(rs_rpc_server_conns(s), CAP);
	cr_assert_leq(thread_count() - threads0, CAP, "%d threads for %d connections",
	              thread_count() - threads0, FLOOD);
	/* one closes: the next in line is served, the others still wait */
	close(fd[0]);
	cr_assert(raw_served(fd[CAP], 2000), "the waiting connection was not served after a close");
	for (int i = CAP + 1; i < FLOOD; i++)
		cr_assert(!raw_served(fd[i], 20), "connection %d served beyond the cap", i);
	cr_assert_leq(rs_rpc_server_conns(s), CAP);
	for (int i = 1; i < FLOOD; i++)
		close(fd[i]);
	/* the backlog drains (each waiting connection ends at once: its peer is gone) */
	for (int i = 0; i < 400 && rs_rpc_server_conns(s) > 0; i++)
		usleep(5000);
	cr_assert_eq(rs_rpc_server_conns(s), 0);

	/* a client with one open call connection (and its watch connection) keeps working at the
	 * cap; a call that needs another connection waits out its deadline instead */
	cr_assert_eq(rs_rpc_client_open(&c, url), 0);
	wait_connected(c);
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "warm", 1000, NULL), 0);
	for (int i = 0; i < 200 && rs_rpc_server_conns(s) < 2; i++)
		usleep(5000);
	cr_assert_eq(rs_rpc_server_conns(s), 2);
	fd[0] = raw_connect(url); /* the cap is reached */
	cr_assert(raw_served(fd[0], 1000));
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "pooled", 1000, NULL), 0);
	pthread_t th;
	t_caller slow = {.c = c, .rid = "slow"};
	atomic_store(&slow_done, 0);
	pthread_create(&th, NULL, t_call_slow, &slow); /* holds the pooled connection 300 ms */
	usleep(50 * 1000);
	double t0 = rs_mono_ms();
	int rv = call_health(c, RS__METHOD__METHOD_HEALTH, "needs-another", 150, NULL);
	double waited = rs_mono_ms() - t0;
	cr_assert_eq(rv, RS_ETIMEDOUT, "rv %d", rv);
	cr_assert_geq(waited, 100.0, "gave up after %.0f ms instead of waiting", waited);
	pthread_join(th, NULL);
	cr_assert_eq(slow.rv, 0);
	cr_assert_leq(rs_rpc_server_conns(s), CAP);
	/* a slot frees: new connections are served again */
	close(fd[0]);
	t_caller a = {.c = c, .rid = "a"}, b = {.c = c, .rid = "b"};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, t_call_slow, &a);
	pthread_create(&tb, NULL, t_call_slow, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	cr_assert_eq(a.rv, 0, "rv %d", a.rv);
	cr_assert_eq(b.rv, 0, "rv %d", b.rv);
	rs_rpc_client_close(c);
	rs_rpc_server_close(s);
}

/* 1 when the peer closed fd within ms (EOF after its handshake was read) */
static int
raw_closed(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t b[16];
	if (poll(&p, 1, ms) != 1)
		return 0;
	return read(fd, b, sizeof(b)) <= 0;
}

/* The same cap over NNG's own sockets (RS_RPC_TRANSPORT=nng): NNG accepts and negotiates every
 * connection itself, so the server closes each one beyond max_conns as soon as it is
 * negotiated (a pipe-notify callback); the ones within the cap keep working, and a closed one
 * makes room. */
Test(rpc_nng, connections_beyond_the_cap_are_closed)
{
	enum { CAP = 3, FLOOD = 10 };
	rs_rpc_server *s;
	rs_rpc_client *c;
	rs_rpc_server_cfg cfg = {.workers = 2, .max_conns = CAP};
	int fd[FLOOD];
	char url[128];

	rs_rpc_set_transport(RS_RPC_TRANSPORT_NNG);
	cr_assert_eq(rs_rpc_server_start(&s, "tcp://127.0.0.1:0", &cfg, t_routes, NULL), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(s));
	cr_assert(strcmp(url, "tcp://127.0.0.1:0") != 0, "%s", url);
	/* the first CAP, one after another: each negotiated and held */
	for (int i = 0; i < CAP; i++) {
		fd[i] = raw_connect(url);
		cr_assert(raw_served(fd[i], 2000), "connection %d not negotiated", i);
		for (int t = 0; t < 400 && rs_rpc_server_conns(s) < i + 1; t++)
			usleep(5000);
		cr_assert_eq(rs_rpc_server_conns(s), i + 1);
	}
	/* the rest: negotiated by NNG, then closed by the cap */
	int closed = 0;
	for (int i = CAP; i < FLOOD; i++)
		fd[i] = raw_connect(url);
	for (int i = CAP; i < FLOOD; i++) {
		cr_assert(raw_served(fd[i], 2000), "connection %d not negotiated", i);
		closed += raw_closed(fd[i], 2000);
	}
	cr_assert_eq(closed, FLOOD - CAP, "%d of the %d connections beyond a cap of %d closed",
	             closed, FLOOD - CAP, CAP);
	cr_assert_eq(rs_rpc_server_conns(s), CAP);
	for (int i = 0; i < CAP; i++)
		cr_assert(!raw_closed(fd[i], 20), "connection %d within the cap was closed", i);
	for (int i = CAP; i < FLOOD; i++)
		close(fd[i]);
	/* one within the cap closes: a new connection is held again, the next one closed */
	close(fd[0]);
	for (int t = 0; t < 400 && rs_rpc_server_conns(s) > CAP - 1; t++)
		usleep(5000);
	cr_assert_eq(rs_rpc_server_conns(s), CAP - 1);
	fd[0] = raw_connect(url);
	cr_assert(raw_served(fd[0], 2000));
	for (int t = 0; t < 400 && rs_rpc_server_conns(s) < CAP; t++)
		usleep(5000);
	cr_assert_eq(rs_rpc_server_conns(s), CAP);
	int extra = raw_connect(url);
	cr_assert(raw_served(extra, 2000));
	cr_assert(raw_closed(extra, 2000), "a connection beyond the cap was kept");
	close(extra);
	cr_assert(!raw_closed(fd[0], 20), "the re-admitted connection was closed");
	/* the connections go: a client is served */
	for (int i = 0; i < CAP; i++)
		close(fd[i]);
	for (int t = 0; t < 400 && rs_rpc_server_conns(s) > 0; t++)
		usleep(5000);
	cr_assert_eq(rs_rpc_server_conns(s), 0);
	cr_assert_eq(rs_rpc_client_open(&c, url), 0);
	wait_connected(c);
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "nng", 2000, NULL), 0);
	cr_assert_leq(rs_rpc_server_conns(s), CAP);
	rs_rpc_client_close(c);
	rs_rpc_server_close(s);
	rs_rpc_set_transport(RS_RPC_TRANSPORT_SOCKET);
}

/* bytes malloc holds in mmapped blocks (every allocation from 128 KiB up), all threads */
static long
mmapped_bytes(void)
{
	return (long) mallinfo2().hblkhd;
}

/* A peer that announces the largest frame and sends a few bytes holds a buffer the size of
 * what it sent, not of what it announced: 8 connections announcing 60 MiB each would be
 * 480 MiB of buffers if the server sized them by the prefix. The server still
 * answers a normal request on another connection, and drops the liars when they go. */
Test(rpc_sock, an_announced_frame_size_reserves_nothing)
{
	enum { LIARS = 8 };
	rs_rpc_server *s;
	rs_rpc_client *c;
	rs_rpc_server_cfg cfg = {.workers = 2};
	int fd[LIARS];
	char url[128];

	cr_assert_eq(rs_rpc_server_start(&s, "tcp://127.0.0.1:0", &cfg, t_routes, NULL), 0);
	snprintf(url, sizeof(url), "%s", rs_rpc_server_url(s));
	long before = mmapped_bytes();
	for (int i = 0; i < LIARS; i++) {
		fd[i] = raw_connect(url);
		cr_assert(raw_served(fd[i], 2000));
		uint8_t frame[8 + 16] = {0};
		uint64_t n = 60u << 20; /* the length prefix: 60 MiB, big-endian */
		for (int b = 0; b < 8; b++)
			frame[b] = (uint8_t) (n >> (56 - 8 * b));
		cr_assert_eq(write(fd[i], frame, sizeof(frame)), (ssize_t) sizeof(frame));
	}
	usleep(200 * 1000); /* every connection thread is in its read of the frame */
	long grown = mmapped_bytes() - before;
	cr_assert_lt(grown, 8L << 20,
	             "malloc mapped %ld bytes more for %d frames announced at 60 MiB each with 16 "
	             "bytes sent",
	             grown, LIARS);
	cr_assert_eq(rs_rpc_client_open(&c, url), 0);
	wait_connected(c);
	cr_assert_eq(call_health(c, RS__METHOD__METHOD_HEALTH, "honest", 1000, NULL), 0);
	rs_rpc_client_close(c);
	for (int i = 0; i < LIARS; i++)
		close(fd[i]);
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

/* A body in pieces (rs_rpc_request_iov, an empty piece among them) arrives whole, and requests
 * and replies of any size come back whole, on every transport: a few bytes, more than a call
 * connection's first reply buffer (4 KiB), more than a server connection's first receive
 * buffer (64 KiB) and a socket buffer (several recv calls and partial sends), then few bytes
 * again (the reply buffer sized from the last reply). HEALTH echoes the request id. */
Test(rpc_sock, bodies_in_pieces_and_of_any_size_arrive_whole)
{
	static const size_t sizes[] = {3, 5000, 300000, 70000, 10, 5000};
	const char *kinds[3] = {"tcp", "ipc", "inproc"};
	char *rid = malloc(300001), err[64];
	uint8_t *body = malloc(300100);
	cr_assert(rid != NULL && body != NULL);
	for (int k = 0; k < 3; k++) {
		rs_rpc_server *s;
		rs_rpc_client *c;
		rs_arena *a;
		char url[128];
		if (k < 2)
			t_url(url, sizeof(url), kinds[k], 5);
		else
			snprintf(url, sizeof(url), "inproc://rpc-pieces");
		cr_assert_eq(rs_rpc_server_open(&s, url, 1, t_routes, NULL), 0);
		cr_assert_eq(rs_rpc_client_open(&c, url), 0);
		wait_connected(c);
		rs_arena_create(&a, 0);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
			Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
			const uint8_t *rb;
			size_t rl, sz = sizes[i];
			Rs__Status st;
			for (size_t j = 0; j < sz; j++)
				rid[j] = (char) ('a' + (j * 7 + i) % 26);
			rid[sz] = '\0';
			h.request_id = rid;
			req.header = &h;
			size_t n = rs__health_request__pack(&req, body);
			struct iovec iov[3] = {
			        {body, n / 3}, {body + n / 3, 0}, {body + n / 3, n - n / 3}};
			int rv = rs_rpc_request_iov(c, RS__METHOD__METHOD_HEALTH, iov, 3, 5000, a,
			                            &rb, &rl, &st, err, sizeof(err));
			cr_assert_eq(rv, 0, "%s, %zu bytes: rv %d", kinds[k], sz, rv);
			cr_assert_eq(st, RS__STATUS__STATUS_OK, "%s, %zu bytes: %s", kinds[k], sz,
			             err);
			Rs__HealthResponse *hr = rs__health_response__unpack(NULL, rl, rb);
			cr_assert_not_null(hr);
			cr_assert_eq(strlen(hr->detail), sz, "%s: %zu bytes came back as %zu",
			             kinds[k], sz, strlen(hr->detail));
			cr_assert(memcmp(hr->detail, rid, sz) == 0, "%s, %zu bytes: other bytes",
			          kinds[k], sz);
			rs__health_response__free_unpacked(hr, NULL);
			rs_arena_reset(a);
		}
		struct iovec many[RS_RPC_BODY_MAX + 1] = {{0}};
		const uint8_t *rb;
		size_t rl;
		Rs__Status st;
		cr_assert_eq(rs_rpc_request_iov(c, RS__METHOD__METHOD_HEALTH, many,
		                                RS_RPC_BODY_MAX + 1, 1000, a, &rb, &rl, &st, err,
		                                sizeof(err)),
		             RS_EINVAL);
		rs_arena_destroy(a);
		rs_rpc_client_close(c);
		rs_rpc_server_close(s);
	}
	free(rid);
	free(body);
}

/* Reads exactly n bytes from fd within ms; 0 or -1. */
static int
raw_read(int fd, uint8_t *buf, size_t n, int ms)
{
	double end = rs_mono_ms() + ms;
	for (size_t got = 0; got < n;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int) (end - rs_mono_ms());
		if (left <= 0 || poll(&p, 1, left) != 1)
			return -1;
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t) r;
	}
	return 0;
}

/* A peer may send its next request before the reply to the one before (an NNG req socket with
 * several contexts does): requests that arrive together, in one segment, are each answered in
 * order, with their own SP header echoed. */
Test(rpc_sock, requests_sent_back_to_back_are_each_answered)
{
	enum { N = 3 };
	rs_rpc_server *s;
	char url[128];
	uint8_t frames[N * 128];
	size_t len = 0;

	t_url(url, sizeof(url), "tcp", 6);
	cr_assert_eq(rs_rpc_server_open(&s, url, 1, t_routes, NULL), 0);
	int fd = raw_connect(url);
	cr_assert(raw_served(fd, 2000));
	for (int i = 0; i < N; i++) {
		Rs__Envelope env = RS__ENVELOPE__INIT;
		Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
		Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
		uint8_t body[64];
		char rid[16];
		snprintf(rid, sizeof(rid), "b2b-%d", i);
		h.request_id = rid;
		req.header = &h;
		env.schema_version = RS_SCHEMA_VERSION;
		env.method = RS__METHOD__METHOD_HEALTH;
		env.body.len = rs__health_request__pack(&req, body);
		env.body.data = body;
		uint8_t *f = frames + len;
		size_t n = 4 + rs__envelope__pack(&env, f + 12);
		for (int b = 0; b < 8; b++) /* the length prefix, big-endian */
			f[b] = (uint8_t) ((uint64_t) n >> (56 - 8 * b));
		uint32_t id = 0x80000000u | (uint32_t) (7 + i);
		for (int b = 0; b < 4; b++) /* the SP header: the request id, high bit set */
			f[8 + b] = (uint8_t) (id >> (24 - 8 * b));
		len += 8 + n;
	}
	cr_assert_eq(write(fd, frames, len), (ssize_t) len);
	for (int i = 0; i < N; i++) {
		uint8_t pre[8], msg[512];
		uint64_t n = 0;
		cr_assert_eq(raw_read(fd, pre, 8, 2000), 0, "no reply %d", i);
		for (int b = 0; b < 8; b++)
			n = (n << 8) | pre[b];
		cr_assert(n >= 4 && n <= sizeof(msg), "reply %d: length %llu", i,
		          (unsigned long long) n);
		cr_assert_eq(raw_read(fd, msg, (size_t) n, 2000), 0);
		uint32_t id = ((uint32_t) msg[0] << 24) | ((uint32_t) msg[1] << 16) |
		              ((uint32_t) msg[2] << 8) | msg[3];
		cr_assert_eq(id, 0x80000000u | (uint32_t) (7 + i), "reply %d has id %08x", i, id);
		Rs__Envelope *r = rs__envelope__unpack(NULL, (size_t) n - 4, msg + 4);
		cr_assert_not_null(r);
		cr_assert_eq(r->status, RS__STATUS__STATUS_OK);
		Rs__HealthResponse *hr =
		        rs__health_response__unpack(NULL, r->body.len, r->body.data);
		cr_assert_not_null(hr);
		char want[16];
		snprintf(want, sizeof(want), "b2b-%d", i);
		cr_assert_str_eq(hr->detail, want);
		rs__health_response__free_unpacked(hr, NULL);
		rs__envelope__free_unpacked(r, NULL);
	}
	close(fd);
	rs_rpc_server_close(s);
}
