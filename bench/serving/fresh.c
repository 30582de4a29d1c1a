/* rs-serving-fresh: freshness of recommendations, measured over HTTP against the gateway.
 *
 *   rs-serving-fresh --url http://127.0.0.1:8080 [--n 100] [--type view] [--k 10]
 *                    [--user-base ID] [--timeout-ms 2000] [--key-file F]
 *   rs-serving-fresh --url URL --warm-users N [--warm-conns 8] [--key-file F]
 *
 * --key-file F: every request carries `Authorization: Bearer <the key in F>` (an API key:
 * recommendations and events need credentials).
 *
 * For each of --n brand-new users (ids --user-base + i; default derived from the clock so
 * reruns against the same database use unseen users): fetch the recommendations (k items),
 * POST one event of --type for the first recommended item, and from the moment the POST
 * returned poll the recommendations back to back until the list of item ids differs from the
 * first one. The time from the POST's return to the end of the first GET that shows the change
 * is the freshness of that event. Degraded answers are not counted as a change (polling goes
 * on). Prints one line:
 *   FRESH n=.. changed=.. unchanged=.. errors=.. degraded_polls=.. polls_per_event=..
 *         p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. post_p50_ms=.. post_p99_ms=..
 * Exit status 1 when any HTTP request failed or an event never showed (unchanged > 0).
 *
 * --warm-users N: instead, fetch the recommendations of users 1..N once each, in turn (the next
 * free connection asks for the next user), over --warm-conns parallel keep-alive connections
 * (the feature service loads a user's history from PostgreSQL on first sight: run.sh's cold
 * first pass) and print "WARM users=N seconds=S errors=E" and one RESULT line in the format of
 * recs.lua's (requests, seconds, rps, p50/p90/p99/p99.9/max latency in ms from send to the
 * whole answer, non2xx, degraded answers, sock_errors, timeouts). Exit status 1 on any failed
 * request. */
#include <curl/curl.h>
#include <jansson.h>

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FR_KMAX 100

/* The request headers every handle sends (the API key), NULL when none; read-only once made. */
static struct curl_slist *fr_auth;

typedef struct fr_buf {
	char *p;
	size_t n, cap;
} fr_buf;

