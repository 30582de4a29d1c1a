/* The web UI's files served by the gateway (static.c): content types, caching, the UI's routes
 * falling back to index.html, precompressed siblings, API routes unchanged, traversal refused. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_fixture.h"
#include "gateway.h"
#include "rs_log.h"

static gw_server *gw;
static char root[256], ui[300], base[64];

typedef struct s_resp {
	long status;
	char *body;
	size_t len;
	char hdrs[4096];
	size_t hlen;
} s_resp;

static void
put_file(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static size_t
s_write(char *p, size_t size, size_t n, void *ud)
{
	s_resp *r = ud;
	char *nb = realloc(r->body, r->len + size * n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, size * n);
	r->body = nb;
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static size_t
s_header(char *p, size_t size, size_t n, void *ud)
{
	s_resp *r = ud;
	size_t k = size * n;
	if (r->hlen + k < sizeof(r->hdrs)) {
		memcpy(r->hdrs + r->hlen, p, k);
		r->hlen += k;
		r->hdrs[r->hlen] = '\0';
	}
	return k;
}

/* The value of response header name (case-insensitive) into out; "" when absent. */
static const char *
s_hdr(const s_resp *r, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	for (const char *l = r->hdrs; l != NULL && *l != '\0';) {
		const char *e = strstr(l, "\r\n");
		if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *v = l + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = e != NULL ? (size_t) (e - v) : strlen(v);
			snprintf(out, n, "%.*s", (int) vl, v);
			return out;
		}
		l = e != NULL ? e + 2 : NULL;
	}
	return out;
}

static void
s_get(const char *method, const char *path, const char *hdr, s_resp *r)
{
	char url[512];
	struct curl_slist *h = NULL;
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", base, path);
	CURL *c = curl_easy_init();
	cr_assert_not_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* send "/../" as written */
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (hdr != NULL)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s", method, path);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (r->body == NULL)
		r->body = calloc(1, 1);
}

