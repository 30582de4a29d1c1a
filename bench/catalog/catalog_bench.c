/* rs-catalog-bench: the catalog API's freshness and the cost of impressions, over HTTP against
 * a running stack (bench/catalog/run.sh starts one on a generated shop).
 *
 *   rs-catalog-bench --url URL --token TOKEN --dsn DSN [--rounds 20] [--imp-requests 2000]
 *                    [--imp-conns 4] [--imp-items 10] [--gw-pid PID]
 *
 * Every request carries `Authorization: Bearer TOKEN` (the admin token: a writer). X is the most
 * popular item, C its category. Printed, one line each (times from the moment the write's HTTP
 * answer arrived, polling back to back):
 *   PRICE    PUT X with a new price -> GET /v1/popular?category=C (a live candidate call) shows it
 *   NEW      PUT a new item in C -> GET /v1/items/{new}/similar answers 200 (the candidate
 *            service knows it: its category peers, and the metadata source's new items)
 *   WITHDRAW DELETE X -> popular?category=C no longer lists it (X is put back after each round)
 *   PUT      the PUT round trip itself
 *   IMPRESSIONS --imp-requests POSTs of --imp-items items over --imp-conns connections: the
 *            rate, the gateway's CPU per impression (its /proc/PID/stat utime+stime, handler and
 *            writer thread together) and how long after the last 202 every row was in
 *            PostgreSQL.
 * Exit status 1 when a request failed or a change did not show within 5 s. */
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CB_WAIT_MS 5000.0

static const char *cb_url, *cb_dsn;
static char cb_auth[256];
static int cb_failed;

typedef struct cb_buf {
	char *p;
	size_t n;
} cb_buf;

static double
cb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static size_t
cb_write(char *ptr, size_t sz, size_t nm, void *ud)
{
	cb_buf *b = ud;
	size_t n = sz * nm;
	char *np = realloc(b->p, b->n + n + 1);
	if (np == NULL)
		return 0;
	memcpy(np + b->n, ptr, n);
	b->n += n;
	np[b->n] = '\0';
	b->p = np;
	return n;
}

/* One request on h; the status (0 on a transport error) and, with out, the parsed body. */
static long
cb_http(CURL *h, const char *method, const char *path, const char *body, json_t **out)
{
	char url[1024];
	cb_buf b = {0};
	struct curl_slist *hdr = NULL;
	long status = 0;
	json_error_t jerr;

	snprintf(url, sizeof(url), "%s%s", cb_url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	hdr = curl_slist_append(hdr, cb_auth);
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, body != NULL ? (long) strlen(body) : 0L);
	if (body == NULL)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	if (out != NULL)
		*out = b.p != NULL ? json_loads(b.p, 0, &jerr) : NULL;
	free(b.p);
	return status;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return (x > y) - (x < y);
}

static void
cb_report(const char *what, double *ms, int n)
{
	if (n == 0) {
		printf("%s n=0\n", what);
		return;
	}
	qsort(ms, (size_t) n, sizeof(*ms), cmp_double);
	printf("%s n=%d p50_ms=%.1f p90_ms=%.1f max_ms=%.1f\n", what, n, ms[n / 2],
	       ms[(int) (0.9 * (n - 1))], ms[n - 1]);
}

/* X's entry in answer (an items list), or NULL. */
static json_t *
cb_find(json_t *answer, long long id)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(answer, "items"), i, it)
	{
		if (json_integer_value(json_object_get(it, "item_id")) == id)
			return it;
	}
	return NULL;
}

typedef enum { W_PRICE, W_ABSENT, W_PRESENT, W_KNOWN } cb_want;

/* Polls until the condition holds: ms from now, or -1 after CB_WAIT_MS. */
static double
cb_poll(CURL *h, const char *path, long long id, cb_want want, double price)
{
	double t0 = cb_now_ms();
	while (cb_now_ms() - t0 < CB_WAIT_MS) {
		json_t *j = NULL;
		long st = cb_http(h, "GET", path, NULL, want == W_KNOWN ? NULL : &j);
		json_t *it = j != NULL ? cb_find(j, id) : NULL;
		int ok = want == W_KNOWN    ? st == 200
		         : want == W_ABSENT ? st == 200 && it == NULL
		         : want == W_PRESENT
		                 ? it != NULL
		                 : it != NULL &&
		                           json_number_value(json_object_get(it, "price")) >
		                                   price - 0.005 &&
		                           json_number_value(json_object_get(it, "price")) <
		                                   price + 0.005;
		json_decref(j);
		if (ok)
			return cb_now_ms() - t0;
	}
	cb_failed = 1;
	return -1;
}

