/* rs_metrics_http: the services' own /metrics listener, over real HTTP (libcurl). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_metrics.h"
#include "rs_metrics_http.h"

typedef struct mh_reply {
	long status;
	char body[65536];
	size_t len;
	char ctype[128];
} mh_reply;

static size_t
mh_write(char *p, size_t sz, size_t n, void *ud)
{
	mh_reply *r = ud;
	size_t k = sz * n;
	if (r->len + k >= sizeof(r->body))
		k = sizeof(r->body) - 1 - r->len;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return sz * n;
}

static void
mh_get(int port, const char *method, const char *path, mh_reply *r)
{
	char url[128];
	char *ct = NULL;
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	CURL *c = curl_easy_init();
	cr_assert_not_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mh_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s failed", method, url);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(r->ctype, sizeof(r->ctype), "%s", ct != NULL ? ct : "");
	curl_easy_cleanup(c);
}

Test(metrics_http, serves_the_registry_with_the_service_label)
{
	rs_metrics_http *h = NULL;
	mh_reply r;
	rs_metric *c = rs_metrics_counter("t_mh_requests_total", "test", "method=\"x\"");
	rs_metric *hist = rs_metrics_histogram("t_mh_ms", "test", NULL);

	cr_assert_eq(rs_metrics_http_start(&h, "127.0.0.1:0", "svcx"), 0);
	int port = rs_metrics_http_port(h);
	cr_assert_gt(port, 0);
	rs_metric_add(c, 3);
	rs_metric_observe(hist, 2.0);
	mh_get(port, "GET", "/metrics", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	cr_assert_not_null(strstr(r.body, "t_mh_requests_total{method=\"x\",svc=\"svcx\"} 3\n"),
	                   "%s", r.body);
	cr_assert_not_null(strstr(r.body, "t_mh_ms_count{svc=\"svcx\"} 1\n"), "%s", r.body);
	/* the next scrape sees the counters move */
	rs_metric_add(c, 2);
	mh_get(port, "GET", "/metrics", &r);
	cr_assert_not_null(strstr(r.body, "t_mh_requests_total{method=\"x\",svc=\"svcx\"} 5\n"),
	                   "%s", r.body);
	rs_metrics_http_stop(h);
}

Test(metrics_http, healthz_and_errors)
{
	rs_metrics_http *h = NULL;
	mh_reply r;

	cr_assert_eq(rs_metrics_http_start(&h, "127.0.0.1:0", "svcx"), 0);
	int port = rs_metrics_http_port(h);
	mh_get(port, "GET", "/healthz", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"status\":\"ok\"}");
	cr_assert_str_eq(r.ctype, "application/json");
	mh_get(port, "GET", "/readyz", &r);
	cr_assert_eq(r.status, 404);
	cr_assert_not_null(strstr(r.body, "{\"error\":{\"code\":\"not_found\",\"message\":"), "%s",
	                   r.body);
	mh_get(port, "POST", "/metrics", &r);
	cr_assert_eq(r.status, 405);
	cr_assert_not_null(strstr(r.body, "\"code\":\"method_not_allowed\""), "%s", r.body);
	rs_metrics_http_stop(h);
}

Test(metrics_http, addresses)
{
	rs_metrics_http *h = (rs_metrics_http *) 1, *h2 = NULL;

	/* "off" (or "") = no listener */
	cr_assert_eq(rs_metrics_http_start(&h, "off", "svcx"), 0);
	cr_assert_null(h);
	h = (rs_metrics_http *) 1;
	cr_assert_eq(rs_metrics_http_start(&h, "", "svcx"), 0);
	cr_assert_null(h);
	cr_assert_eq(rs_metrics_http_port(NULL), 0);
	rs_metrics_http_stop(NULL);
	cr_assert_eq(rs_metrics_http_start(&h, "localhost:9100", "svcx"), RS_EINVAL);
	cr_assert_eq(rs_metrics_http_start(&h, "127.0.0.1", "svcx"), RS_EINVAL);
	cr_assert_eq(rs_metrics_http_start(&h, "127.0.0.1:70000", "svcx"), RS_EINVAL);
	cr_assert_eq(rs_metrics_http_start(&h, "127.0.0.1:9x", "svcx"), RS_EINVAL);
	/* a port in use */
	cr_assert_eq(rs_metrics_http_start(&h, "127.0.0.1:0", "svcx"), 0);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", rs_metrics_http_port(h));
	cr_assert_eq(rs_metrics_http_start(&h2, addr, "svcx"), RS_EEXIST);
	cr_assert_null(h2);
	rs_metrics_http_stop(h);
	/* IPv6 loopback, when the machine has it */
	if (rs_metrics_http_start(&h, "[::1]:0", "svcx") == 0) {
		cr_assert_gt(rs_metrics_http_port(h), 0);
		rs_metrics_http_stop(h);
	}
}
