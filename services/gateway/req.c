#include "req.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
gw_req_init(gw_req *r, gw_server *srv, const gw_req_io *io, void *conn, const char *method,
            const char *path)
{
	memset(r, 0, sizeof(*r));
	r->r_srv = srv;
	r->r_io = io;
	r->r_conn = conn;
	r->r_method = method;
	r->r_path = path;
	r->r_body = "";
	r->r_route = "not_found";
	r->r_ctype = "application/json";
	r->r_resp_fd = -1;
}

static int
req_hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* Checks the escapes of s[0..n) (no %00, every % followed by two hex digits); decodes it into
 * out (outn bytes, '+' as a space) when out is not NULL. Returns 0, -1 (bad escape), -2 (NUL)
 * or -3 (does not fit). */
static int
req_decode_as(const char *s, size_t n, int plus_is_space, char *out, size_t outn)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n || req_hex(s[i + 1]) < 0 || req_hex(s[i + 2]) < 0)
				return -1;
			c = (char) (req_hex(s[i + 1]) * 16 + req_hex(s[i + 2]));
			if (c == '\0')
				return -2;
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (out != NULL) {
			if (o + 1 >= outn)
				return -3;
			out[o++] = c;
		}
	}
	if (out != NULL)
		out[o] = '\0';
	return 0;
}

/* a query string's part: '+' is a space there (form encoding) */
static int
req_decode(const char *s, size_t n, char *out, size_t outn)
{
	return req_decode_as(s, n, 1, out, outn);
}

int
gw_req_segment(const char *s, size_t n, char *out)
{
	return req_decode_as(s, n, 0, out, n + 1) == 0 ? 0 : -1;
}

unsigned
gw_req_target(const char *uri, char *path, char *err, size_t errn)
{
	const char *q = strchr(uri, '?');
	size_t plen = q != NULL ? (size_t) (q - uri) : strlen(uri);
	char keys[GW_QUERY_MAX][64];
	int nkeys = 0, rv;

	if (plen == 0 || uri[0] != '/') {
		snprintf(err, errn, "the request path must start with \"/\"");
		return 400;
	}
	if (plen >= GW_PATH_MAX) {
		snprintf(err, errn, "the request path is %zu bytes long (at most %d)", plen,
		         GW_PATH_MAX - 1);
		return 414;
	}
	if ((rv = req_decode(uri, plen, NULL, 0)) != 0) {
		snprintf(err, errn, "the request path has %s",
		         rv == -2 ? "an encoded NUL (%00)" : "a malformed percent-escape");
		return 400;
	}
	memcpy(path, uri, plen);
	path[plen] = '\0';
	for (const char *p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0';) {
		const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t) (end - p));
		const char *kend = eq != NULL ? eq : end;
		if (end > p) {
			char key[64];
			if ((rv = req_decode(p, (size_t) (end - p), NULL, 0)) != 0) {
				snprintf(err, errn, "the query string has %s",
				         rv == -2 ? "an encoded NUL (%00)"
				                  : "a malformed percent-escape");
				return 400;
			}
			if (req_decode(p, (size_t) (kend - p), key, sizeof(key)) != 0) {
				snprintf(err, errn,
				         "a query parameter name is longer than %zu bytes",
				         sizeof(key) - 1);
				return 400;
			}
			for (int k = 0; k < nkeys; k++)
				if (strcmp(keys[k], key) == 0) {
					snprintf(
					        err, errn,
					        "query parameter \"%.63s\" is given more than once",
					        key);
					return 400;
				}
			if (nkeys == GW_QUERY_MAX) {
				snprintf(err, errn, "more than %d query parameters", GW_QUERY_MAX);
				return 400;
			}
			memcpy(keys[nkeys++], key, sizeof(key));
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

const char *
gw_req_query(gw_req *r, const char *key)
{
	return r->r_io != NULL ? r->r_io->query(r->r_conn, key) : NULL;
}

const char *
gw_req_header(gw_req *r, const char *name)
{
	return r->r_io != NULL ? r->r_io->header(r->r_conn, name) : NULL;
}

const char *
gw_req_cookie(gw_req *r, const char *name)
{
	return r->r_io != NULL ? r->r_io->cookie(r->r_conn, name) : NULL;
}

int
gw_req_client(gw_req *r, char *buf, size_t n)
{
	if (r->r_io == NULL || r->r_io->client(r->r_conn, buf, n) != 0) {
		if (n > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

int
gw_reply_header(gw_req *r, const char *name, const char *value)
{
	size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
	if (r->r_hdrs_len + nl + vl > sizeof(r->r_hdrs))
		return -1;
	memcpy(r->r_hdrs + r->r_hdrs_len, name, nl);
	memcpy(r->r_hdrs + r->r_hdrs_len + nl, value, vl);
	r->r_hdrs_len += nl + vl;
	return 0;
}

void
gw_reply_clear(gw_req *r)
{
	free(r->r_resp);
	r->r_resp = NULL;
	r->r_resp_len = 0;
	if (r->r_resp_fd >= 0)
		close(r->r_resp_fd);
	r->r_resp_fd = -1;
	r->r_hdrs_len = 0;
	r->r_cache = NULL;
}

void
gw_reply_text(gw_req *r, unsigned status, const char *ctype, char *text, size_t len)
{
	free(r->r_resp);
	if (r->r_resp_fd >= 0)
		close(r->r_resp_fd);
	r->r_resp_fd = -1;
	r->r_status = status;
	r->r_ctype = ctype;
	r->r_resp = text;
	r->r_resp_len = len;
}

void
gw_reply_file(gw_req *r, unsigned status, const char *ctype, int fd, size_t size)
{
	gw_reply_text(r, status, ctype, NULL, 0);
	r->r_resp_fd = fd;
	r->r_resp_len = size;
}

void
gw_reply_json(gw_req *r, unsigned status, json_t *body)
{
	char *s = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	json_decref(body);
	if (s == NULL) {
		gw_reply_error(r, 500, "internal", "cannot render reply");
		return;
	}
	gw_reply_text(r, status, "application/json", s, strlen(s));
}

void
gw_reply_jw(gw_req *r, unsigned status, gw_jw *w)
{
	size_t len = 0;
	char *s = gw_jw_take(w, &len);
	if (s == NULL) {
		gw_reply_error(r, 500, "internal", "cannot render reply");
		return;
	}
	gw_reply_text(r, status, "application/json", s, len);
}

void
gw_reply_error(gw_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	static const char oom[] =
	        "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gw_jw w;
	gw_jw_init(&w, 128 + strlen(msg));
	gw_jw_lit(&w, "{\"error\":{\"code\":");
	gw_jw_str(&w, code);
	gw_jw_lit(&w, ",\"message\":");
	gw_jw_str(&w, msg);
	gw_jw_lit(&w, "}}");
	size_t len = 0;
	char *s = gw_jw_take(&w, &len);
	if (s == NULL && (s = strdup(oom)) != NULL) {
		status = 500;
		len = sizeof(oom) - 1;
	}
	gw_reply_text(r, status, "application/json", s, s != NULL ? len : 0);
}
