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