static void
setup(void)
{
	snprintf(root, sizeof(root), "/tmp/gw-static-%d", (int) getpid());
	snprintf(ui, sizeof(ui), "%s/dist", root);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/assets", root, ui);
	cr_assert_eq(system(cmd), 0);
	put_file("secret.txt", "outside the UI folder");
	put_file("dist/index.html", "<!doctype html><title>shop</title>");
	put_file("dist/favicon.svg", "<svg/>");
	put_file("dist/assets/app-1a2b3c.js", "console.log('app')");
	put_file("dist/assets/app-1a2b3c.js.gz", "GZIP-BYTES");
	put_file("dist/assets/app-1a2b3c.js.br", "BROTLI-BYTES");
	put_file("dist/assets/style-9f8e.css", "body{}");
	put_file("dist/.env", "SECRET=1");
	char link[512];
	snprintf(link, sizeof(link), "%s/assets/leak.txt", ui);
	char target[512];
	snprintf(target, sizeof(target), "%s/secret.txt", root);
	cr_assert_eq(symlink(target, link), 0);

	gw_config cfg = t_config();
	cfg.max_body = 4096;
	cfg.popular_refresh_ms = 1000;
	cfg.pg_pool = 1;
	cfg.pg_timeout_ms = 200;
	cfg.ui_dir = ui;
	rs_log_init("gateway-static-test", RS_LOG_WARN);
	cr_assert_eq(gw_server_open(&gw, &cfg), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", gw_server_port(gw));
}

static void
teardown(void)
{
	gw_server_close(gw);
	gw = NULL;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
}

TestSuite(gateway_static, .init = setup, .fini = teardown, .timeout = 20);

Test(gateway_static, index_and_ui_routes_are_html_that_must_be_revalidated)
{
	const char *paths[] = {"/", "/index.html", "/item/42", "/admin/models", "/search"};
	char v[256];
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		s_resp r;
		s_get("GET", paths[i], NULL, &r);
		cr_assert_eq(r.status, 200, "%s: %ld", paths[i], r.status);
		cr_assert_str_eq(r.body, "<!doctype html><title>shop</title>", "%s", paths[i]);
		cr_assert_str_eq(s_hdr(&r, "Content-Type", v, sizeof(v)),
		                 "text/html; charset=utf-8");
		cr_assert_str_eq(s_hdr(&r, "Cache-Control", v, sizeof(v)), "no-cache");
		cr_assert(strstr(s_hdr(&r, "Content-Security-Policy", v, sizeof(v)),
		                 "default-src 'self'") != NULL);
		cr_assert_str_eq(s_hdr(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
		free(r.body);
	}
}

Test(gateway_static, hashed_assets_are_immutable_with_their_content_type)
{
	char v[256];
	s_resp r;
	s_get("GET", "/assets/app-1a2b3c.js", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "console.log('app')");
	cr_assert_str_eq(s_hdr(&r, "Content-Type", v, sizeof(v)), "text/javascript; charset=utf-8");
	cr_assert_str_eq(s_hdr(&r, "Cache-Control", v, sizeof(v)),
	                 "public, max-age=31536000, immutable");
	cr_assert_str_eq(s_hdr(&r, "Content-Encoding", v, sizeof(v)), "");
	free(r.body);
	s_get("GET", "/assets/style-9f8e.css", NULL, &r);
	cr_assert_str_eq(s_hdr(&r, "Content-Type", v, sizeof(v)), "text/css; charset=utf-8");
	free(r.body);
	s_get("GET", "/favicon.svg", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(s_hdr(&r, "Content-Type", v, sizeof(v)), "image/svg+xml");
	cr_assert_str_eq(s_hdr(&r, "Cache-Control", v, sizeof(v)), "no-cache");
	free(r.body);
}

Test(gateway_static, precompressed_siblings_follow_accept_encoding)
{
	char v[256], etag_plain[128], etag_gz[128];
	s_resp r;
	s_get("GET", "/assets/app-1a2b3c.js", "Accept-Encoding: gzip, deflate", &r);
	cr_assert_str_eq(r.body, "GZIP-BYTES");
	cr_assert_str_eq(s_hdr(&r, "Content-Encoding", v, sizeof(v)), "gzip");
	cr_assert_str_eq(s_hdr(&r, "Vary", v, sizeof(v)), "Accept-Encoding");
	cr_assert_str_eq(s_hdr(&r, "Content-Type", v, sizeof(v)), "text/javascript; charset=utf-8");
	s_hdr(&r, "ETag", etag_gz, sizeof(etag_gz));
	free(r.body);
	s_get("GET", "/assets/app-1a2b3c.js", "Accept-Encoding: gzip;q=0.5, br", &r);
	cr_assert_str_eq(r.body, "BROTLI-BYTES");
	cr_assert_str_eq(s_hdr(&r, "Content-Encoding", v, sizeof(v)), "br");
	free(r.body);
	s_get("GET", "/assets/app-1a2b3c.js", "Accept-Encoding: br;q=0, gzip;q=0", &r);
	cr_assert_str_eq(r.body, "console.log('app')", "q=0 refuses an encoding");
	s_hdr(&r, "ETag", etag_plain, sizeof(etag_plain));
	free(r.body);
	cr_assert_str_neq(etag_plain, etag_gz, "each encoding has its own ETag");
	s_get("GET", "/index.html", "Accept-Encoding: gzip", &r); /* no sibling: plain */
	cr_assert_str_eq(r.body, "<!doctype html><title>shop</title>");
	cr_assert_str_eq(s_hdr(&r, "Content-Encoding", v, sizeof(v)), "");
	free(r.body);
}

Test(gateway_static, etag_revalidation_answers_304_and_head_has_no_body)
{
	char etag[128], hdr[200], v[64];
	s_resp r;
	s_get("GET", "/", NULL, &r);
	s_hdr(&r, "ETag", etag, sizeof(etag));
	cr_assert_neq(etag[0], '\0');
	free(r.body);
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
	s_get("GET", "/", hdr, &r);
	cr_assert_eq(r.status, 304);
	cr_assert_eq(r.len, 0);
	free(r.body);
	s_get("GET", "/", "If-None-Match: \"other\"", &r);
	cr_assert_eq(r.status, 200);
	free(r.body);
	s_get("HEAD", "/assets/app-1a2b3c.js", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, 0);
	cr_assert_str_eq(s_hdr(&r, "Content-Length", v, sizeof(v)), "18");
	free(r.body);
}

Test(gateway_static, traversal_dotfiles_and_escaping_symlinks_are_refused)
{
	const char *bad[] = {"/../secret.txt",
	                     "/assets/../../secret.txt",
	                     "/%2e%2e/secret.txt",
	                     "/assets/%2e%2e/%2e%2e/secret.txt",
	                     "/.env",
	                     "/assets/..%2f..%2fsecret.txt",
	                     "/assets//app-1a2b3c.js",
	                     "/assets\\..\\secret.txt"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s_resp r;
		s_get("GET", bad[i], NULL, &r);
		cr_assert(r.status == 400 || r.status == 404, "%s: %ld", bad[i], r.status);
		cr_assert(strstr(r.body, "outside the UI folder") == NULL, "%s leaked", bad[i]);
		cr_assert(strstr(r.body, "SECRET") == NULL, "%s leaked", bad[i]);
		cr_assert(strstr(r.body, "\"error\"") != NULL, "%s: %s", bad[i], r.body);
		free(r.body);
	}
	s_resp r;
	s_get("GET", "/assets/leak.txt", NULL, &r); /* a symlink that points outside */
	cr_assert_eq(r.status, 404);
	cr_assert(strstr(r.body, "outside") == NULL);
	free(r.body);
	s_get("GET", "/assets/missing-0000.js", NULL, &r); /* a file name: no index fallback */
	cr_assert_eq(r.status, 404);
	cr_assert(strstr(r.body, "\"not_found\"") != NULL);
	free(r.body);
}

Test(gateway_static, api_paths_keep_their_json_answers)
{
	char v[128];
	s_resp r;
	s_get("GET", "/v1/no-such-route", NULL, &r);
	cr_assert_eq(r.status, 404);
	cr_assert(strstr(r.body, "\"not_found\"") != NULL);
	cr_assert_str_eq(s_hdr(&r, "Content-Type", v, sizeof(v)), "application/json");
	free(r.body);
	s_get("GET", "/healthz", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "\"ok\"") != NULL);
	free(r.body);
	s_get("POST", "/v1/popular", NULL, &r);
	cr_assert_eq(r.status, 405);
	free(r.body);
	s_get("POST", "/item/42", NULL, &r); /* the UI is read-only */
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(s_hdr(&r, "Content-Type", v, sizeof(v)), "application/json");
	free(r.body);
}
