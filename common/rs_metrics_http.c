#include "rs_metrics_http.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics.h"
#include "rs_mhd.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_metrics_http {
	struct MHD_Daemon *mh_daemon;
	char mh_labels[64]; /* svc="<svc>" */
	int mh_port;
};

static const char CT_JSON[] = "application/json";
static const char CT_PROM[] = "text/plain; version=0.0.4; charset=utf-8";

static enum MHD_Result
mh_send(struct MHD_Connection *conn, unsigned status, const char *ctype, char *body,
        enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, mode);
	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
mh_error(struct MHD_Connection *conn, unsigned status, const char *code, const char *msg)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
	return mh_send(conn, status, CT_JSON, body, MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result
mh_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload, size_t *upload_len, void **ctx)
{
	rs_metrics_http *h = cls;
	(void) version;
	(void) upload;

	/* A body (none is expected) is read and dropped; the answer goes after the last call. */
	if (*ctx == NULL) {
		*ctx = h;
		return MHD_YES;
	}
	if (*upload_len > 0) {
		*upload_len = 0;
		return MHD_YES;
	}
	int known = strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0;
	if (!known)
		return mh_error(conn, 404, "not_found",
		                "this listener serves GET /metrics and /healthz");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return mh_error(conn, 405, "method_not_allowed", "only GET");
	if (strcmp(url, "/healthz") == 0)
		return mh_send(conn, 200, CT_JSON, "{\"status\":\"ok\"}", MHD_RESPMEM_PERSISTENT);
	char *text = rs_metrics_render(h->mh_labels);
	if (text == NULL)
		return mh_error(conn, 500, "internal", "out of memory rendering metrics");
	return mh_send(conn, 200, CT_PROM, text, MHD_RESPMEM_MUST_FREE);
}

int
rs_metrics_http_start(rs_metrics_http **out, const char *addr, const char *svc)
{
	static const rs_mhd_opts opts = {
	        .flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
	        .max_connections = 16,
	        .idle_timeout_s = 10,
	};
	rs_metrics_http *h;

	*out = NULL;
	if (addr == NULL || addr[0] == '\0' || strcmp(addr, "off") == 0)
		return 0;
	if (svc == NULL || strlen(svc) > 32)
		return RS_EINVAL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return RS_ENOMEM;
	snprintf(h->mh_labels, sizeof(h->mh_labels), "svc=\"%s\"", svc);
	int rv = rs_mhd_start(&h->mh_daemon, &h->mh_port, addr, &opts, mh_access, h,
	                      "metrics_http.mhd");
	if (rv != 0) {
		free(h);
		return rv;
	}
	*out = h;
	return 0;
}

int
rs_metrics_http_port(const rs_metrics_http *h)
{
	return h != NULL ? h->mh_port : 0;
}

void
rs_metrics_http_stop(rs_metrics_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->mh_daemon);
	free(h);
}
