/* rpc_bench: round trips through common/rs_rpc (client -> socket -> server thread -> back;
 * tcp:// and ipc:// use rs_rpc_sp.c, inproc:// NNG).
 *   rpc_bench [URL] [THREADS] [CALLS_PER_THREAD] [SERVER_WORKERS]
 * Prints calls/s, latency percentiles, and the process's CPU time and context switches per call
 * (client and server together, getrusage). The handler does no work, so this is the RPC cost.
 * RS_RPC_TRANSPORT=nng (as for the services) measures NNG's own req/rep sockets on the same URL. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.pb-c.h"
#include "rs_err.h"
#include "rs_rpc.h"
#include "rs_time.h"

static rs_rpc_client *client;
static int calls;
static double *lat;

static void *
bench_thread(void *arg)
{
	double *out = lat + (size_t) (intptr_t) arg * (size_t) calls;
	rs_arena *a;
	Rs__HealthRequest req = RS__HEALTH_REQUEST__INIT;
	Rs__RequestHeader h = RS__REQUEST_HEADER__INIT;
	h.request_id = "bench";
	req.header = &h;
	rs_arena_create(&a, 0);
	for (int i = 0; i < calls; i++) {
		void *resp;
		Rs__Status st;
		double t0 = rs_mono_ms();
		int rv = rs_rpc_request(client, RS__METHOD__METHOD_HEALTH, &req.base,
		                        &rs__health_response__descriptor, 1000, a, &resp, &st, NULL,
		                        0);
		out[i] = rs_mono_ms() - t0;
		if (rv != 0 || st != RS__STATUS__STATUS_OK) {
			fprintf(stderr, "call failed: %s\n", rs_strerror(rv));
			exit(1);
		}
		rs_arena_reset(a);
	}
	rs_arena_destroy(a);
	return NULL;
}

static double
cpu_seconds(const struct rusage *r)
{
	return (double) (r->ru_utime.tv_sec + r->ru_stime.tv_sec) +
	       (double) (r->ru_utime.tv_usec + r->ru_stime.tv_usec) / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char *url = argc > 1 ? argv[1] : "tcp://127.0.0.1:7990";
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	int workers = argc > 4 ? atoi(argv[4]) : 4;
	static const rs_rpc_route routes[] = {{0, NULL, NULL}};
	rs_rpc_server *srv;
	pthread_t th[64];

	const char *transport = getenv("RS_RPC_TRANSPORT");
	if (transport != NULL && strcmp(transport, "nng") == 0)
		rs_rpc_set_transport(RS_RPC_TRANSPORT_NNG);
	calls = argc > 3 ? atoi(argv[3]) : 10000;
	if (threads < 1 || threads > 64 || calls < 1)
		return 2;
	if (rs_rpc_server_open(&srv, url, workers, routes, NULL) != 0 ||
	    rs_rpc_client_open(&client, url) != 0)
		return 1;
	while (rs_rpc_client_connected(client) == 0)
		usleep(1000);
	lat = calloc((size_t) threads * (size_t) calls, sizeof(double));
	if (lat == NULL)
		return 1;
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	double t0 = rs_mono_ms();
	for (intptr_t i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, bench_thread, (void *) i);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	double secs = (rs_mono_ms() - t0) / 1000.0;
	getrusage(RUSAGE_SELF, &r1);
	size_t n = (size_t) threads * (size_t) calls;
	double cpu = cpu_seconds(&r1) - cpu_seconds(&r0);
	long csw = (r1.ru_nvcsw - r0.ru_nvcsw) + (r1.ru_nivcsw - r0.ru_nivcsw);
	qsort(lat, n, sizeof(double), cmp_double);
	printf("url=%s threads=%d workers=%d calls=%zu calls_per_s=%.0f p50_ms=%.3f p99_ms=%.3f "
	       "p999_ms=%.3f cpu_us_per_call=%.1f ctxsw_per_call=%.1f\n",
	       url, threads, workers, n, (double) n / secs, lat[n / 2], lat[n * 99 / 100],
	       lat[n * 999 / 1000], cpu * 1e6 / (double) n, (double) csw / (double) n);
	free(lat);
	rs_rpc_client_close(client);
	rs_rpc_server_close(srv);
	return 0;
}
