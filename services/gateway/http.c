#include "http.h"
#include "metrics.h"
#include "req.h"
#include "router.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_mhd.h"
#include "rs_proc.h"
#include "rs_time.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_MAX_HEADER_DEFAULT 8192
#define HTTP_MHD_POOL_MIN       (32 * 1024) /* MHD's own default */

struct gw_http {
	struct MHD_Daemon *h_daemon;
	gw_server *h_srv;
	size_t h_max_body;
	size_t h_max_header; /* request header bytes (names, values, ": " and CRLF) */
	int h_port;
	int h_access_log;
	atomic_int h_inflight;
	atomic_int h_closing; /* set by gw_http_close: new requests get 503 */
};

/* One per HTTP request (MHD's con_cls), from the first access-handler call to the
 * request-completed notification. */
typedef struct http_ctx {
	gw_req c_req;
	char *c_uri;   /* the request target as sent (http_uri_log), NULL when out of memory */
	int c_started; /* the access handler has seen the headers */
	char c_path[GW_PATH_MAX]; /* the path routed: still percent-encoded (gw_req_target) */
	char *c_body;
	size_t c_len, c_cap;
	int c_too_big;
	int c_queued;
	double c_t0;
} http_ctx;

static const char *
http_query(void *conn, const char *key)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static const char *
http_header(void *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static const char *
http_cookie(void *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, name);
}

static int
http_client(void *conn, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return -1;
	const struct sockaddr *sa = ci->client_addr;
	const void *a = sa->sa_family == AF_INET6
	                        ? (const void *) &((const struct sockaddr_in6 *) sa)->sin6_addr
	                        : (const void *) &((const struct sockaddr_in *) sa)->sin_addr;
	return inet_ntop(sa->sa_family, a, buf, (socklen_t) n) != NULL ? 0 : -1;
}

static const gw_req_io http_io = {http_query, http_header, http_cookie, http_client};

static enum MHD_Result
http_header_bytes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *n = cls;
	(void) kind;
	*n += strlen(key) + (value != NULL ? strlen(value) : 0) + 4; /* "k: v\r\n" */
	return MHD_YES;
}

/* A client's X-Request-Id is reused only when it is short and plain, so it is safe to log
 * and to echo; anything else gets a fresh random id. */
static void
http_request_id(struct MHD_Connection *conn, char *out)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	size_t n = h != NULL ? strlen(h) : 0;
	int ok = n > 0 && n <= GW_REQID_MAX;
	for (size_t i = 0; ok && i < n; i++) {
		char ch = h[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == ':';
	}
	if (ok)
		memcpy(out, h, n + 1);
	else
		rs_proc_random_id(out, 17);
}

static enum MHD_Result
http_queue(struct MHD_Connection *conn, http_ctx *c)
{
	gw_req *r = &c->c_req;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->r_status == 0) { /* no handler replied */
		free(r->r_resp);
		r->r_status = 500;
		r->r_ctype = "application/json";
		r->r_resp = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"no reply\"}}");
		r->r_resp_len = r->r_resp != NULL ? strlen(r->r_resp) : 0;
	}
	if (r->r_resp_fd >= 0) {
		resp = MHD_create_response_from_fd((uint64_t) r->r_resp_len, r->r_resp_fd);
		if (resp == NULL)
			return MHD_NO; /* the fd is still ours; closed on completion */
		r->r_resp_fd = -1;     /* MHD closes it with the response */
	} else {
		resp = MHD_create_response_from_buffer(
		        r->r_resp_len, r->r_resp != NULL ? r->r_resp : "",
		        r->r_resp != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return MHD_NO; /* r_resp is still ours; freed on completion */
		r->r_resp = NULL;      /* MHD frees it with the response */
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->r_ctype);
	MHD_add_response_header(resp, "X-Request-Id", r->r_request_id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	                        r->r_cache != NULL ? r->r_cache : "no-store");
	for (size_t off = 0; off < r->r_hdrs_len;) {
		const char *name = r->r_hdrs + off;
		const char *value = name + strlen(name) + 1;
		MHD_add_response_header(resp, name, value);
		off = (size_t) (value - r->r_hdrs) + strlen(value) + 1;
	}
	if (r->r_allow[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->r_allow);
	if (strncmp(r->r_ctype, "application/json", 16) == 0) {
		/* a JSON answer is data, never a page: nothing in it may load, run or be framed
		 * (the UI's own pages get their policy from static.c) */
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(resp, "Content-Security-Policy",
		                        "default-src 'none'; frame-ancestors 'none'");
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	}
	if (r->r_status == 401) /* RFC 7235: a 401 names the scheme the client must use */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        r->r_challenge != NULL ? r->r_challenge
		                                               : "Bearer realm=\"recsys\"");
	ret = MHD_queue_response(conn, r->r_status, resp);
	MHD_destroy_response(resp);
	c->c_queued = 1;
	return ret;
}

