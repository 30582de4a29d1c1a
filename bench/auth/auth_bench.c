/* rs-auth-bench: the cost of gw_auth_check (services/gateway/auth.c) per request, by credential.
 *
 *   rs-auth-bench [--n 2000000] [--keys 1000] [--threads 1]
 *
 * Runs gw_auth_check on a request with (a) no credentials on a public route, (b) the admin token,
 * (c) an API key out of --keys live keys, (d) a customer's session cookie on a USER route,
 * (e) a wrong bearer token (the refusal is written, as on the real path), each --n times on each
 * of --threads threads, and prints ns per check (wall time / checks per thread). Nothing else
 * of the request path runs: no HTTP, no downstreams. The numbers compare with the gateway's
 * ~250 µs of CPU per recommendation (docs/BENCHMARKS-serving.md). */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "gateway.h"
#include "req.h"
#include "rs_log.h"

typedef struct bench_conn {
	const char *authorization;
	const char *cookie;
} bench_conn;

static const char *
b_query(void *conn, const char *key)
{
	(void) conn;
	(void) key;
	return NULL;
}

static const char *
b_header(void *conn, const char *name)
{
	const bench_conn *c = conn;
	return strcmp(name, "Authorization") == 0 ? c->authorization : NULL;
}

static const char *
b_cookie(void *conn, const char *name)
{
	const bench_conn *c = conn;
	return strcmp(name, GW_SESSION_COOKIE) == 0 ? c->cookie : NULL;
}

static int
b_client(void *conn, char *buf, size_t n)
{
	(void) conn;
	snprintf(buf, n, "127.0.0.1");
	return 0;
}

static const gw_req_io b_io = {b_query, b_header, b_cookie, b_client};

typedef struct bench_case {
	const char *name;
	bench_conn conn;
	gw_access access;
	int want; /* what gw_auth_check must return */
} bench_case;

typedef struct bench_run {
	gw_server *srv;
	const bench_case *c;
	long n;
	long bad;
	pthread_t th;
} bench_run;

static void *
bench_thread(void *arg)
{
	bench_run *r = arg;
	gw_req req;
	char id[] = "42";
	for (long i = 0; i < r->n; i++) {
		gw_req_init(&req, r->srv, &b_io, (void *) &r->c->conn, "GET", "/v1/users/42/x");
		req.r_params[0] = id;
		req.r_nparams = 1;
		if (gw_auth_check(r->srv, &req, r->c->access) != r->c->want)
			r->bad++;
		gw_reply_clear(&req);
	}
	return NULL;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long n = 2000000, nkeys = 1000, threads = 1;
	static const struct option opts[] = {{"n", required_argument, NULL, 'n'},
	                                     {"keys", required_argument, NULL, 'k'},
	                                     {"threads", required_argument, NULL, 't'},
	                                     {NULL, 0, NULL, 0}};
	for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (ch == 'n')
			n = strtol(optarg, NULL, 10);
		else if (ch == 'k')
			nkeys = strtol(optarg, NULL, 10);
		else if (ch == 't')
			threads = strtol(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: rs-auth-bench [--n N] [--keys K] [--threads T]\n");
			return 2;
		}
	}
	if (n < 1 || nkeys < 1 || threads < 1 || threads > 64) {
		fprintf(stderr, "rs-auth-bench: bad --n, --keys or --threads\n");
		return 2;
	}
	rs_log_init("auth-bench", RS_LOG_ERROR);
	setenv("RS_ADMIN_TOKEN", "bench-admin-token-0123456789abcdef", 1);
	setenv("RS_SESSION_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	       1);
	unsetenv("RS_SESSION_KEY_FILE");
	gw_server srv;
	memset(&srv, 0, sizeof(srv));
	if (gw_auth_open(&srv.s_auth, NULL) != 0) {
		fprintf(stderr, "rs-auth-bench: gw_auth_open failed\n");
		return 1;
	}
	/* nkeys live keys "rsk_bench-<i>"; requests use the one in the middle */
	gw_apikey *keys = calloc((size_t) nkeys, sizeof(*keys));
	char key[64], bearer_key[96], token[GW_SESSION_TOKEN_LEN + 1];
	for (long i = 0; i < nkeys; i++) {
		snprintf(key, sizeof(key), "rsk_bench-%ld-0123456789abcdef", i);
		gw_apikey_hash(key, keys[i].k_hash);
		snprintf(keys[i].k_name, sizeof(keys[i].k_name), "bench-%ld", i);
	}
	gw_authstore_keys_replace(gw_auth_store(srv.s_auth), keys, (size_t) nkeys);
	free(keys);
	snprintf(key, sizeof(key), "rsk_bench-%ld-0123456789abcdef", nkeys / 2);
	snprintf(bearer_key, sizeof(bearer_key), "Bearer %s", key);
	int64_t exp;
	gw_auth_session_start(srv.s_auth, 42, 0, token, sizeof(token), &exp);

	const bench_case cases[] = {
	        {"anonymous, public route", {NULL, NULL}, GW_ACCESS_PUBLIC, 0},
	        {"admin token",
	         {"Bearer bench-admin-token-0123456789abcdef", NULL},
	         GW_ACCESS_USER,
	         0},
	        {"API key", {bearer_key, NULL}, GW_ACCESS_USER, 0},
	        {"session cookie (own user)", {NULL, token}, GW_ACCESS_USER, 0},
	        {"wrong bearer token (401)",
	         {"Bearer rsk_nope-0123456789abcdef", NULL},
	         GW_ACCESS_USER,
	         -1},
	};
	printf("gw_auth_check: %ld checks x %ld thread(s), %ld live API keys\n", n, threads, nkeys);
	printf("| credential | ns per check |\n|---|---|\n");
	int fail = 0;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		bench_run runs[64];
		double t0 = now_s();
		for (long t = 0; t < threads; t++) {
			runs[t] = (bench_run){.srv = &srv, .c = &cases[c], .n = n};
			pthread_create(&runs[t].th, NULL, bench_thread, &runs[t]);
		}
		long bad = 0;
		for (long t = 0; t < threads; t++) {
			pthread_join(runs[t].th, NULL);
			bad += runs[t].bad;
		}
		double s = now_s() - t0;
		printf("| %s | %.0f |\n", cases[c].name, s * 1e9 / (double) n);
		if (bad != 0) {
			fprintf(stderr, "rs-auth-bench: %s: %ld checks gave the wrong answer\n",
			        cases[c].name, bad);
			fail = 1;
		}
	}
	gw_auth_close(srv.s_auth);
	return fail;
}