static double
fr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static size_t
fr_write(char *data, size_t size, size_t nmemb, void *ud)
{
	fr_buf *b = ud;
	size_t n = size * nmemb;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16384;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (np == NULL)
			return 0;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* One HTTP exchange on the reused handle (keep-alive). Returns the status, or -1. */
static long
fr_http(CURL *h, const char *url, const char *post, fr_buf *b)
{
	long status = 0;
	b->n = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (post != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	if (curl_easy_perform(h) != CURLE_OK)
		return -1;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* Parses the recommendation list: item ids into ids (at most FR_KMAX), degraded flag. */
static int
fr_parse(const fr_buf *b, int64_t *ids, size_t *n, int *degraded)
{
	json_error_t err;
	json_t *root = json_loadb(b->p, b->n, 0, &err);
	json_t *items = json_object_get(root, "items");
	if (root == NULL || !json_is_array(items)) {
		json_decref(root);
		return -1;
	}
	*degraded = json_is_true(json_object_get(root, "degraded"));
	*n = 0;
	for (size_t i = 0; i < json_array_size(items) && *n < FR_KMAX; i++)
		ids[(*n)++] =
		        json_integer_value(json_object_get(json_array_get(items, i), "item_id"));
	json_decref(root);
	return 0;
}

static int
fr_cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static double
fr_pct(const double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t) (p / 100.0 * (double) (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

typedef struct fr_warm {
	const char *base;
	long k;
	atomic_long *next;
	long users;
	double *lat; /* users entries: latency of user u at lat[u - 1], ms; -1 = failed */
	long non2xx, degraded, sock_errors, timeouts;
	pthread_t th;
} fr_warm;

static void *
fr_warm_main(void *arg)
{
	fr_warm *w = arg;
	CURL *h = curl_easy_init();
	fr_buf b = {0};
	char url[512];
	if (h == NULL) {
		w->sock_errors++;
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fr_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (fr_auth != NULL)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, fr_auth);
	for (long u; (u = atomic_fetch_add(w->next, 1)) <= w->users;) {
		long st = 0;
		snprintf(url, sizeof(url), "%s/v1/users/%ld/recommendations?k=%ld", w->base, u,
		         w->k);
		double t0 = fr_now_ms();
		CURLcode rc;
		b.n = 0;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		rc = curl_easy_perform(h);
		w->lat[u - 1] = fr_now_ms() - t0;
		if (rc != CURLE_OK) {
			w->lat[u - 1] = -1;
			if (rc == CURLE_OPERATION_TIMEDOUT)
				w->timeouts++;
			else
				w->sock_errors++;
			continue;
		}
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
		if (st < 200 || st > 299)
			w->non2xx++;
		else if (b.p != NULL && strstr(b.p, "\"degraded\":true") != NULL)
			w->degraded++;
	}
	free(b.p);
	curl_easy_cleanup(h);
	return NULL;
}

/* Every user once over conns connections; returns the number of failed requests (non-2xx,
 * socket errors, timeouts), -1 when it could not run. */
static long
fr_warm_users(const char *base, long k, long users, long conns)
{
	fr_warm w[64];
	atomic_long next = 1;
	long non2xx = 0, degraded = 0, sock = 0, timeouts = 0, started = 0;
	double *lat = malloc((size_t) users * sizeof(*lat));
	size_t nok = 0;
	if (lat == NULL)
		return -1;
	if (conns > 64)
		conns = 64;
	double t0 = fr_now_ms();
	for (long i = 0; i < conns; i++, started++) {
		w[i] = (fr_warm){.base = base, .k = k, .next = &next, .users = users, .lat = lat};
		if (pthread_create(&w[i].th, NULL, fr_warm_main, &w[i]) != 0)
			break;
	}
	for (long i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		non2xx += w[i].non2xx;
		degraded += w[i].degraded;
		sock += w[i].sock_errors;
		timeouts += w[i].timeouts;
	}
	double secs = (fr_now_ms() - t0) / 1e3;
	if (started < conns) {
		free(lat);
		return -1;
	}
	for (long u = 0; u < users; u++) /* the answered requests' latencies, sorted */
		if (lat[u] >= 0)
			lat[nok++] = lat[u];
	qsort(lat, nok, sizeof(*lat), fr_cmp);
	printf("WARM users=%ld seconds=%.1f errors=%ld\n", users, secs, non2xx + sock + timeouts);
	printf("RESULT requests=%zu seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	       "p999_ms=%.3f max_ms=%.3f non2xx=%ld degraded=%ld sock_errors=%ld timeouts=%ld\n",
	       nok, secs, secs > 0 ? (double) nok / secs : 0.0, fr_pct(lat, nok, 50),
	       fr_pct(lat, nok, 90), fr_pct(lat, nok, 99), fr_pct(lat, nok, 99.9),
	       nok ? lat[nok - 1] : 0.0, non2xx, degraded, sock, timeouts);
	free(lat);
	return non2xx + sock + timeouts;
}

int
main(int argc, char **argv)
{
	const char *base = "http://127.0.0.1:8080", *type = "view", *key_file = NULL;
	long n = 100, k = 10, timeout_ms = 2000, warm_users = 0, warm_conns = 8;
	int64_t user_base = 0;
	static const struct option opts[] = {
	        {"url", required_argument, NULL, 'u'},
	        {"n", required_argument, NULL, 'n'},
	        {"type", required_argument, NULL, 't'},
	        {"k", required_argument, NULL, 'k'},
	        {"user-base", required_argument, NULL, 'b'},
	        {"timeout-ms", required_argument, NULL, 'T'},
	        {"warm-users", required_argument, NULL, 'w'},
	        {"warm-conns", required_argument, NULL, 'W'},
	        {"key-file", required_argument, NULL, 'K'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			base = optarg;
			break;
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 't':
			type = optarg;
			break;
		case 'k':
			k = strtol(optarg, NULL, 10);
			break;
		case 'b':
			user_base = strtoll(optarg, NULL, 10);
			break;
		case 'T':
			timeout_ms = strtol(optarg, NULL, 10);
			break;
		case 'w':
			warm_users = strtol(optarg, NULL, 10);
			break;
		case 'W':
			warm_conns = strtol(optarg, NULL, 10);
			break;
		case 'K':
			key_file = optarg;
			break;
		default:
			fprintf(stderr,
			        "usage: rs-serving-fresh --url URL [--n N] [--type T] [--k K] "
			        "[--user-base ID] [--timeout-ms MS] [--key-file F]\n");
			return 2;
		}
	}
	if (n < 1 || k < 1 || k > FR_KMAX || timeout_ms < 1) {
		fprintf(stderr, "rs-serving-fresh: bad --n, --k or --timeout-ms\n");
		return 2;
	}
	if (user_base <= 0)
		user_base = (int64_t) time(NULL) * 1000;

	if (key_file != NULL) {
		char key[600], hdr[640];
		FILE *f = fopen(key_file, "r");
		if (f == NULL || fgets(key, sizeof(key), f) == NULL) {
			fprintf(stderr, "rs-serving-fresh: cannot read --key-file %s\n", key_file);
			if (f != NULL)
				fclose(f);
			return 2;
		}
		fclose(f);
		key[strcspn(key, "\r\n")] = '\0';
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", key);
		fr_auth = curl_slist_append(NULL, hdr);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (warm_users > 0) {
		long e = fr_warm_users(base, k, warm_users, warm_conns < 1 ? 1 : warm_conns);
		curl_slist_free_all(fr_auth);
		curl_global_cleanup();
		return e != 0;
	}
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	for (struct curl_slist *a = fr_auth; a != NULL; a = a->next)
		hdrs = curl_slist_append(hdrs, a->data);
	fr_buf b = {0};
	double *fresh = calloc((size_t) n, sizeof(*fresh));
	double *post = calloc((size_t) n, sizeof(*post));
	if (h == NULL || hdrs == NULL || fresh == NULL || post == NULL) {
		fprintf(stderr, "rs-serving-fresh: out of memory\n");
		return 1;
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fr_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);

	size_t nfresh = 0, npost = 0;
	long unchanged = 0, errors = 0, degraded_polls = 0, polls = 0;
	char url[512], events_url[512], body[256];
	snprintf(events_url, sizeof(events_url), "%s/v1/events", base);
	for (long i = 0; i < n; i++) {
		int64_t user = user_base + i, before[FR_KMAX], after[FR_KMAX];
		size_t nb = 0, na = 0;
		int deg = 0;
		snprintf(url, sizeof(url), "%s/v1/users/%" PRId64 "/recommendations?k=%ld", base,
		         user, k);
		if (fr_http(h, url, NULL, &b) != 200 || fr_parse(&b, before, &nb, &deg) != 0 ||
		    nb == 0) {
			errors++;
			continue;
		}
		snprintf(body, sizeof(body),
		         "{\"user_id\":%" PRId64 ",\"item_id\":%" PRId64 ",\"type\":\"%s\"}", user,
		         before[0], type);
		double p0 = fr_now_ms();
		if (fr_http(h, events_url, body, &b) != 202 ||
		    strstr(b.p, "\"accepted\":1") == NULL) {
			fprintf(stderr, "rs-serving-fresh: event not accepted: %s\n",
			        b.p ? b.p : "");
			errors++;
			continue;
		}
		double t0 = fr_now_ms();
		post[npost++] = t0 - p0;
		for (;;) {
			long st = fr_http(h, url, NULL, &b);
			double t = fr_now_ms() - t0;
			polls++;
			if (st != 200 || fr_parse(&b, after, &na, &deg) != 0) {
				errors++;
				break;
			}
			if (deg) {
				degraded_polls++;
			} else if (na != nb || memcmp(after, before, na * sizeof(*after)) != 0) {
				fresh[nfresh++] = t;
				break;
			}
			if (t > (double) timeout_ms) {
				unchanged++;
				break;
			}
		}
	}
	qsort(fresh, nfresh, sizeof(*fresh), fr_cmp);
	qsort(post, npost, sizeof(*post), fr_cmp);
	printf("FRESH n=%ld changed=%zu unchanged=%ld errors=%ld degraded_polls=%ld "
	       "polls_per_event=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	       "post_p50_ms=%.2f post_p99_ms=%.2f\n",
	       n, nfresh, unchanged, errors, degraded_polls,
	       nfresh + (size_t) unchanged > 0
	               ? (double) polls / (double) (nfresh + (size_t) unchanged)
	               : 0.0,
	       fr_pct(fresh, nfresh, 50), fr_pct(fresh, nfresh, 90), fr_pct(fresh, nfresh, 99),
	       nfresh ? fresh[nfresh - 1] : 0.0, fr_pct(post, npost, 50), fr_pct(post, npost, 99));
	free(fresh);
	free(post);
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(fr_auth);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return errors > 0 || unchanged > 0 ? 1 : 0;
}