static void
http_dispatch(gw_http *h, http_ctx *c)
{
	gw_req *r = &c->c_req;

	if (c->c_too_big) {
		gw_reply_error(r, 413, "payload_too_large", "request body exceeds %zu bytes",
		               h->h_max_body);
		return;
	}
	r->r_body = c->c_body != NULL ? c->c_body : "";
	r->r_body_len = c->c_len;
	if (rs_arena_create(&r->r_arena, 32 * 1024) != 0) {
		gw_reply_error(r, 503, "overloaded", "out of memory");
		return;
	}
	gw_route_dispatch(h->h_srv, r);
	rs_arena_destroy(r->r_arena);
	r->r_arena = NULL;
}

/* MHD's URI log callback: the first sight of a request, with its target exactly as the client
 * sent it (MHD decodes the URL it passes to http_access). The context made here is the
 * request's con_cls; MHD calls http_completed for it in every case. */
static void *
http_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void) cls;
	(void) conn;
	http_ctx *c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->c_uri = strdup(uri);
	return c;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	gw_http *h = cls;
	http_ctx *c = *con_cls;
	(void) version;

	if (c == NULL || !c->c_started) {
		/* First call: headers only. Returning without a reply keeps keep-alive working
		 * (MHD 0.9.75 closes the connection when the reply is queued here). */
		if (c == NULL && (c = calloc(1, sizeof(*c))) == NULL)
			return MHD_NO;
		c->c_started = 1;
		c->c_t0 = rs_mono_ms();
		/* routed on the path as sent; until it is checked, logs show MHD's decoded URL */
		gw_req_init(&c->c_req, h->h_srv, &http_io, conn, method, url);
		http_request_id(conn, c->c_req.r_request_id);
		*con_cls = c;
		atomic_fetch_add(&h->h_inflight, 1);
		if (atomic_load(&h->h_closing)) {
			/* Shutting down: answer at once (MHD then closes the connection). */
			gw_reply_error(&c->c_req, 503, "unavailable",
			               "the gateway is shutting down");
			return http_queue(conn, c);
		}
		char err[160];
		unsigned bad = c->c_uri == NULL
		                       ? 503
		                       : gw_req_target(c->c_uri, c->c_path, err, sizeof(err));
		if (bad != 0) {
			if (bad == 503)
				gw_reply_error(&c->c_req, 503, "overloaded", "out of memory");
			else
				gw_reply_error(&c->c_req, bad,
				               bad == 414 ? "uri_too_long" : "bad_request", "%s",
				               err);
			return http_queue(conn, c);
		}
		c->c_req.r_path = c->c_path;
		size_t hbytes = 0;
		MHD_get_connection_values(conn, MHD_HEADER_KIND, http_header_bytes, &hbytes);
		if (hbytes > h->h_max_header) {
			/* Headers MHD could hold but we will not: a JSON 431 (larger ones never
			 * reach here: MHD answers them itself, see gw_http_open). */
			gw_reply_error(&c->c_req, 431, "header_too_large",
			               "request headers are %zu bytes; at most %zu are accepted",
			               hbytes, h->h_max_header);
			return http_queue(conn, c);
		}
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > h->h_max_body) {
			/* Refuse before reading the body; MHD then closes the connection. */
			c->c_too_big = 1;
			http_dispatch(h, c);
			return http_queue(conn, c);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (c->c_queued || c->c_too_big)
			return MHD_YES;
		if (c->c_len + n > h->h_max_body) {
			/* A chunked body that grew too large: drop the rest, answer 413 at the end.
			 */
			c->c_too_big = 1;
			return MHD_YES;
		}
		if (c->c_len + n + 1 > c->c_cap) {
			size_t cap = c->c_cap ? c->c_cap : 1024;
			while (cap < c->c_len + n + 1)
				cap *= 2;
			char *nb = realloc(c->c_body, cap);
			if (nb == NULL)
				return MHD_NO;
			c->c_body = nb;
			c->c_cap = cap;
		}
		memcpy(c->c_body + c->c_len, upload_data, n);
		c->c_len += n;
		c->c_body[c->c_len] = '\0';
		return MHD_YES;
	}
	if (c->c_queued)
		return MHD_YES;
	http_dispatch(h, c);
	return http_queue(conn, c);
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
               enum MHD_RequestTerminationCode toe)
{
	gw_http *h = cls;
	http_ctx *c = *con_cls;
	(void) conn;