/* ---- impressions ---- */

typedef struct imp_worker {
	int from, to, items;
	int errors;
	double last_ms;
} imp_worker;

static void *
imp_run(void *arg)
{
	imp_worker *w = arg;
	CURL *h = curl_easy_init();
	char *body = malloc(64 + (size_t) w->items * 48);
	for (int i = w->from; i < w->to; i++) {
		int n = sprintf(body,
		                "{\"rec_id\":\"bench-%d\",\"user_id\":%d,\"surface\":\"similar\","
		                "\"items\":[",
		                i, 1 + i % 1000);
		for (int k = 0; k < w->items; k++)
			n += sprintf(body + n, "%s{\"item_id\":%d,\"position\":%d}", k ? "," : "",
			             1 + (i * 7 + k) % 1000, k + 1);
		sprintf(body + n, "]}");
		if (cb_http(h, "POST", "/v1/impressions", body, NULL) != 202)
			w->errors++;
	}
	w->last_ms = cb_now_ms();
	free(body);
	curl_easy_cleanup(h);
	return NULL;
}

static long long
cb_ticks(int pid)
{
	char path[64];
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	/* field 2 (comm) has no spaces for rs-gateway */
	int got =
	        fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	fclose(f);
	return got == 2 ? (long long) (ut + st) : -1;
}

