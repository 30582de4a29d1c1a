#include "rs_metrics_http.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rs_metrics_http {
	struct MHD_Daemon *mh_daemon;
	char mh_labels[64]; /* svc="<svc>" */
	int mh_port;
};

static const char CT_JSON[] = "application/json";
static const char CT_PROM[] = "text/plain; version=0.0.4; charset=utf-8";

/* addr "host:port" or "[v6]:port" with a numeric host -> socket address. */
static int
mh_parse_addr(const char *addr, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon;
	size_t hl;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (end == NULL || end[1] != ':')
			return RS_EINVAL;
		hl = (size_t) (end - addr - 1);
		if (hl >= sizeof(host))
			return RS_EINVAL;
		memcpy(host, addr + 1, hl);
		colon = end + 1;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return RS_EINVAL;
		hl = (size_t) (colon - addr);
		if (hl >= sizeof(host))
			return RS_EINVAL;
		memcpy(host, addr, hl);
	}
	host[hl] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
		return RS_EINVAL;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t) port);
		return 0;
	}
	return RS_EINVAL;
}

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

static void mh_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mh_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256], q[300];
	(void) cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	rs_log_warn("metrics_http.mhd", "msg=\"%s\"", rs_log_quote(q, sizeof(q), msg));
}

int
rs_metrics_http_start(rs_metrics_http **out, const char *addr, const char *svc)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	rs_metrics_http *h;

	*out = NULL;
	if (addr == NULL || addr[0] == '\0' || strcmp(addr, "off") == 0)
		return 0;
	if (svc == NULL || strlen(svc) > 32 || mh_parse_addr(addr, &ss) != 0)
		return RS_EINVAL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return RS_ENOMEM;
	snprintf(h->mh_labels, sizeof(h->mh_labels), "svc=\"%s\"", svc);
	h->mh_daemon = MHD_start_daemon(
	        flags, 0, NULL, NULL, mh_access, h, MHD_OPTION_EXTERNAL_LOGGER, mh_log, NULL,
	        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss, MHD_OPTION_CONNECTION_LIMIT, 16U,
	        MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (h->mh_daemon == NULL) {
		free(h);
		return RS_EEXIST;
	}
	const union MHD_DaemonInfo *di =
	        MHD_get_daemon_info(h->mh_daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->mh_port = di != NULL ? (int) di->port : 0;
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