	if (c == NULL)
		return;
	*con_cls = NULL;
	if (!c->c_started) { /* MHD answered the request itself (e.g. headers too large) */
		free(c->c_uri);
		free(c);
		return;
	}
	gw_req *r = &c->c_req;
	double ms = rs_mono_ms() - c->c_t0;
	if (c->c_queued) {
		gw_metrics_http(r->r_route, r->r_status, ms);
		if (h->h_access_log && rs_log_enabled(RS_LOG_INFO)) {
			char qpath[192];
			rs_log_info("http.request",
			            "req=%s method=%s path=\"%s\" route=%s status=%u ms=%.3f%s%s%s",
			            r->r_request_id, r->r_method,
			            rs_log_quote(qpath, sizeof(qpath), r->r_path), r->r_route,
			            r->r_status, ms, r->r_note != NULL ? " note=" : "",
			            r->r_note != NULL ? r->r_note : "",
			            toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? " aborted=1" : "");
		}
	}
	gw_reply_clear(r);
	free(c->c_body);
	free(c->c_uri);
	free(c);
	atomic_fetch_sub(&h->h_inflight, 1);
}

int
gw_http_open(gw_http **out, gw_server *srv, const gw_config *cfg)
{
	gw_http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return RS_ENOMEM;
	h->h_srv = srv;
	h->h_max_body = (size_t) cfg->max_body;
	h->h_max_header = cfg->max_header > 0 ? (size_t) cfg->max_header : HTTP_MAX_HEADER_DEFAULT;
	h->h_access_log = cfg->access_log;
	atomic_init(&h->h_inflight, 0);
	atomic_init(&h->h_closing, 0);
	rs_mhd_opts o = {
	        .flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC,
	        .thread_pool = (unsigned) cfg->threads,
	        .max_connections = (unsigned) cfg->max_connections,
	        .idle_timeout_s = (unsigned) cfg->idle_timeout_s,
	        /* MHD keeps a request's line and headers in the connection's memory pool; what
	         * does not fit gets MHD's own 431 (an HTML body: MHD 0.9.75 has no hook to change
	         * it, and calls neither the access handler nor the URI log for it). The pool is
	         * made four times our header limit, so headers up to it, and well past it, reach
	         * http_access and get JSON. */
	        .memory_limit = 4 * h->h_max_header,
	        .completed = http_completed,
	        .completed_cls = h,
	        .uri_log = http_uri_log,
	};
	if (o.memory_limit < HTTP_MHD_POOL_MIN)
		o.memory_limit = HTTP_MHD_POOL_MIN;
	/* Handlers block on downstream calls. threads > 0: that many poll threads each serve
	 * their own share of the connections (a slow request stalls the other connections of
	 * its thread, hence the default of 16, more than the connections a 2-core box keeps
	 * busy); threads == 0: a thread per connection, so no request waits behind another
	 * one's downstream calls. */
	if (cfg->threads == 0)
		o.flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		          MHD_USE_POLL | MHD_USE_ITC;
	int rv = rs_mhd_start(&h->h_daemon, &h->h_port, cfg->http_addr, &o, http_access, h,
	                      "http.mhd");
	if (rv != 0) {
		if (rv == RS_EINVAL)
			rs_log_error("http.bad_address", "addr=%s", cfg->http_addr);
		else
			rs_log_error("http.listen_failed", "addr=%s", cfg->http_addr);
		free(h);
		return rv;
	}
	*out = h;
	return 0;
}

int
gw_http_port(const gw_http *h)
{
	return h->h_port;
}

void
gw_http_close(gw_http *h)
{
	if (h == NULL)
		return;
	/* Not MHD_quiesce_daemon: with the epoll thread pool it races the workers' own epoll
	 * bookkeeping and MHD 0.9.75 aborts ("Failed to remove listen FD from epoll set", seen
	 * in CI). Instead new requests are answered 503 while those already being handled get
	 * their answer; idle keep-alive connections do not count as in flight. */
	atomic_store(&h->h_closing, 1);
	for (int i = 0; i < 500 && atomic_load(&h->h_inflight) > 0; i++)
		usleep(10 * 1000);
	MHD_stop_daemon(h->h_daemon);
	free(h);
}