static long long
cb_rows(PGconn *pg)
{
	/* items shown: one row per list since 0007 */
	PGresult *r = PQexec(pg, "select coalesce(sum(cardinality(items)), 0) from impressions");
	long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoll(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}

static void
cb_impressions(int requests, int conns, int items, int gw_pid)
{
	PGconn *pg = PQconnectdb(cb_dsn);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "rs-catalog-bench: %s", PQerrorMessage(pg));
		cb_failed = 1;
		PQfinish(pg);
		return;
	}
	imp_worker *w = calloc((size_t) conns, sizeof(*w));
	pthread_t *th = calloc((size_t) conns, sizeof(*th));
	long long rows0 = cb_rows(pg), t0 = gw_pid > 0 ? cb_ticks(gw_pid) : -1;
	double start = cb_now_ms(), last = 0;
	for (int c = 0; c < conns; c++) {
		w[c] = (imp_worker){requests * c / conns, requests * (c + 1) / conns, items, 0, 0};
		pthread_create(&th[c], NULL, imp_run, &w[c]);
	}
	int errors = 0;
	for (int c = 0; c < conns; c++) {
		pthread_join(th[c], NULL);
		errors += w[c].errors;
		last = w[c].last_ms > last ? w[c].last_ms : last;
	}
	long long want = rows0 + (long long) (requests - errors) * items, rows = rows0;
	while ((rows = cb_rows(pg)) < want && cb_now_ms() - last < 30000)
		usleep(2000);
	double drained = cb_now_ms() - last;
	long long t1 = gw_pid > 0 ? cb_ticks(gw_pid) : -1;
	double secs = (last - start) / 1000, hz = (double) sysconf(_SC_CLK_TCK);
	long long total = (long long) requests * items;
	printf("IMPRESSIONS requests=%d items_per_request=%d conns=%d errors=%d seconds=%.2f "
	       "impressions_per_s=%.0f requests_per_s=%.0f gw_cpu_us_per_impression=%.2f "
	       "stored=%lld/%lld drained_ms_after_last_202=%.0f\n",
	       requests, items, conns, errors, secs, (double) total / secs, requests / secs,
	       t0 >= 0 && t1 >= 0 ? (double) (t1 - t0) / hz * 1e6 / (double) total : -1.0,
	       rows - rows0, want - rows0, drained);
	if (errors > 0 || rows < want)
		cb_failed = 1;
	free(w);
	free(th);
	PQfinish(pg);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"url", 1, 0, 'u'},       {"token", 1, 0, 't'},        {"dsn", 1, 0, 'd'},
	        {"rounds", 1, 0, 'r'},    {"imp-requests", 1, 0, 'n'}, {"imp-conns", 1, 0, 'c'},
	        {"imp-items", 1, 0, 'i'}, {"gw-pid", 1, 0, 'p'},       {0, 0, 0, 0},
	};
	int rounds = 20, requests = 2000, conns = 4, items = 10, gw_pid = 0, o;
	const char *token = NULL;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			cb_url = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'd':
			cb_dsn = optarg;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'n':
			requests = atoi(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'i':
			items = atoi(optarg);
			break;
		case 'p':
			gw_pid = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (cb_url == NULL || token == NULL || cb_dsn == NULL || rounds < 1 || conns < 1 ||
	    items < 1 || items > 100) {
		fprintf(stderr, "usage: rs-catalog-bench --url URL --token TOKEN --dsn DSN "
		                "[--rounds N] [--imp-requests N] [--imp-conns N] [--imp-items N] "
		                "[--gw-pid PID]\n");
		return 2;
	}
	snprintf(cb_auth, sizeof(cb_auth), "Authorization: Bearer %s", token);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *h = curl_easy_init();

	/* X, the most popular item, and its row */
	json_t *pop = NULL, *item = NULL;
	char path[512], cat_path[512], body[2048];
	if (cb_http(h, "GET", "/v1/popular?k=1", NULL, &pop) != 200 ||
	    json_array_size(json_object_get(pop, "items")) == 0) {
		fprintf(stderr, "rs-catalog-bench: no popular list\n");
		return 1;
	}
	long long x = json_integer_value(
	        json_object_get(json_array_get(json_object_get(pop, "items"), 0), "item_id"));
	json_decref(pop);
	snprintf(path, sizeof(path), "/v1/items/%lld", x);
	if (cb_http(h, "GET", path, NULL, &item) != 200) {
		fprintf(stderr, "rs-catalog-bench: GET %s failed\n", path);
		return 1;
	}
	char *cat = curl_easy_escape(h, json_string_value(json_object_get(item, "category")), 0);
	snprintf(cat_path, sizeof(cat_path), "/v1/popular?k=100&category=%s", cat);
	curl_free(cat);
	double price0 = json_number_value(json_object_get(item, "price"));
	double *ms = calloc((size_t) rounds, sizeof(*ms)),
	       *put = calloc((size_t) rounds, sizeof(*put));
	int n = 0;

	for (int r = 0; r < rounds; r++) {
		double price = price0 + 0.01 * (r + 1);
		json_object_set_new(item, "price", json_real(price));
		char *text = json_dumps(item, JSON_COMPACT);
		double t0 = cb_now_ms();
		long st = cb_http(h, "PUT", path, text, NULL);
		put[r] = cb_now_ms() - t0;
		free(text);
		if (st != 200) {
			cb_failed = 1;
			continue;
		}
		double d = cb_poll(h, cat_path, x, W_PRICE, price);
		if (d >= 0)
			ms[n++] = d;
	}
	cb_report("PRICE", ms, n);
	cb_report("PUT", put, rounds);

	char *cat_json = json_dumps(json_object_get(item, "category"), JSON_ENCODE_ANY);
	n = 0;
	for (int r = 0; r < rounds && cat_json != NULL; r++) {
		long long id = 900000000LL + (long long) getpid() % 100000 * 100 + r;
		char np[96];
		snprintf(np, sizeof(np), "/v1/items/%lld", id);
		snprintf(body, sizeof(body),
		         "{\"title\": \"Bench New %d\", \"category\": %s, \"price\": 10}", r,
		         cat_json);
		if (cb_http(h, "PUT", np, body, NULL) != 200) {
			cb_failed = 1;
			continue;
		}
		snprintf(np, sizeof(np), "/v1/items/%lld/similar?k=10", id);
		double d = cb_poll(h, np, 0, W_KNOWN, 0);
		if (d >= 0)
			ms[n++] = d;
	}
	free(cat_json);
	cb_report("NEW", ms, n);

	n = 0;
	for (int r = 0; r < rounds; r++) {
		if (cb_http(h, "DELETE", path, NULL, NULL) != 200) {
			cb_failed = 1;
			break;
		}
		double d = cb_poll(h, cat_path, x, W_ABSENT, 0);
		if (d >= 0)
			ms[n++] = d;
		json_object_set_new(item, "available", json_true());
		char *text = json_dumps(item, JSON_COMPACT);
		cb_http(h, "PUT", path, text, NULL);
		free(text);
		cb_poll(h, cat_path, x, W_PRESENT, 0);
	}
	cb_report("WITHDRAW", ms, n);
	json_object_set_new(item, "price", json_real(price0));
	char *text = json_dumps(item, JSON_COMPACT);
	cb_http(h, "PUT", path, text, NULL);
	free(text);
	json_decref(item);
	free(ms);
	free(put);
	curl_easy_cleanup(h);

	if (requests > 0)
		cb_impressions(requests, conns, items, gw_pid);
	curl_global_cleanup();
	return cb_failed ? 1 : 0;
}
